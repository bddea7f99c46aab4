import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { markReadResultSchema, sendResultSchema } from './http-api.js';
import type { ErrorCode, ErrorDetails } from './errors.js';

/**
 * Each worker consumes its own command queue; the gateway routes a command to the queue of the worker
 * holding the session's lease. Do not rename: in-flight jobs live under these names. Produced by
 * libs/command-client/src/command-dispatcher.ts, consumed by libs/session-runtime/src/session-host.ts.
 */
export function commandQueueName(workerId: string): string {
  return `commands.${workerId}`;
}

const jid = z.string().min(3).max(200);

export const sendTextCommandSchema = z.object({
  type: z.literal('send_text'),
  chat: jid,
  text: z.string().min(1).max(65_536),
  replyTo: z.string().min(1).max(128).optional(),
});

/** What a media message can be: WhatsApp's four attachment kinds. */
export const MEDIA_KINDS = ['image', 'video', 'audio', 'document'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** An attachment, checked by the gateway (its type sniffed from its bytes), encrypted and uploaded by Baileys. */
export const sendMediaCommandSchema = z.object({
  type: z.literal('send_media'),
  chat: jid,
  kind: z.enum(MEDIA_KINDS),
  /** The file, base64 (the outbox keeps only its hash, `storedRequest`); or `url`, which the worker fetches. */
  data: z.string().min(1).optional(),
  /** Where the worker fetches the file, through the SSRF guard, within MEDIA_MAX_BYTES. */
  url: z.string().min(1).max(2048).optional(),
  /** Required with `data`; with `url`, what the file's bytes (or, for a document, its server) say when absent. */
  mimetype: z.string().min(3).max(100).optional(),
  caption: z.string().max(4096).optional(),
  fileName: z.string().min(1).max(255).optional(),
  /** Audio only: a voice note (push-to-talk) rather than an audio file. */
  voiceNote: z.boolean().optional(),
  replyTo: z.string().min(1).max(128).optional(),
});

export const revokeCommandSchema = z.object({
  type: z.literal('revoke'),
  chat: jid,
  /** The WhatsApp id of the message to delete for everyone. */
  messageId: z.string().min(1).max(128),
  /** Empty: our own message; set: another participant's (group admin revoke). */
  sender: z.string().max(200).optional(),
});

/** A reaction to a message of the chat (`emoji` empty: our reaction taken back). */
export const reactCommandSchema = z.object({
  type: z.literal('react'),
  chat: jid,
  target: z.object({ id: z.string().min(1).max(128), fromMe: z.boolean(), sender: z.string().max(200).optional() }),
  emoji: z.string().max(16),
});

/** A new text for one of our own text messages (WhatsApp's edit). */
export const editCommandSchema = z.object({
  type: z.literal('edit'),
  chat: jid,
  messageId: z.string().min(1).max(128),
  text: z.string().min(1).max(65_536),
});

/** Read receipts for messages someone sent in one chat: `sender` names the member in a group. */
export const markReadCommandSchema = z.object({
  type: z.literal('mark_read'),
  chat: jid,
  messages: z.array(z.object({ id: z.string().min(1).max(128), sender: z.string().max(200).optional() })).min(1).max(100),
});

/** Fetches a received attachment from WhatsApp into the media cache (the gateway serves it from there). */
export const downloadMediaCommandSchema = z.object({
  type: z.literal('download_media'),
  chat: jid,
  messageId: z.string().min(1).max(128),
});

export const pairingCodeCommandSchema = z.object({ type: z.literal('pairing_code'), phone: z.string().regex(/^\d{6,15}$/) });
export const logoutCommandSchema = z.object({ type: z.literal('logout') });

export const sessionCommandSchema = z.discriminatedUnion('type', [sendTextCommandSchema, sendMediaCommandSchema, revokeCommandSchema, reactCommandSchema, editCommandSchema, markReadCommandSchema, downloadMediaCommandSchema, pairingCodeCommandSchema, logoutCommandSchema]);
export type SessionCommand = z.infer<typeof sessionCommandSchema>;

/** The commands that are outbox operations (a `SendResult`, idempotent by the operation's id); the rest are control commands. */
export const OPERATION_COMMAND_TYPES: ReadonlySet<SessionCommand['type']> = new Set(['send_text', 'send_media', 'revoke', 'react', 'edit']);

/** A command as its outbox row keeps it: an attachment by its hash and size, never its bytes. */
export function storedRequest(command: SessionCommand): SessionCommand {
  if (command.type !== 'send_media' || command.data === undefined) return command;
  const bytes = Buffer.from(command.data, 'base64');
  return { ...command, data: `sha256:${createHash('sha256').update(bytes).digest('hex')} (${bytes.length} bytes)` };
}

/** The job a gateway puts on a worker's queue. */
export const commandJobSchema = z.object({
  /**
   * The command's id: for a send or revoke, its outbox operation's (a re-run is the same command, sending
   * the same WhatsApp message id); a control command (logout, pairing code) has no outbox row, only this.
   */
  commandId: z.uuid(),
  orgId: z.uuid(),
  sessionId: z.uuid(),
  /** The lease epoch the gateway routed on: a worker holding another epoch refuses (`session_moved`). */
  epoch: z.number().int().nonnegative(),
  /** Unix ms after which the caller has given up: the worker drops the job and marks it expired. */
  deadline: z.number().int().positive(),
  command: sessionCommandSchema,
  /** Who asked: a revoke's audit entry names them, written by the worker with the revoke's outcome. */
  actor: z.object({ kind: z.enum(['user', 'api_key']), id: z.string().min(1).max(200) }).optional(),
  /** The gateway's reply list: the worker pushes `{jobId, outcome}` there (faster than QueueEvents). */
  replyTo: z.string().min(1).max(200).optional(),
});
export type CommandJob = z.infer<typeof commandJobSchema>;

/** The answer to a synchronous send or revoke, field for field as the API reference names it. */
export type SendResult = z.infer<typeof sendResultSchema>;

/** What a mark-read answers: the chat and the messages WhatsApp was told were read. */
export type MarkReadResult = z.infer<typeof markReadResultSchema>;

/** What a media download answers: the attachment is in the media cache. */
export interface MediaCachedResult {
  cached: { size: number; mimetype: string };
}

/** What a worker's job returns (BullMQ return value). */
export type CommandOutcome = { ok: true; result: SendResult | { pairingCode: string } | { loggedOut: true } | MarkReadResult | MediaCachedResult } | { ok: false; error: { code: ErrorCode; message: string; details: ErrorDetails } };

/** Redis keys shared by gateways and workers. Do not rename: live leases and QR codes sit under them. */
export const redisKeys = {
  /** `{workerId, epoch}` of the worker holding the session's WhatsApp socket; expires unless renewed. */
  lease: (sessionId: string) => `wagw:lease:${sessionId}`,
  /** Only grows (INCR): fences stale owners. */
  epoch: (sessionId: string) => `wagw:epoch:${sessionId}`,
  /** A live worker's heartbeat: its load; expires when the worker dies. */
  worker: (workerId: string) => `wagw:worker:${workerId}`,
  workers: 'wagw:workers',
  /** The newest QR string of a session waiting for a scan. */
  qr: (sessionId: string) => `wagw:qr:${sessionId}`,
  /** One gateway process's reply list (see `CommandJob.replyTo`). */
  replies: (gatewayId: string) => `wagw:replies:${gatewayId}`,
  /** Nudges workers to look at a session now rather than at their next placement tick. */
  sessionChanged: 'wagw:session-changed',
} as const;

export interface Lease {
  workerId: string;
  epoch: number;
}

export function encodeLease(lease: Lease): string {
  return `${lease.workerId}|${lease.epoch}`;
}

export function decodeLease(value: string | null): Lease | null {
  if (value === null) return null;
  const separator = value.lastIndexOf('|');
  const epoch = Number(value.slice(separator + 1));
  return separator > 0 && Number.isInteger(epoch) ? { workerId: value.slice(0, separator), epoch } : null;
}

/** What a worker pushes to a gateway's reply list. */
export interface CommandReply {
  jobId: string;
  outcome: CommandOutcome;
}

/**
 * The WhatsApp message id a command is sent with: derived from its outbox id, so that a command run
 * twice (a job re-run after a crash, a retry with the same Idempotency-Key) sends the same message
 * again, which WhatsApp drops as a duplicate, instead of a second one. Also lets an asynchronous send
 * name its message id before it is sent.
 */
export function messageIdFor(outboxId: string): string {
  return `3EB0${createHash('sha256').update(outboxId).digest('hex').slice(0, 18).toUpperCase()}`;
}
