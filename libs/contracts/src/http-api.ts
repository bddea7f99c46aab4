import { z } from 'zod';
import { CAPABILITIES, ROLES } from './capabilities.js';
import { ERROR_STATUS } from './errors.js';
import { SESSION_STATUSES } from './sessions.js';
import { ACK_NAMES, EVENT_TYPES } from './webhooks.js';

/**
 * The shapes the REST API answers with, as schemas: the OpenAPI document is generated from them, and
 * the gateway's view types are inferred from them, so the two cannot drift apart.
 */
export interface ApiSchemaMeta {
  /** The name under `#/components/schemas/`. */
  id: string;
  description?: string;
  examples?: unknown[];
}

/** Every named schema of the REST API: request bodies and responses. */
export const apiSchemas = z.registry<ApiSchemaMeta>();

const timestamp = z.iso.datetime({ offset: true });
const uuid = z.uuid();

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...Array<keyof typeof ERROR_STATUS>]).meta({ description: 'Stable, machine-readable; clients switch on it.' }),
      message: z.string().meta({ description: 'For people; may change between versions.' }),
      details: z.record(z.string(), z.unknown()).meta({ description: 'Structured context, e.g. `fields` with one message per invalid input field.' }),
    }),
  })
  .register(apiSchemas, {
    id: 'ErrorEnvelope',
    description: 'The body of every non-2xx answer.',
    examples: [{ error: { code: 'not_found', details: {}, message: 'session not found' } }],
  });

export const sendResultSchema = z
  .object({
    mode: z.enum(['sync', 'async']).meta({ description: '`sync` when the answer waited for WhatsApp; `async` for `Prefer: respond-async`.' }),
    outboxId: uuid.meta({ description: 'The operation id; GET /api/v1/operations/{outboxId} reads its outcome.' }),
    replayed: z.boolean().meta({ description: 'True when an earlier request with the same Idempotency-Key already did the work.' }),
    status: z.enum(['sent', 'queued', 'failed', 'expired', 'pending']),
    timestamp: z.number().int().meta({ description: 'Unix seconds.' }),
    waMessageId: z.string().meta({ description: 'The WhatsApp id of the message sent; for a revoke, of the protocol message that carried it.' }),
  })
  .register(apiSchemas, {
    id: 'SendResult',
    examples: [{ mode: 'sync', outboxId: '01936f5e-7c1a-7d2b-9a41-3c5d2e8f0a11', replayed: false, status: 'sent', timestamp: 1763726400, waMessageId: '3EB0B2D8F1A9C4E5D6F7' }],
  });

export const sessionViewSchema = z
  .object({
    id: uuid,
    name: z.string(),
    status: z.enum(SESSION_STATUSES),
    me: z.object({ id: z.string(), pushName: z.string().nullable() }).nullable().meta({ description: 'The linked WhatsApp account, once paired.' }),
    metadata: z.record(z.string(), z.string()),
    createdBy: z.string(),
    worker: z.object({ id: z.string(), epoch: z.number().int() }).nullable().meta({ description: 'The session worker holding the connection, and its lease epoch.' }),
    lastError: z.string().nullable().meta({ description: 'Why the session last dropped or stopped, when it did.' }),
    lastConnectedAt: timestamp.nullable(),
    lastDisconnectedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .register(apiSchemas, { id: 'Session' });

export const qrCodeSchema = z
  .object({ qr: z.string().meta({ description: 'The QR payload to render.' }), pngDataUrl: z.string().meta({ description: 'The same QR as a PNG data URL.' }) })
  .register(apiSchemas, { id: 'QrCode' });

export const pairingCodeSchema = z.object({ pairingCode: z.string() }).register(apiSchemas, { id: 'PairingCode', examples: [{ pairingCode: 'ABCD1234' }] });

/** The kinds of attachment WhatsApp messages carry (a sticker is received, never sent by us). */
export const ATTACHMENT_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const;

/** What we store of a message's attachment (`StoredMessage.media`), as WhatsApp described it. */
export const storedMediaSchema = z.object({
  kind: z.enum(ATTACHMENT_KINDS),
  mimetype: z.string().nullable(),
  size: z.number().int().nonnegative().nullable().meta({ description: 'Bytes, as the sender declared them.' }),
  fileName: z.string().nullable(),
  caption: z.string().nullable(),
  sha256: z.string().nullable().meta({ description: "Hex SHA-256 of the file, as the sender declared it; the download is checked against it." }),
});
export type StoredMedia = z.infer<typeof storedMediaSchema>;

/** The path of a message's attachment on this gateway (`GET …/messages/{mid}/media`). */
export function mediaPath(sessionId: string, waMessageId: string): string {
  return `/api/v1/sessions/${encodeURIComponent(sessionId)}/messages/${encodeURIComponent(waMessageId)}/media`;
}

export const messageMediaSchema = storedMediaSchema
  .extend({ url: z.string().meta({ description: 'Where to download it: this gateway\'s media endpoint, relative to its base URL.' }) })
  .register(apiSchemas, { id: 'MessageMedia' });

export const messageViewSchema = z
  .object({
    id: z.string().meta({ description: 'The WhatsApp message id.' }),
    chat: z.string(),
    sender: z.string().nullable(),
    fromMe: z.boolean(),
    type: z.string(),
    text: z.string().nullable().meta({ description: 'Null once the message is revoked.' }),
    timestamp: z.number().int(),
    ack: z.number().int().meta({ description: 'How far it got, as WAHA numbers it: -1 error, 0 pending, 1 server, 2 device, 3 read, 4 played.' }),
    ackName: z.enum(ACK_NAMES),
    media: messageMediaSchema.nullable().meta({ description: 'The attachment, if the message carries one (null once revoked).' }),
    revokedAt: timestamp.nullable(),
  })
  .register(apiSchemas, { id: 'Message' });

export const markReadResultSchema = z
  .object({
    chat: z.string().meta({ description: 'The chat the message is in.' }),
    read: z.array(z.string()).meta({ description: 'The ids of the messages WhatsApp was told were read.' }),
  })
  .register(apiSchemas, { id: 'MarkReadResult', examples: [{ chat: '15551234567@s.whatsapp.net', read: ['3EB0C431C26A1916D7D3'] }] });

export const operationViewSchema = z
  .object({
    id: uuid,
    session: uuid,
    kind: z.enum(['send', 'revoke']),
    status: z.enum(['pending', 'sent', 'failed', 'expired']),
    result: sendResultSchema.nullable(),
    error: z.unknown().meta({ description: 'The error envelope\'s `error` object when the operation failed, else null.' }),
    createdAt: timestamp,
    completedAt: timestamp.nullable(),
  })
  .register(apiSchemas, { id: 'Operation' });

export const webhookEndpointViewSchema = z
  .object({
    id: uuid,
    url: z.string(),
    events: z.array(z.string()),
    sessions: z.array(uuid).meta({ description: 'Only events of these sessions; empty means all.' }),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    failingSince: timestamp.nullable().meta({ description: 'Since when deliveries have been failing without a success (null while healthy).' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .register(apiSchemas, { id: 'WebhookEndpoint' });

export const webhookEndpointWithSecretSchema = webhookEndpointViewSchema
  .extend({ secret: z.string().meta({ description: 'The signing secret (`whsec_…`). Shown in this response only.' }) })
  .register(apiSchemas, { id: 'WebhookEndpointWithSecret' });

export const rotatedWebhookSecretSchema = webhookEndpointWithSecretSchema
  .extend({ previousSecretValidUntil: timestamp.meta({ description: 'Until then deliveries carry signatures by both secrets.' }) })
  .register(apiSchemas, { id: 'RotatedWebhookSecret' });

export const deliveryViewSchema = z
  .object({
    id: uuid,
    eventId: uuid,
    event: z.string().meta({ description: 'The event type.', examples: [...EVENT_TYPES, 'webhook.test'] }),
    status: z.enum(['pending', 'delivered', 'failed', 'exhausted']),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastLatencyMs: z.number().int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: timestamp.nullable(),
    deliveredAt: timestamp.nullable(),
    createdAt: timestamp,
  })
  .register(apiSchemas, { id: 'WebhookDelivery' });

const perWindow = z.object({ reads: z.number().int(), writes: z.number().int() });

export const organizationViewSchema = z
  .object({
    id: uuid,
    name: z.string(),
    createdAt: timestamp,
    counts: z.object({
      sessions: z.number().int(),
      connectedSessions: z.number().int(),
      activeApiKeys: z.number().int(),
      webhookEndpoints: z.number().int(),
      enabledWebhookEndpoints: z.number().int(),
    }),
    limits: z.object({
      rateLimitWindowSeconds: z.number().int(),
      perKey: perWindow.meta({ description: 'Requests per window per API key or login user; 0 means unlimited.' }),
      perOrganization: perWindow,
      bodyLimitBytes: z.number().int(),
      pageSizeMax: z.number().int(),
      usageMaxDays: z.number().int(),
    }),
    caller: z
      .object({ kind: z.enum(['user', 'api_key']), subject: z.string(), role: z.enum(ROLES).nullable(), capabilities: z.array(z.enum(CAPABILITIES)) })
      .meta({ description: 'Who is asking, and what they may do.' }),
  })
  .register(apiSchemas, { id: 'Organization' });

export const apiKeyViewSchema = z
  .object({
    id: uuid,
    name: z.string(),
    prefix: z.string().meta({ description: 'The visible start of the key, to recognise it; never the secret.' }),
    capabilities: z.array(z.enum(CAPABILITIES)),
    createdBy: z.string(),
    createdAt: timestamp,
    lastUsedAt: timestamp.nullable(),
    expiresAt: timestamp.nullable(),
    revokedAt: timestamp.nullable(),
  })
  .register(apiSchemas, { id: 'ApiKey' });

export const createdApiKeySchema = apiKeyViewSchema
  .extend({ key: z.string().meta({ description: 'The key itself, for `Authorization: Bearer`. Shown in this response only; the gateway keeps its SHA-256.' }) })
  .register(apiSchemas, { id: 'CreatedApiKey' });

export const sessionsOverviewSchema = z
  .object({
    byStatus: z.record(z.enum(SESSION_STATUSES), z.number().int()),
    byWorker: z.array(z.object({ workerId: z.string(), sessions: z.number().int(), connected: z.number().int() })),
    recentlyDisconnected: z.array(
      z.object({ id: uuid, name: z.string(), status: z.enum(SESSION_STATUSES), lastError: z.string().nullable(), lastDisconnectedAt: timestamp }),
    ),
    since: timestamp.meta({ description: 'Start of the "recently disconnected" window.' }),
  })
  .register(apiSchemas, { id: 'SessionsOverview' });

export const usageDaySchema = z
  .object({
    date: z.iso.date().meta({ description: 'UTC day.' }),
    messagesSent: z.number().int(),
    messagesReceived: z.number().int(),
    messagesRevoked: z.number().int(),
    deliveriesDelivered: z.number().int(),
    deliveriesFailed: z.number().int(),
    deliveriesExhausted: z.number().int(),
  })
  .register(apiSchemas, { id: 'UsageDay' });

export const usageSchema = z.object({ from: z.iso.date(), to: z.iso.date(), data: z.array(usageDaySchema) }).register(apiSchemas, { id: 'Usage' });

export const auditLogEntrySchema = z
  .object({
    id: uuid,
    actor: z.object({ kind: z.enum(['user', 'api_key']), id: z.string() }),
    action: z.string().meta({ examples: ['api_key.created', 'session.started', 'webhook.updated', 'message.revoked'] }),
    target: z.object({ type: z.string(), id: z.string().nullable() }),
    details: z.unknown(),
    createdAt: timestamp,
  })
  .register(apiSchemas, { id: 'AuditLogEntry' });

/** A cursor page of `item`, registered under `id`. */
/* eslint-disable no-restricted-syntax -- called at module load only, once per page type */
function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({ data: z.array(item), nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }) })
    .register(apiSchemas, { id });
}
/* eslint-enable no-restricted-syntax */

export const sessionPageSchema = pageOf(sessionViewSchema, 'SessionPage');
export const messagePageSchema = pageOf(messageViewSchema, 'MessagePage');
export const deliveryPageSchema = pageOf(deliveryViewSchema, 'WebhookDeliveryPage');
export const apiKeyPageSchema = pageOf(apiKeyViewSchema, 'ApiKeyPage');
export const auditLogPageSchema = pageOf(auditLogEntrySchema, 'AuditLogPage');
export const webhookEndpointListSchema = z.object({ data: z.array(webhookEndpointViewSchema) }).register(apiSchemas, { id: 'WebhookEndpointList' });

export type MessageView = z.infer<typeof messageViewSchema>;
export type OperationView = z.infer<typeof operationViewSchema>;
export type WebhookEndpointView = z.infer<typeof webhookEndpointViewSchema>;
export type DeliveryView = z.infer<typeof deliveryViewSchema>;
export type OrganizationView = z.infer<typeof organizationViewSchema>;
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;
export type SessionsOverviewView = z.infer<typeof sessionsOverviewSchema>;
export type UsageView = z.infer<typeof usageSchema>;
export type AuditLogEntryView = z.infer<typeof auditLogEntrySchema>;

const storedErrorSchema = errorEnvelopeSchema.shape.error;

/**
 * A finished operation's error as the worker stored it in the outbox (one schema, read the same way by
 * the worker answering a re-run and by the gateway answering a replay); anything unreadable is `internal`.
 */
export function storedOperationError(value: unknown): z.infer<typeof storedErrorSchema> {
  const parsed = storedErrorSchema.safeParse(value);
  return parsed.success ? parsed.data : { code: 'internal', message: 'the operation failed', details: {} };
}

/** The `SendResult` of a send or revoke WhatsApp acknowledged (what a worker answers and stores). */
export function sentResult(outboxId: string, sent: { timestamp: number; waMessageId: string }): z.infer<typeof sendResultSchema> {
  return { mode: 'sync', outboxId, replayed: false, status: 'sent', timestamp: sent.timestamp, waMessageId: sent.waMessageId };
}

/** A sent operation's stored `SendResult` (written by the worker from this same schema). */
export function storedSendResult(value: unknown): z.infer<typeof sendResultSchema> {
  return sendResultSchema.parse(value);
}
