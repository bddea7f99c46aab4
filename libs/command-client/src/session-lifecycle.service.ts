import { randomUUID } from 'node:crypto';
import { buildSessionStatusWebhook, redisKeys, type Principal, type SessionStatus } from '@wagw/contracts';
import type { AuthStateRepository, SessionsRepository, WhatsAppSession } from '@wagw/db';
import type { RedisConnection, WebhookQueues } from '@wagw/queue';
import type { SessionCommandsService } from './session-commands.service.js';

/**
 * Starting, stopping and logging out a session from the API. The session's owner (the worker holding
 * its lease) is the only writer of its status while it runs: the gateway asks it (`shouldRun`, or a
 * logout command) and the worker writes the change with its `session.status` event. Only for a session
 * no worker runs does the gateway change the status itself, compare-and-set on the status it read and
 * with the event in the same transaction, so every status change has exactly one event.
 */
export class SessionLifecycleService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly authState: AuthStateRepository,
    private readonly commands: SessionCommandsService,
    private readonly webhookQueues: WebhookQueues,
    private readonly redis: RedisConnection,
  ) {}

  /** Marks the session to run; a worker takes it and reports `starting`, then `qr` or `connected`. */
  async start(session: WhatsAppSession): Promise<void> {
    if (session.shouldRun) return;
    // One write: no worker can take the session (it needs `shouldRun`) between the status and the flag.
    const applied = session.status !== 'connected' && session.status !== 'starting' && (await this.transition(session, { status: 'starting', lastError: null, shouldRun: true }));
    if (!applied) await this.sessions.update(session.orgId, session.id, { shouldRun: true });
    await this.nudgeWorkers(session.id);
  }

  /** Closes the socket and keeps the login: the owner writes `stopped`; without one, the gateway does. */
  async stop(session: WhatsAppSession): Promise<void> {
    await this.sessions.update(session.orgId, session.id, { shouldRun: false });
    if (!(await this.commands.ownerWorker(session.id)) && session.status !== 'stopped' && session.status !== 'logged_out') {
      await this.transition(session, { status: 'stopped', lastDisconnectedAt: new Date() });
    }
    await this.nudgeWorkers(session.id);
  }

  /**
   * Unlinks the device and wipes the login. A connected session is logged out by its owner (WhatsApp
   * is told); one that is not connected has nothing to tell WhatsApp, and its login is wiped here.
   */
  async logout(principal: Principal, session: WhatsAppSession): Promise<void> {
    if (session.status === 'connected' && (await this.commands.ownerWorker(session.id))) {
      await this.commands.dispatchControl(principal, session, { type: 'logout' });
      return;
    }
    await this.authState.wipe(session.orgId, session.id);
    await this.sessions.update(session.orgId, session.id, { shouldRun: false, meJid: null, mePushName: null, linkedEndpoint: null });
    if (session.status !== 'logged_out') await this.transition({ ...session, meJid: null, mePushName: null }, { status: 'logged_out' });
    await this.nudgeWorkers(session.id);
  }

  /** The status change with its event, if the status is still what was read; then handed to the dispatcher. */
  private async transition(session: WhatsAppSession, patch: { status: SessionStatus; lastError?: string | null; lastDisconnectedAt?: Date; shouldRun?: boolean }): Promise<boolean> {
    const eventId = randomUUID();
    const metadata = session.metadata && typeof session.metadata === 'object' && !Array.isArray(session.metadata) ? (session.metadata as Record<string, string>) : {};
    const payload = buildSessionStatusWebhook({
      eventId,
      session: { id: session.id, createdBy: session.createdBy, metadata, meJid: session.meJid ?? '', mePushName: session.mePushName ?? '' },
      status: patch.status,
      lastError: patch.lastError ?? session.lastError,
    });
    const applied = await this.sessions.transitionWithEvent(session.orgId, session.id, session.status, patch, { id: eventId, type: 'session.status', payload });
    // A lost publish only delays the event: the dispatcher's relay picks up what was never published.
    if (applied) await this.webhookQueues.publishEvent(eventId).catch(() => undefined);
    return applied;
  }

  /** Tells the workers to look at a session now instead of at their next placement tick. */
  private async nudgeWorkers(sessionId: string): Promise<void> {
    await this.redis.publish(redisKeys.sessionChanged, sessionId);
  }
}
