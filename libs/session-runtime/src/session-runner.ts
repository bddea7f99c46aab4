import { randomUUID } from 'node:crypto';
import { buildSessionStatusWebhook, GatewayError, redisKeys, sentResult, type EventSession, type EventType, type Lease, type MarkReadResult, type MediaCachedResult, type SessionCommand, type SessionStatus } from '@wagw/contracts';
import type { AuditEntry, AuthStateRepository, MediaCacheRepository, MessagesRepository, SessionFence, SessionsRepository } from '@wagw/db';
import type { Logger } from '@wagw/observability';
import type { RedisConnection } from '@wagw/queue';
import { bareJid, loadPostgresAuthState, WhatsAppConnection, type BaileysLogger, type ConnectionOptions, type SentMessage, type TerminalReason } from '@wagw/whatsapp';
import { fetchGuarded, GuardedFetchError, type DestinationPolicy, type FetchedFile } from '@wagw/webhooks';
import { checkMediaBytes, mimetypeOfFetched } from '@wagw/whatsapp/media-check';
import { MessageRecorder } from './message-recorder.js';

export interface RunnerDependencies {
  sessions: SessionsRepository;
  messages: MessagesRepository;
  authState: AuthStateRepository;
  redis: RedisConnection;
  logger: Logger;
  socketOptions: ConnectionOptions['socketOptions'];
  /** The endpoint `socketOptions` connect to, as a session records it when linked (see whatsAppEndpointLabel). */
  endpoint: string;
  /**
   * Tells the dispatchers a domain event was committed. Losing this call (a crash right after the
   * commit) loses nothing: the dispatchers also read committed events periodically.
   */
  publishEvent: (eventId: string, type: EventType) => Promise<void>;
  /** Where downloaded attachments go and how much may be downloaded; without it, downloads answer `not_configured`. */
  media?: MediaDownloads | undefined;
}

/** Received attachments: downloaded on request into the cache the gateways serve them from. */
export interface MediaDownloads {
  cache: MediaCacheRepository;
  /** MEDIA_MAX_BYTES: the largest attachment downloaded. */
  maxBytes: number;
  /** MEDIA_URL_ALLOW_PRIVATE_HOSTS: hosts a media URL may name although private (tests, local development). */
  urlPolicy: DestinationPolicy;
  /** MEDIA_CACHE_MAX_BYTES: what the whole cache holds, at most. */
  cacheBudgetBytes: number;
  timeoutMs: number;
}

const QR_TTL_MS = 60_000;

/** A write to the session row that names the status it leaves the session in. */
type StatusPatch = Parameters<SessionsRepository['updateAsOwner']>[1] & { status: SessionStatus };

/** A failed fetch of a media URL, as the caller reads it: what they sent is refused (4xx), or the URL's server failed (502). */
function fetchFailure(kind: string, url: string, error: unknown): GatewayError {
  if (!(error instanceof GuardedFetchError)) return new GatewayError('media_unavailable', `the ${kind} could not be fetched: ${String(error)}`, { url });
  const details = { field: `${kind}.url`, url, ...(error.status === undefined ? {} : { status: error.status }) };
  switch (error.failure) {
    case 'invalid_url':
    case 'blocked':
      return new GatewayError('validation_failed', `the ${kind} URL is refused: ${error.message}`, details);
    case 'too_large':
      return new GatewayError('payload_too_large', `the ${kind} at the URL is too large: ${error.message} (MEDIA_MAX_BYTES)`, details);
    case 'redirect':
    case 'status':
    case 'network':
      return new GatewayError('media_unavailable', `the ${kind} could not be fetched: ${error.message}`, details);
  }
}

/** `outcomeRecorded`: the operation's outcome was written with the message (no separate outbox write needed). */
export type CommandResult = { sent: SentMessage; outcomeRecorded: boolean } | { pairingCode: string } | { loggedOut: true } | MarkReadResult | MediaCachedResult;

/**
 * One session this worker holds the lease of: its connection's lifecycle and the session's status (with
 * its `session.status` events); what it sends and hears goes to its MessageRecorder.
 */
export class SessionRunner {
  private connection: WhatsAppConnection | null = null;
  /** Who the session is, for the events it produces: filled at start and on connection. */
  private identity = { createdBy: '', metadata: {} as Record<string, string>, meJid: '', mePushName: '' };
  private lastStatus: SessionStatus | null = null;
  private readonly recorder: MessageRecorder;

  /**
   * The worker that held the session before this runner (from the session row), when it was another:
   * commands routed to it may be stranded in its queue.
   */
  previousOwner: string | null = null;

  /** The status this runner last wrote (null before its first write). */
  get status(): SessionStatus | null {
    return this.lastStatus;
  }
  private writes: Promise<void> = Promise.resolve();
  /**
   * Whether the session row names this runner's epoch as its owner yet: the first write claims it, and a
   * refused write (a newer owner, or the row deleted) ends the runner without a word.
   */
  private claimed = false;
  private ended = false;
  private finished: Promise<TerminalReason>;
  private resolveFinished!: (reason: TerminalReason) => void;

  constructor(
    readonly orgId: string,
    readonly sessionId: string,
    readonly lease: Lease,
    private readonly deps: RunnerDependencies,
    private readonly onEnded: (runner: SessionRunner, reason: TerminalReason) => void,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.recorder = new MessageRecorder(this.fence, { messages: deps.messages, logger: deps.logger, publish: (eventId, type) => this.publish(eventId, type) }, () => this.eventSession());
  }

  /** What every write of this runner carries: the session at this runner's epoch. */
  get fence(): SessionFence {
    return { orgId: this.orgId, sessionId: this.sessionId, epoch: this.lease.epoch };
  }

  get isConnected(): boolean {
    return this.connection?.isOpen ?? false;
  }

  async start(): Promise<void> {
    const { sessions, authState, logger } = this.deps;
    const row = await sessions.findById(this.orgId, this.sessionId);
    const metadata = row?.metadata && typeof row.metadata === 'object' && !Array.isArray(row.metadata) ? (row.metadata as Record<string, string>) : {};
    this.identity = { createdBy: row?.createdBy ?? '', metadata, meJid: row?.meJid ?? '', mePushName: row?.mePushName ?? '' };
    this.lastStatus = row?.status ?? null;
    this.previousOwner = row?.ownerWorkerId && row.ownerWorkerId !== this.lease.workerId ? row.ownerWorkerId : null;
    if (row?.linkedEndpoint && row.linkedEndpoint !== this.deps.endpoint) {
      await this.refuseElsewhere(row.linkedEndpoint);
      return;
    }
    // 'starting' and the new owner in one write: a reader never sees the old 'connected' beside the new owner.
    await this.persist({ status: 'starting', lastError: null });
    if (this.ended) return;
    if (!this.claimed) throw new Error('could not record this worker as the session owner');
    const log = logger.child({ sessionId: this.sessionId, orgId: this.orgId, epoch: this.lease.epoch });
    const auth = await loadPostgresAuthState(authState, { orgId: this.orgId, sessionId: this.sessionId, epoch: this.lease.epoch }, log.child({ component: 'baileys' }) as unknown as BaileysLogger);
    this.connection = new WhatsAppConnection({
      auth,
      logger: log.child({ component: 'baileys', level: 'warn' }) as unknown as BaileysLogger,
      socketOptions: this.deps.socketOptions,
      storedRaw: (chat, id) => this.recorder.storedRaw(chat, id),
      callbacks: {
        onQr: (qr) => void this.onQr(qr),
        onOpen: (me) => void this.onOpen(me),
        onPushName: (pushName) => void this.onPushName(pushName),
        onDisconnected: ({ statusCode, retryInMs, replaced }) => {
          log.warn({ statusCode, retryInMs, replaced }, 'whatsapp connection closed; reconnecting');
          // Replaced (440): another socket took the login. Not the session's failure: it stays wanted and
          // comes back after a pause long enough not to fight a connection that keeps taking it.
          const lastError = replaced ? `replaced by another connection; reconnecting in ${Math.round(retryInMs / 1000)} s` : `closed with ${statusCode}`;
          void this.persist({ status: 'disconnected', lastDisconnectedAt: new Date(), lastError });
        },
        onTerminated: (reason) => void this.onTerminated(reason),
        onInbound: (events) => void this.recorder.recordInbound(events),
      },
    });
    this.connection.start();
    log.info('session started');
  }

  /**
   * The device was linked with another WhatsApp endpoint (the emulator of a demo, or WhatsApp itself for a
   * worker now pointed at an emulator): connecting would offer its keys to the wrong server, and the
   * server would not know it. The session stops and says so; nothing is deleted.
   */
  private async refuseElsewhere(linkedEndpoint: string): Promise<void> {
    const lastError = `linked with ${linkedEndpoint}, but this worker connects to ${this.deps.endpoint}: run it on a worker configured for that endpoint, or log it out and link it again`;
    this.deps.logger.warn({ sessionId: this.sessionId, orgId: this.orgId, linkedEndpoint, endpoint: this.deps.endpoint }, 'refusing to start a session linked with another WhatsApp endpoint');
    await this.persist({ status: 'stopped', shouldRun: false, lastError, lastDisconnectedAt: new Date() });
    this.end(this.claimed ? 'stopped' : 'lease_lost');
  }

  /**
   * Writes the session's new state; a change of status also writes a `session.status` event with it.
   * While this runner holds the lease it is the only writer of the status, so it knows the previous one.
   * Each write is fenced on this runner's epoch: once another worker owns the session, nothing this
   * runner writes lands, and it closes its socket.
   */
  private persist(patch: StatusPatch): Promise<void> {
    // One write at a time, in the order the connection reported them: a slow 'disconnected' must not
    // land after the 'connected' that followed it.
    this.writes = this.writes.then(() => this.write(patch));
    return this.writes;
  }

  private async write(patch: StatusPatch): Promise<void> {
    try {
      const changed = patch.status !== this.lastStatus;
      const eventId = randomUUID();
      const event = changed
        ? { id: eventId, type: 'session.status', payload: buildSessionStatusWebhook({ eventId, session: this.eventSession(), status: patch.status, lastError: typeof patch.lastError === 'string' ? patch.lastError : null }) }
        : null;
      const applied = this.claimed
        ? await this.deps.sessions.updateAsOwner(this.fence, patch, event)
        : await this.deps.sessions.claimAsOwner(this.fence, this.lease.workerId, patch, event);
      if (!applied) return this.lost();
      this.claimed = true;
      this.lastStatus = patch.status;
      if (event) await this.publish(event.id, 'session.status');
    } catch (error) {
      this.deps.logger.error({ err: error, sessionId: this.sessionId }, 'session update failed');
    }
  }

  /** A write was refused: the session has a newer owner (or is gone). Say nothing more about it, let go. */
  private lost(): void {
    this.deps.logger.info({ sessionId: this.sessionId, epoch: this.lease.epoch }, 'the session has another owner now: closing without writing its state');
    if (this.connection) void this.connection.stop('lease_lost');
    else this.end('lease_lost');
  }

  /** Once: the host forgets the runner (and releases its lease unless it was lost). */
  private end(reason: TerminalReason): void {
    if (this.ended) return;
    this.ended = true;
    this.resolveFinished(reason);
    this.onEnded(this, reason);
  }

  private eventSession(): EventSession {
    return { id: this.sessionId, ...this.identity };
  }

  /** After the commit: a failure here only delays the event until the dispatchers' periodic read. */
  private async publish(eventId: string, type: EventType): Promise<void> {
    await this.deps.publishEvent(eventId, type).catch((error: unknown) => this.deps.logger.warn({ err: error, eventId }, 'announcing an event failed; the dispatchers read it periodically'));
  }

  private async onQr(qr: string): Promise<void> {
    await this.deps.redis.set(redisKeys.qr(this.sessionId), qr, 'PX', QR_TTL_MS);
    await this.persist({ status: 'qr' });
  }

  private async onOpen(me: { id: string; pushName: string | null }): Promise<void> {
    await this.deps.redis.del(redisKeys.qr(this.sessionId));
    const meJid = bareJid(me.id);
    this.identity = { ...this.identity, meJid, mePushName: me.pushName ?? this.identity.mePushName };
    // A fresh link knows no name yet (it follows from the phone, see onPushName): keep what was stored.
    await this.persist({ status: 'connected', meJid, ...(me.pushName === null ? {} : { mePushName: me.pushName }), linkedEndpoint: this.deps.endpoint, lastConnectedAt: new Date(), lastError: null });
  }

  /** The name arrives after the open (the phone syncs it) and changes when the user renames the phone. */
  private async onPushName(pushName: string): Promise<void> {
    if (pushName === this.identity.mePushName) return;
    this.identity = { ...this.identity, mePushName: pushName };
    await this.persist({ status: 'connected', mePushName: pushName });
  }

  private async onTerminated(reason: TerminalReason): Promise<void> {
    // Lost: whatever this runner would write (even deleting its QR) may undo the new owner's state.
    if (reason === 'lease_lost') return this.end(reason);
    await this.deps.redis.del(redisKeys.qr(this.sessionId));
    if (reason === 'logged_out') {
      await this.deps.authState.wipeAsOwner(this.fence).catch(() => undefined);
      await this.persist({ status: 'logged_out', shouldRun: false, meJid: null, mePushName: null, linkedEndpoint: null, lastDisconnectedAt: new Date() });
    } else if (reason === 'stopped') {
      await this.persist({ status: 'stopped', lastDisconnectedAt: new Date() });
    } else if (reason === 'released') {
      // The worker is shutting down: the session still should run, and another worker takes it over.
      await this.persist({ status: 'disconnected', lastError: 'worker shut down; moving', lastDisconnectedAt: new Date() });
    }
    this.end(reason);
  }

  /**
   * Runs one command on the live connection; `messageId` makes a re-run send the same message again.
   * A send or revoke records its outcome on its outbox `operation` (a revoke with the operation's audit
   * entry) in the same commit as the message itself.
   */
  async execute(command: SessionCommand, messageId: string, operation?: { outboxId: string; audit?: AuditEntry }): Promise<CommandResult> {
    const connection = this.connection;
    if (!connection) throw new GatewayError('session_not_connected', 'the session is not running');
    switch (command.type) {
      case 'send_text': {
        const quoted = await this.quotedFor(command.chat, command.replyTo);
        return this.recordSentMessage(await connection.sendText(command.chat, command.text, messageId, quoted), operation);
      }
      case 'send_media': {
        const quoted = await this.quotedFor(command.chat, command.replyTo);
        const { bytes, mimetype } = await this.attachmentOf(command);
        const media = { kind: command.kind, bytes, mimetype, caption: command.caption, fileName: command.fileName, voiceNote: command.voiceNote };
        return this.recordSentMessage(await connection.sendMedia(command.chat, media, messageId, quoted), operation);
      }
      case 'revoke': {
        const sent = await connection.revoke(command.chat, { messageId: command.messageId, sender: command.sender }, messageId);
        const outcome = operation === undefined ? undefined : { ...operation, result: sentResult(operation.outboxId, sent), waMessageId: sent.waMessageId };
        const outcomeRecorded = await this.recorder.recordRevoke({ message: sent.message, target: command.messageId, fromMe: true, author: null }, outcome);
        return { sent, outcomeRecorded };
      }
      case 'react': {
        return this.recordSentMessage(await connection.react(command.chat, command.target, command.emoji, messageId), operation);
      }
      case 'edit': {
        const sent = await connection.edit(command.chat, command.messageId, command.text, messageId);
        // The edit and the original's new text, with `message.edited`, in one commit; the executor then finishes the operation.
        await this.recorder.recordEdit({ message: sent.message, target: command.messageId, text: command.text });
        return { sent, outcomeRecorded: false };
      }
      case 'mark_read':
        await connection.markRead(command.chat, command.messages);
        await this.recorder.recordRead(command.chat, command.messages.map((message) => message.id));
        return { chat: command.chat, read: command.messages.map((message) => message.id) };
      case 'download_media':
        return this.downloadMedia(connection, command.chat, command.messageId);
      case 'pairing_code':
        return { pairingCode: await connection.requestPairingCode(command.phone) };
      case 'logout':
        await connection.logout();
        // Answer once `logged_out` is written: the caller reads the session next.
        await this.finished;
        return { loggedOut: true };
    }
  }

  /**
   * The file a media send carries: its base64 (checked by the gateway), or fetched from its URL through
   * the SSRF guard within MEDIA_MAX_BYTES and checked here, as the gateway checks bytes in the body.
   */
  private async attachmentOf(command: Extract<SessionCommand, { type: 'send_media' }>): Promise<{ bytes: Buffer; mimetype: string }> {
    if (command.data !== undefined) return { bytes: Buffer.from(command.data, 'base64'), mimetype: command.mimetype ?? 'application/octet-stream' };
    if (command.url === undefined) throw new GatewayError('validation_failed', 'the attachment has neither data nor url');
    const media = this.deps.media;
    if (!media) throw new GatewayError('not_configured', 'this worker fetches no media URLs');
    let fetched: FetchedFile;
    try {
      fetched = await fetchGuarded(command.url, { policy: media.urlPolicy, maxBytes: media.maxBytes, timeoutMs: media.timeoutMs });
    } catch (error) {
      throw fetchFailure(command.kind, command.url, error);
    }
    const mimetype = command.mimetype ?? (await mimetypeOfFetched(command.kind, fetched.bytes, fetched.contentType));
    await checkMediaBytes(command.kind, fetched.bytes, mimetype);
    return { bytes: fetched.bytes, mimetype };
  }

  /** A received attachment, downloaded, checked and decrypted into the media cache. */
  private async downloadMedia(connection: WhatsAppConnection, chat: string, messageId: string): Promise<MediaCachedResult> {
    const media = this.deps.media;
    if (!media) throw new GatewayError('not_configured', 'this worker keeps no media cache');
    const stored = await this.deps.messages.find(this.orgId, this.sessionId, messageId, chat);
    if (!stored) throw new GatewayError('not_found', 'message not found', { message: messageId });
    const file = await connection.downloadMedia(stored.raw, { maxBytes: media.maxBytes, timeoutMs: media.timeoutMs });
    await media.cache.store(this.orgId, stored.id, file, media.cacheBudgetBytes);
    return { cached: { size: file.bytes.length, mimetype: file.mimetype } };
  }

  /** The stored message a send replies to (none without `replyTo`); `not_found` when it is not in this chat. */
  private async quotedFor(chat: string, replyTo: string | undefined): Promise<unknown> {
    if (replyTo === undefined) return undefined;
    const quoted = await this.recorder.storedRaw(chat, replyTo);
    if (!(quoted && typeof quoted === 'object' && 'key' in quoted)) throw new GatewayError('not_found', 'the message to reply to is not in this chat', { replyTo });
    return quoted;
  }

  /** A message this session sent, stored with its operation's outcome in one commit (without an operation, as our own). */
  private async recordSentMessage(sent: SentMessage, operation: { outboxId: string } | undefined): Promise<CommandResult> {
    if (operation === undefined) {
      await this.recorder.recordOwn(sent.message);
      return { sent, outcomeRecorded: false };
    }
    const outcome = { outboxId: operation.outboxId, result: sentResult(operation.outboxId, sent), waMessageId: sent.waMessageId };
    return { sent, outcomeRecorded: await this.recorder.recordSent(sent.message, outcome) };
  }

  /** Resolves once the socket is closed and the session's resulting status is written. */
  async stop(reason: TerminalReason = 'stopped'): Promise<void> {
    if (this.connection) await this.connection.stop(reason);
    else this.end(reason);
    await this.finished;
  }
}
