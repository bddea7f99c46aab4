import { z } from 'zod';
import type { SessionStatus } from './sessions.js';

/** Domain events a session produces; subscribers choose which to receive. Do not rename. */
export const EVENT_TYPES = ['message.revoked', 'message.received', 'message.ack', 'message.reaction', 'message.edited', 'session.status'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * How far a message got, numbered and named as WAHA does (`ack` / `ackName`): the server took it, it
 * reached the recipient's device, it was read, a voice note was played. Acks only grow.
 */
export const MESSAGE_ACKS = { ERROR: -1, PENDING: 0, SERVER: 1, DEVICE: 2, READ: 3, PLAYED: 4 } as const;
export type AckName = keyof typeof MESSAGE_ACKS;
/** The names in the order of their numbers (ERROR is -1). */
export const ACK_NAMES = ['ERROR', 'PENDING', 'SERVER', 'DEVICE', 'READ', 'PLAYED'] as const satisfies readonly AckName[];

export function ackName(ack: number): AckName {
  return ACK_NAMES[ack - MESSAGE_ACKS.ERROR] ?? 'PENDING';
}

/** Sent by `POST /api/v1/webhooks/{id}/test` to that endpoint only; not subscribable. */
export const TEST_EVENT_TYPE = 'webhook.test';

/**
 * Between the session workers, the gateway and the dispatcher. A message on the events channel says
 * that domain events were committed: the dispatchers read them from Postgres (its body carries nothing
 * they rely on). A deliveries job is one attempt of one delivery (job id = `deliveryJobId`, so re-adding
 * the same attempt is a no-op); the dispatcher parses each job with its schema before acting on it, as
 * the workers do command jobs.
 */
export const EVENTS_COMMITTED_CHANNEL = 'wagw:events-committed';
export const WEBHOOK_DELIVERIES_QUEUE = 'webhook-deliveries';

export const deliveryJobSchema = z.strictObject({
  deliveryId: z.uuid(),
  /** How many attempts were made before this one: a job for an attempt already made is stale. */
  attempt: z.number().int().nonnegative(),
});
export type DeliveryJobData = z.infer<typeof deliveryJobSchema>;

/** `{deliveryId}-a{attempt}`: BullMQ reserves ':' in job ids. */
export function deliveryJobId(deliveryId: string, attempt: number): string {
  return `${deliveryId}-a${attempt}`;
}

/** The envelope every webhook shares with `message.revoked`: who, which session, and the event's payload. */
export interface WebhookEnvelope<Type extends string, Payload> {
  event: Type;
  data: {
    id: string;
    event: Type;
    metadata: Array<Record<string, string>>;
    me: { id: string; pushName: string };
    payload: Payload;
    instanceId: string;
    userId: string;
  };
}

/** WhatsApp's message key as the webhook shows it. */
export interface WebhookMessageKey {
  remoteJid: string;
  fromMe: boolean;
  id: string;
  /** The group member who sent it; "" in a 1:1 chat. */
  participant: string;
}

/** The raw WhatsApp message (`_data`): what Baileys received or sent, as JSON. */
export interface WebhookRawMessage {
  key: WebhookMessageKey;
  messageTimestamp: number;
  /** The sender's display name; "" when WhatsApp gave none (our own messages). */
  pushName: string;
  broadcast: boolean;
  /** The message content; {} when there is none. */
  message: Record<string, unknown>;
}

/** A message in a webhook (`payload.after`, and `payload.before` when we stored the original). */
export interface WebhookMessage {
  id: string;
  /** Unix seconds. */
  timestamp: number;
  from: string;
  fromMe: boolean;
  body: string;
  to: string;
  participant: string;
  hasMedia: boolean;
  media: Record<string, unknown>;
  ack: number;
  ackName: string;
  replyTo: string;
  _data: WebhookRawMessage;
}

/** `message.revoked`, field for field as the webhook reference (seed 004) describes it. */
export interface MessageRevokedWebhook {
  event: 'message.revoked';
  data: {
    /** The event id: also the `webhook-id` header, stable across retries. */
    id: string;
    event: 'message.revoked';
    /** The session's metadata key/values. */
    metadata: Array<Record<string, string>>;
    me: { id: string; pushName: string };
    payload: {
      /** The revoke itself (the protocol message that deleted the original). */
      after: WebhookMessage;
      /** The original message from our store; `{}` only when we never saw it. */
      before: WebhookMessage | Record<string, never>;
      _data: WebhookRawMessage;
    };
    /** The session id (`x-instanceId`). */
    instanceId: string;
    /** The user who created the session (`x-userId`). */
    userId: string;
  };
}

/** `message.received`: a message someone else sent to the session (in the same message shape). */
export type MessageReceivedWebhook = WebhookEnvelope<'message.received', WebhookMessage>;

/** `message.ack`: one of our messages got further (delivered, read, played), once per step, in the same message shape. */
export type MessageAckWebhook = WebhookEnvelope<'message.ack', WebhookMessage>;

/** `message.reaction`: someone reacted to a message (`reaction.text` "" when they took it back), once per reaction. */
export type MessageReactionWebhook = WebhookEnvelope<'message.reaction', WebhookMessage & { reaction: { text: string; messageId: string } }>;

/** `message.edited`: a message's author changed its text; `body` is the new text, `editedMessageId` the message edited. */
export type MessageEditedWebhook = WebhookEnvelope<'message.edited', WebhookMessage & { editedMessageId: string }>;

/** `session.status`: the session's status changed (`lastError` says why it dropped, when it did). */
export type SessionStatusWebhook = WebhookEnvelope<'session.status', { status: SessionStatus; lastError: string | null }>;

/** The ping `POST /webhooks/{id}/test` sends. */
export type TestWebhook = WebhookEnvelope<typeof TEST_EVENT_TYPE, { message: string }>;

const rawMessageSchema = {
  type: 'object',
  required: ['key', 'messageTimestamp', 'pushName', 'broadcast', 'message'],
  properties: {
    key: {
      type: 'object',
      required: ['remoteJid', 'fromMe', 'id', 'participant'],
      properties: { remoteJid: { type: 'string' }, fromMe: { type: 'boolean' }, id: { type: 'string' }, participant: { type: 'string' } },
    },
    messageTimestamp: { type: 'integer' },
    pushName: { type: 'string' },
    broadcast: { type: 'boolean' },
    message: { type: 'object' },
  },
} as const;

const messageSchema = {
  type: 'object',
  required: ['id', 'timestamp', 'from', 'fromMe', 'body', 'to', 'participant', 'hasMedia', 'media', 'ack', 'ackName', 'replyTo', '_data'],
  properties: {
    id: { type: 'string', minLength: 1 },
    timestamp: { type: 'integer' },
    from: { type: 'string' },
    fromMe: { type: 'boolean' },
    body: { type: 'string' },
    to: { type: 'string' },
    participant: { type: 'string' },
    hasMedia: { type: 'boolean' },
    media: { type: 'object' },
    ack: { type: 'integer' },
    ackName: { type: 'string' },
    replyTo: { type: 'string' },
    _data: rawMessageSchema,
  },
} as const;

/**
 * JSON Schema (draft 2020-12) of the `message.revoked` body, written from the webhook reference (seed
 * 004). Every body we send is checked against it in the tests.
 */
export const messageRevokedWebhookSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['event', 'data'],
  additionalProperties: false,
  properties: {
    event: { const: 'message.revoked' },
    data: {
      type: 'object',
      required: ['id', 'event', 'metadata', 'me', 'payload', 'instanceId', 'userId'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1 },
        event: { const: 'message.revoked' },
        metadata: { type: 'array', items: { type: 'object', additionalProperties: { type: 'string' } } },
        me: { type: 'object', required: ['id', 'pushName'], properties: { id: { type: 'string', minLength: 1 }, pushName: { type: 'string' } } },
        payload: {
          type: 'object',
          required: ['after', 'before', '_data'],
          additionalProperties: false,
          properties: {
            after: messageSchema,
            before: { anyOf: [messageSchema, { type: 'object', maxProperties: 0 }] },
            _data: rawMessageSchema,
          },
        },
        instanceId: { type: 'string', minLength: 1 },
        userId: { type: 'string', minLength: 1 },
      },
    },
  },
} as const;

/**
 * The headers of a `message.revoked` delivery (as a receiver sees them: names lower-cased): the seed's
 * `x-userId` and `x-instanceId`, plus Standard Webhooks' three.
 */
export const webhookDeliveryHeadersSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['content-type', 'x-userid', 'x-instanceid', 'webhook-id', 'webhook-timestamp', 'webhook-signature'],
  properties: {
    'content-type': { const: 'application/json' },
    'x-userid': { type: 'string', minLength: 1 },
    'x-instanceid': { type: 'string', minLength: 1 },
    'webhook-id': { type: 'string', minLength: 1 },
    'webhook-timestamp': { type: 'string', pattern: '^[0-9]+$' },
    'webhook-signature': { type: 'string', pattern: '^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$' },
  },
} as const;
