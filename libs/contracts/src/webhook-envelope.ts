import type { SessionStatus } from './sessions.js';
import type { SessionStatusWebhook, WebhookEnvelope } from './webhooks.js';

/** The session an event is about, as every webhook's envelope shows it. */
export interface EventSession {
  id: string;
  createdBy: string;
  metadata: Record<string, string>;
  meJid: string;
  mePushName: string;
}

/** Every webhook body: the event, the session's identity (`me`, `instanceId`, `userId`) and the payload. */
export function webhookEnvelope<Type extends string, Payload>(type: Type, eventId: string, session: EventSession, payload: Payload): WebhookEnvelope<Type, Payload> {
  return {
    event: type,
    data: {
      id: eventId,
      event: type,
      metadata: [session.metadata],
      me: { id: session.meJid, pushName: session.mePushName },
      payload,
      instanceId: session.id,
      userId: session.createdBy,
    },
  };
}

/** `session.status`: written by whoever changes a session's status, in the same transaction. */
export function buildSessionStatusWebhook(input: { eventId: string; session: EventSession; status: SessionStatus; lastError: string | null }): SessionStatusWebhook {
  return webhookEnvelope('session.status', input.eventId, input.session, { status: input.status, lastError: input.lastError });
}
