import { z } from 'zod';
import { createHash } from 'node:crypto';
import { decodeLease, GatewayError, messageIdFor, redisKeys, storedOperationError, storedRequest, storedSendResult, type CommandOutcome, type MarkReadResult, type MediaKind, type Principal, type SendResult, type SessionCommand } from '@wagw/contracts';
import { type CommandMessage, type CommandTarget, type MessagesRepository, type OutboxOperation, type OutboxRepository, type SessionsRepository, type WhatsAppSession } from '@wagw/db';
import type { RedisConnection } from '@wagw/queue';
import { revokeSenderOf } from '@wagw/whatsapp/jids';
import { DispatchTimeoutError, type CommandDispatcher } from './command-dispatcher.js';
import { checkMedia } from '@wagw/whatsapp/media-check';

/** At most this many messages are marked read by one chat's mark-read (WhatsApp's own batches are of that order). */
const MARK_READ_MAX = 100;
/** An outbox id as the route takes it; built once (zod compiles a schema on its first parse). */
const operationIdSchema = z.uuid();

/** A stored group message's author as its key names them (LID or phone number), for a receipt or reaction; none in a 1:1 chat. */
function participantOf(raw: unknown): string | undefined {
  const participant = (raw as { key?: { participant?: unknown } } | null)?.key?.participant;
  return typeof participant === 'string' && participant !== '' ? participant : undefined;
}

/** WhatsApp's window for editing a sent message. */
const EDIT_WINDOW_S = 15 * 60;
/** The stored types WhatsApp lets an author edit. */
const EDITABLE_TYPES: ReadonlySet<string> = new Set(['conversation', 'extendedTextMessage']);

/** How long a queued (asynchronous) command may wait for its worker before it is dropped as expired. */
const ASYNC_DEADLINE_MS = 5 * 60_000;

export interface RevokeRequest {
  chat?: string | undefined;
  sender?: string | undefined;
}

export interface SendMediaRequest {
  chat: string;
  kind: MediaKind;
  /** base64; or `url`, fetched by the worker. */
  data?: string | undefined;
  url?: string | undefined;
  /** Required with `data`. */
  mimetype?: string | undefined;
  caption?: string | undefined;
  fileName?: string | undefined;
  voiceNote?: boolean | undefined;
  replyTo?: string | undefined;
}

export interface SendTextRequest {
  chat: string;
  text: string;
  replyTo?: string | undefined;
}

function canonicalHash(value: unknown): string {
  const sorted = (input: unknown): unknown =>
    input === null || typeof input !== 'object' || Array.isArray(input)
      ? input
      : Object.fromEntries(Object.entries(input as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sorted(v)]));
  return createHash('sha256').update(JSON.stringify(sorted(value))).digest('hex');
}

function rethrowStored(operation: OutboxOperation): never {
  const error = storedOperationError(operation.error);
  throw new GatewayError(error.code, error.message, { ...error.details, outboxId: operation.id, replayed: true });
}

function actorOf(principal: Principal): { kind: Principal['kind']; id: string } {
  return { kind: principal.kind, id: principal.subject };
}

/** Receives each send's and revoke's duration (seconds) and outcome: a status, `replayed`, or an error code. */
export type CommandObserver = (kind: 'send' | 'revoke', outcome: string, seconds: number) => void;

/**
 * Sends and revokes, as the REST API offers them: ownership and existence checks first (nothing is
 * written or enqueued for another organization's session or message), then the outbox row and the
 * `Idempotency-Key` rules, then the command to the worker that holds the session.
 */
export class SessionCommandsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly messages: MessagesRepository,
    private readonly outbox: OutboxRepository,
    private readonly dispatcher: CommandDispatcher,
    private readonly redis: RedisConnection,
    private readonly timeoutMs: number,
    private readonly observeCommand: CommandObserver = () => undefined,
  ) {}

  /** Times a send or revoke end to end (validation, outbox, worker round trip) with how it ended. */
  private async timed(kind: 'send' | 'revoke', work: () => Promise<SendResult>): Promise<SendResult> {
    const started = performance.now();
    try {
      const result = await work();
      this.observeCommand(kind, result.replayed ? 'replayed' : result.status, (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      this.observeCommand(kind, error instanceof GatewayError ? error.code : 'internal', (performance.now() - started) / 1000);
      throw error;
    }
  }

  async requireSession(principal: Principal, sessionId: string): Promise<WhatsAppSession> {
    const session = await this.sessions.findById(principal.orgId, sessionId);
    if (!session) throw new GatewayError('not_found', 'session not found', { session: sessionId });
    return session;
  }

  /** The session a send or revoke goes to, checked in one light lookup (this organization's, and its status). */
  private async requireTarget(principal: Principal, sessionId: string): Promise<CommandTarget> {
    const session = await this.sessions.commandTarget(principal.orgId, sessionId);
    if (!session) throw new GatewayError('not_found', 'session not found', { session: sessionId });
    return session;
  }

  /**
   * The session a command goes to and the stored message it acts on, in one lookup. A missing session
   * answers 404 for the session, whatever the message; a missing message is the caller's to answer.
   */
  private async requireTargetWithMessage(principal: Principal, sessionId: string, messageId: string, chat: string | undefined): Promise<{ session: CommandTarget; stored: CommandMessage | null }> {
    const found = await this.sessions.commandTargetWithMessage(principal.orgId, sessionId, messageId, chat);
    if (!found) throw new GatewayError('not_found', 'session not found', { session: sessionId });
    return { session: found.target, stored: found.message };
  }

  /** The session a send goes to, and (in the same lookup) the message it replies to, which must be in `chat`. */
  private async replyTarget(principal: Principal, sessionId: string, chat: string, replyTo: string | undefined): Promise<CommandTarget> {
    if (!replyTo) return this.requireTarget(principal, sessionId);
    const { session, stored } = await this.requireTargetWithMessage(principal, sessionId, replyTo, chat);
    if (!stored) throw new GatewayError('not_found', 'the message to reply to is not in this chat', { replyTo });
    return session;
  }

  /** `session_not_connected` unless the session is connected (checked before anything is written or sent). */
  requireConnected(session: Pick<CommandTarget, 'id' | 'status'>): void {
    if (session.status !== 'connected') {
      throw new GatewayError('session_not_connected', `the session is ${session.status}, not connected`, { session: session.id, status: session.status });
    }
  }

  revoke(principal: Principal, sessionId: string, messageId: string, body: RevokeRequest, idempotencyKey: string | null): Promise<SendResult> {
    return this.timed('revoke', () => this.revokeUntimed(principal, sessionId, messageId, body, idempotencyKey));
  }

  private async revokeUntimed(principal: Principal, sessionId: string, messageId: string, body: RevokeRequest, idempotencyKey: string | null): Promise<SendResult> {
    const { session, stored } = await this.requireTargetWithMessage(principal, sessionId, messageId, body.chat);
    if (!stored) throw new GatewayError('not_found', 'message not found', { session: sessionId, message: messageId });
    const sender = body.sender === undefined || body.sender === '' ? undefined : revokeSenderOf(stored, body.sender);
    if (body.sender && !sender) throw new GatewayError('not_found', 'message not found for this sender', { message: messageId, sender: body.sender });
    const command: SessionCommand = { type: 'revoke', chat: body.chat ?? stored.chatJid, messageId, ...(sender ? { sender } : {}) };
    // The worker writes the audit entry with the revoke's outcome, in one commit, once.
    return this.run(principal, session, 'revoke', command, idempotencyKey);
  }

  /** `respondAsync`: queue it and answer at once (202); the outcome is readable by `outboxId`. */
  sendText(principal: Principal, sessionId: string, body: SendTextRequest, idempotencyKey: string | null, respondAsync = false): Promise<SendResult> {
    return this.timed('send', () => this.sendTextUntimed(principal, sessionId, body, idempotencyKey, respondAsync));
  }

  private async sendTextUntimed(principal: Principal, sessionId: string, body: SendTextRequest, idempotencyKey: string | null, respondAsync: boolean): Promise<SendResult> {
    const session = await this.replyTarget(principal, sessionId, body.chat, body.replyTo);
    const command: SessionCommand = { type: 'send_text', chat: body.chat, text: body.text, ...(body.replyTo ? { replyTo: body.replyTo } : {}) };
    return this.run(principal, session, 'send', command, idempotencyKey, respondAsync);
  }

  /**
   * Marks a chat read: read receipts for the newest MARK_READ_MAX messages someone sent in it that this
   * session has not marked read yet (none: nothing is sent, and `read` is empty).
   */
  async markChatRead(principal: Principal, sessionId: string, chat: string): Promise<MarkReadResult> {
    const session = await this.requireSession(principal, sessionId);
    const unread = await this.messages.unreadReceived(principal.orgId, session.id, chat, MARK_READ_MAX);
    if (unread.length === 0) return { chat, read: [] };
    this.requireConnected(session);
    const messages = unread.map((message) => {
      const sender = participantOf(message.raw);
      return { id: message.waMessageId, ...(sender ? { sender } : {}) };
    });
    return (await this.dispatchControl(principal, session, { type: 'mark_read', chat, messages })) as MarkReadResult;
  }

  /**
   * Reacts to a stored message of the session (an empty emoji takes our reaction back): an outbox
   * operation like a send, answering its `SendResult`.
   */
  react(principal: Principal, sessionId: string, messageId: string, body: { emoji: string; chat?: string | undefined }, idempotencyKey: string | null): Promise<SendResult> {
    return this.timed('send', async () => {
      const { session, stored } = await this.requireTargetWithMessage(principal, sessionId, messageId, body.chat);
      if (!stored) throw new GatewayError('not_found', 'message not found', { session: sessionId, message: messageId });
      const sender = participantOf(stored.raw);
      const fromMe = (stored.raw as { key?: { fromMe?: unknown } } | null)?.key?.fromMe === true;
      const command: SessionCommand = { type: 'react', chat: stored.chatJid, target: { id: messageId, fromMe, ...(sender ? { sender } : {}) }, emoji: body.emoji };
      return this.run(principal, session, 'send', command, idempotencyKey);
    });
  }

  /**
   * Replaces the text of one of our own text messages for everyone: WhatsApp takes edits within
   * EDIT_WINDOW_S of the send, of text messages that were not revoked.
   */
  edit(principal: Principal, sessionId: string, messageId: string, body: { text: string; chat?: string | undefined }, idempotencyKey: string | null, now: number = Date.now()): Promise<SendResult> {
    return this.timed('send', async () => {
      const [session, stored] = await Promise.all([this.requireTarget(principal, sessionId), this.messages.find(principal.orgId, sessionId, messageId, body.chat)]);
      if (!stored) throw new GatewayError('not_found', 'message not found', { session: sessionId, message: messageId });
      if (!stored.fromMe) throw new GatewayError('conflict', 'only our own messages can be edited', { message: messageId });
      if (stored.revokedAt) throw new GatewayError('conflict', 'the message was revoked', { message: messageId });
      if (!EDITABLE_TYPES.has(stored.messageType)) throw new GatewayError('conflict', `a ${stored.messageType} cannot be edited; only text messages can`, { message: messageId, type: stored.messageType });
      const ageSeconds = Math.floor(now / 1000) - Number(stored.timestamp);
      if (ageSeconds > EDIT_WINDOW_S) throw new GatewayError('conflict', `WhatsApp takes edits within ${EDIT_WINDOW_S / 60} minutes of the send; this message is ${Math.floor(ageSeconds / 60)} minutes old`, { message: messageId });
      const command: SessionCommand = { type: 'edit', chat: stored.chatJid, messageId, text: body.text };
      return this.run(principal, session, 'send', command, idempotencyKey);
    });
  }

  /**
   * Marks a message someone sent as read: a read receipt to its author (blue ticks), found in our store
   * first (nothing is sent for a message we do not have, or one of our own), and its stored ack READ.
   */
  async markRead(principal: Principal, sessionId: string, messageId: string, chat: string | undefined): Promise<MarkReadResult> {
    const session = await this.requireSession(principal, sessionId);
    const stored = await this.messages.find(principal.orgId, session.id, messageId, chat);
    if (!stored) throw new GatewayError('not_found', 'message not found', { session: sessionId, message: messageId });
    if (stored.fromMe) throw new GatewayError('conflict', 'only a message someone else sent can be marked read', { message: messageId });
    this.requireConnected(session);
    const sender = participantOf(stored.raw);
    const command: SessionCommand = { type: 'mark_read', chat: stored.chatJid, messages: [{ id: messageId, ...(sender ? { sender } : {}) }] };
    return (await this.dispatchControl(principal, session, command)) as MarkReadResult;
  }

  /** An attachment, checked (type sniffed from its bytes) before anything is written; then like a text send. */
  sendMedia(principal: Principal, sessionId: string, body: SendMediaRequest, idempotencyKey: string | null, respondAsync = false): Promise<SendResult> {
    return this.timed('send', async () => {
      const session = await this.replyTarget(principal, sessionId, body.chat, body.replyTo);
      // Bytes in the body are checked here, before anything is written; a URL's by the worker that fetches it.
      if (body.data !== undefined) await checkMedia(body.kind, body.data, body.mimetype ?? '');
      const command: SessionCommand = {
        type: 'send_media',
        chat: body.chat,
        kind: body.kind,
        ...(body.data === undefined ? {} : { data: body.data }),
        ...(body.url === undefined ? {} : { url: body.url }),
        ...(body.mimetype === undefined ? {} : { mimetype: body.mimetype }),
        ...(body.caption ? { caption: body.caption } : {}),
        ...(body.fileName ? { fileName: body.fileName } : {}),
        ...(body.voiceNote ? { voiceNote: true } : {}),
        ...(body.replyTo ? { replyTo: body.replyTo } : {}),
      };
      return this.run(principal, session, 'send', command, idempotencyKey, respondAsync);
    });
  }

  async operation(principal: Principal, outboxId: string): Promise<OutboxOperation> {
    // The route validates the id; a caller that did not still gets a 404, never a uuid error from SQL.
    const found = operationIdSchema.safeParse(outboxId).success ? await this.outbox.get(principal.orgId, outboxId) : null;
    if (!found) throw new GatewayError('not_found', 'operation not found', { operation: outboxId });
    return found;
  }

  private async run(principal: Principal, session: CommandTarget, kind: 'send' | 'revoke', command: SessionCommand, idempotencyKey: string | null, respondAsync = false): Promise<SendResult> {
    // An attachment is hashed as the outbox keeps it (its bytes by their SHA-256): the same request, and
    // the file's bytes read once instead of once more as JSON.
    const request = storedRequest(command);
    const requestHash = canonicalHash({ kind, session: session.id, command: request });
    if (idempotencyKey !== null) {
      const earlier = await this.outbox.findByIdempotencyKey(principal.orgId, idempotencyKey);
      if (earlier) return this.replay(principal, session, earlier, requestHash, command);
    }
    // Checked before anything is written: a refused request leaves no row behind.
    this.requireConnected(session);
    const creation = await this.outbox.create(principal.orgId, {
      sessionId: session.id,
      kind,
      idempotencyKey,
      requestHash,
      request,
      deadline: new Date(Date.now() + this.timeoutMs),
    });
    // Lost a race with a concurrent request carrying the same key.
    if (!creation.created) return this.replay(principal, session, creation.operation, requestHash, command);
    if (respondAsync) {
      await this.dispatcher.enqueue({ commandId: creation.operation.id, orgId: principal.orgId, sessionId: session.id, command, actor: actorOf(principal) }, ASYNC_DEADLINE_MS);
      return { mode: 'async', outboxId: creation.operation.id, replayed: false, status: 'queued', timestamp: Math.floor(Date.now() / 1000), waMessageId: messageIdFor(creation.operation.id) };
    }
    return this.dispatch(principal, creation.operation, command);
  }

  /** The stored outcome for a known key, a 409 while it is in flight, or a fresh try when that one died. */
  private async replay(principal: Principal, session: CommandTarget, operation: OutboxOperation, requestHash: string, command: SessionCommand): Promise<SendResult> {
    if (operation.requestHash !== requestHash || operation.sessionId !== session.id) {
      throw new GatewayError('idempotency_key_reused', 'this Idempotency-Key was used for a different request', { outboxId: operation.id });
    }
    if (operation.status === 'sent' && operation.result !== null) return { ...storedSendResult(operation.result), replayed: true };
    if (operation.status === 'failed' || operation.status === 'expired') rethrowStored(operation);
    if (operation.deadline.getTime() > Date.now()) {
      throw new GatewayError('conflict', 'a request with this Idempotency-Key is still in flight', { outboxId: operation.id });
    }
    // The earlier attempt died without an answer: try again under the same operation. A re-run sends the
    // same WhatsApp message id, so it cannot act twice.
    this.requireConnected(session);
    return this.dispatch(principal, operation, command);
  }

  private async dispatch(principal: Principal, operation: { id: string; sessionId: string }, command: SessionCommand): Promise<SendResult> {
    try {
      const outcome = await this.dispatcher.dispatch({ commandId: operation.id, orgId: principal.orgId, sessionId: operation.sessionId, command, actor: actorOf(principal) }, this.timeoutMs);
      if (!outcome.ok) throw new GatewayError(outcome.error.code, outcome.error.message, { ...outcome.error.details, outboxId: operation.id });
      return outcome.result as SendResult;
    } catch (error) {
      if (!(error instanceof DispatchTimeoutError)) throw error;
      const latest = await this.outbox.get(principal.orgId, operation.id);
      if (latest?.status === 'sent' && latest.result !== null) return storedSendResult(latest.result);
      throw new GatewayError('timeout', 'the session worker did not answer in time; the outcome stays readable by outboxId', { outboxId: operation.id });
    }
  }

  /** The command-less session actions need to know whether a worker holds the session. */
  async ownerWorker(sessionId: string): Promise<string | null> {
    return decodeLease(await this.redis.get(redisKeys.lease(sessionId)))?.workerId ?? null;
  }

  async dispatchControl(principal: Principal, session: WhatsAppSession, command: SessionCommand, timeoutMs: number = this.timeoutMs): Promise<unknown> {
    let outcome: CommandOutcome;
    try {
      outcome = await this.dispatcher.dispatch({ commandId: crypto.randomUUID(), orgId: principal.orgId, sessionId: session.id, command }, timeoutMs);
    } catch (error) {
      // A control command has no outbox row to read its outcome from later: the caller may try again.
      if (error instanceof DispatchTimeoutError) throw new GatewayError('timeout', `the session worker did not answer within ${timeoutMs} ms; try again`, { session: session.id });
      throw error;
    }
    if (!outcome.ok) throw new GatewayError(outcome.error.code, outcome.error.message, outcome.error.details);
    return outcome.result;
  }
}
