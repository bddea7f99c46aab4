import type { Agent } from 'node:https';
import makeWASocket, { DEF_MEDIA_HOST, DisconnectReason, type BinaryNode, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import type { Dispatcher } from 'undici';
import { GatewayError } from '@wagw/contracts';
import { classifyReceipt, classifyUpdate, classifyUpsert, contentFromRaw, mediaContent, quotableFromRaw, type OutgoingMedia, reactionKey, readKey, revokeKey, toSentMessage, type InboundEvent, type SentMessage } from './inbound.js';
import { bareJid } from './jids.js';
import { downloadAttachment, type DownloadedMedia, type MediaDownloadLimits } from './media-download.js';
import { LeaseLostError, type BaileysLogger, type SessionAuthState } from './postgres-auth-state.js';

export type TerminalReason = 'logged_out' | 'lease_lost' | 'stopped' | 'released';

export interface ConnectionCallbacks {
  onQr(qr: string): void;
  onOpen(me: { id: string; lid: string | null; pushName: string | null }): void;
  /** The account's own push name, as WhatsApp syncs it from the phone (after the open, and on each rename). */
  onPushName(pushName: string): void;
  /**
   * A close that does not end the session: the connection tries again after `retryInMs`. `replaced`:
   * another socket took the login (440), and the pause is long (see REPLACED_RETRY_MIN_MS).
   */
  onDisconnected(close: { statusCode: number; retryInMs: number; replaced: boolean }): void;
  /** The connection is over for good (until someone starts it again). */
  onTerminated(reason: TerminalReason): void;
  /** Messages and revokes WhatsApp reported, classified (see inbound.ts), in the order they came. */
  onInbound(events: InboundEvent[]): void;
}

export interface ConnectionOptions {
  auth: SessionAuthState;
  logger: BaileysLogger;
  callbacks: ConnectionCallbacks;
  /**
   * `waWebSocketUrl` (and `fetchAgent` for uploads, `mediaDispatcher` for downloads, trusting its media
   * host) when pointed at an emulator; empty for WhatsApp itself.
   */
  socketOptions: { waWebSocketUrl?: string; fetchAgent?: Agent; mediaDispatcher?: Dispatcher };
  /** A message from our store as stored (`raw`): Baileys asks for the original when a peer requests a retry. */
  storedRaw(chat: string, id: string): Promise<unknown>;
}

/**
 * How long a sent message waits for WhatsApp's server ack before its outcome counts as unknown. The
 * ack comes within milliseconds; the gateway's command timeout (10 s by default) is the outer bound.
 */
export const SERVER_ACK_TIMEOUT_MS = 5_000;

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/**
 * After a 440 (another socket took the login) the connection comes back only after this long, doubling
 * up to REPLACED_RETRY_MAX_MS while it keeps being replaced: our own workers never overlap (a worker
 * closes its socket before its lease can pass on), so the other socket is someone else's, and a
 * session that answered every 440 at once would fight it. Losing the socket is not the session's end:
 * only a logout (401) or the API stops it.
 */
export const REPLACED_RETRY_MIN_MS = 10_000;
const REPLACED_RETRY_MAX_MS = 300_000;

/**
 * Delays between reconnect attempts: doubling from 1 s up to 30 s, back to 1 s once a connection opens.
 * WhatsApp's "restart required" (515, sent right after pairing) is answered at once.
 */
export class ReconnectBackoff {
  private nextMs: number;

  constructor(
    private readonly minMs = RETRY_MIN_MS,
    private readonly maxMs = RETRY_MAX_MS,
  ) {
    this.nextMs = minMs;
  }

  /** The delay before the attempt that follows a close with `statusCode`. */
  next(statusCode: number): number {
    const delay = statusCode === DisconnectReason.restartRequired ? 0 : this.nextMs;
    this.nextMs = Math.min(this.maxMs, this.nextMs * 2);
    return delay;
  }

  reset(): void {
    this.nextMs = this.minMs;
  }
}

function statusOf(error: Error | undefined): number {
  return (error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode ?? DisconnectReason.connectionClosed;
}

/** Baileys' error for a socket that closed: a Boom carrying one of the disconnect statuses. */
function closedUnder(error: unknown): boolean {
  const status = (error as { output?: { statusCode?: unknown } } | null)?.output?.statusCode;
  return typeof status === 'number' && Object.values(DisconnectReason).includes(status);
}

function unknownOutcome(id: string, why: string): GatewayError {
  return new GatewayError('timeout', `WhatsApp did not acknowledge the message: ${why}; its outcome is unknown, and sending it again with the same id cannot deliver it twice`, { waMessageId: id });
}

/**
 * One WhatsApp login over Baileys: reconnects on transient closes (at once after "restart required",
 * with backoff otherwise, after a long pause when replaced by another socket) and stops for good when
 * logged out, stopped, or when this worker lost the session's lease.
 */
export class WhatsAppConnection {
  private socket: WASocket | null = null;
  private open = false;
  private terminated = false;
  private readonly backoff = new ReconnectBackoff();
  private readonly replacedBackoff = new ReconnectBackoff(REPLACED_RETRY_MIN_MS, REPLACED_RETRY_MAX_MS);
  /** When the current socket opened (0 while it is not open). */
  private openedAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Messages written to the socket and not acknowledged by the server yet, by message id. */
  private readonly awaitingAck = new Map<string, { settle: (error: GatewayError | null) => void }>();

  constructor(
    private readonly options: ConnectionOptions,
    private readonly serverAckTimeoutMs = SERVER_ACK_TIMEOUT_MS,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  get me(): string | null {
    return this.options.auth.state.creds.me?.id ?? null;
  }

  /** This login's own user, as a phone number and as a LID, without device. */
  private ownJids(): string[] {
    const me = this.options.auth.state.creds.me;
    return [me?.id, me?.lid].filter((jid): jid is string => typeof jid === 'string').map(bareJid);
  }

  start(): void {
    if (this.terminated) return;
    const socket = makeWASocket({
      auth: this.options.auth.state,
      logger: this.options.logger,
      ...(this.options.socketOptions.waWebSocketUrl === undefined ? {} : { waWebSocketUrl: this.options.socketOptions.waWebSocketUrl }),
      ...(this.options.socketOptions.fetchAgent === undefined ? {} : { fetchAgent: this.options.socketOptions.fetchAgent }),
      // History sync off: a fresh login would otherwise wait ~20 s for it.
      shouldSyncHistoryMessage: () => false,
      syncFullHistory: false,
      markOnlineOnConnect: false,
      // What this socket sends is recorded by the command that sent it (with its outcome, in one commit);
      // Baileys' echo of it would only be recorded a second time.
      emitOwnEvents: false,
      getMessage: async (key) => (key.id && key.remoteJid ? contentFromRaw(await this.options.storedRaw(key.remoteJid, key.id)) : undefined),
    });
    this.socket = socket;
    socket.ev.on('creds.update', (update) => {
      this.options.auth.saveCreds().catch((error: unknown) => this.onWriteFailure(error));
      // The phone's app state carries the name (setting_pushName); Baileys reports it as a creds change.
      const pushName = update.me?.name;
      if (socket === this.socket && this.open && pushName) this.options.callbacks.onPushName(pushName);
    });
    socket.ws.on('CB:ack,class:message', (ack: BinaryNode) => this.onServerAck(ack));
    socket.ev.on('messages.upsert', (upsert) => this.report(upsert.messages.map((message) => classifyUpsert(message, this.me))));
    socket.ev.on('messages.update', (updates) => this.report(updates.map(({ key, update }) => classifyUpdate(key, update))));
    // A group's receipts come per member.
    socket.ev.on('message-receipt.update', (updates) => this.report(updates.map((update) => classifyReceipt(update, this.ownJids()))));
    socket.ev.on('connection.update', (update) => {
      if (socket !== this.socket) return;
      if (update.qr) this.options.callbacks.onQr(update.qr);
      if (update.connection === 'open') {
        this.open = true;
        this.openedAt = Date.now();
        this.backoff.reset();
        const me = this.options.auth.state.creds.me;
        this.options.callbacks.onOpen({ id: me?.id ?? '', lid: me?.lid ?? null, pushName: me?.name ?? null });
      }
      if (update.connection === 'close') this.onClose(statusOf(update.lastDisconnect?.error));
    });
  }

  private onServerAck(ack: BinaryNode): void {
    const id = ack.attrs['id'];
    const waiting = id === undefined ? undefined : this.awaitingAck.get(id);
    if (!waiting) return;
    const error = ack.attrs['error'];
    waiting.settle(
      error === undefined
        ? null
        : new GatewayError('whatsapp_rejected', `WhatsApp refused the message (error ${error})`, { whatsappError: Number(error) || error, waMessageId: id }),
    );
  }

  /**
   * Resolves when WhatsApp acknowledges message `id`; throws `whatsapp_rejected` for an error ack, and
   * `timeout` when no ack comes in time or the socket closes first: then nobody knows whether it was
   * delivered, and a re-run sends the same id again, which WhatsApp drops if it had it.
   */
  private serverAck(id: string): { acknowledged: Promise<void>; cancel(): void } {
    let settle!: (error: GatewayError | null) => void;
    const acknowledged = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => settle(unknownOutcome(id, 'no server ack within the time limit')), this.serverAckTimeoutMs);
      settle = (error) => {
        clearTimeout(timer);
        if (this.awaitingAck.get(id)?.settle === settle) this.awaitingAck.delete(id);
        if (error) reject(error);
        else resolve();
      };
    });
    this.awaitingAck.set(id, { settle });
    // The ack may come (and reject) before the send resolves, while nobody awaits it yet.
    acknowledged.catch(() => undefined);
    return { acknowledged, cancel: () => settle(null) };
  }

  /** Sends through `send` and answers once the server acknowledged message `id`. */
  private async sendAcknowledged(id: string, send: (socket: WASocket) => Promise<WAMessage | undefined>): Promise<WAMessage> {
    const socket = this.connected();
    const ack = this.serverAck(id);
    let sent: WAMessage | undefined;
    try {
      sent = await send(socket);
    } catch (error) {
      ack.cancel();
      // The socket closed under the send (a 515 restart, a dropped connection): whether the stanza left
      // is unknown, so the outcome is too, and a re-run under the same id is safe.
      if (socket !== this.socket || !this.open || closedUnder(error)) throw unknownOutcome(id, `the connection closed during the send (${error instanceof Error ? error.message : String(error)})`);
      throw error;
    }
    await ack.acknowledged;
    if (!sent) throw new GatewayError('internal', 'WhatsApp did not return the sent message');
    return sent;
  }

  private onClose(statusCode: number): void {
    const openFor = this.openedAt === 0 ? 0 : Date.now() - this.openedAt;
    this.open = false;
    this.openedAt = 0;
    this.socket = null;
    for (const [id, waiting] of this.awaitingAck) waiting.settle(unknownOutcome(id, 'the connection closed before the server ack'));
    if (this.terminated) return;
    if (statusCode === DisconnectReason.loggedOut) return this.terminate('logged_out');
    const replaced = statusCode === DisconnectReason.connectionReplaced;
    // Replaced once in a long while is not a fight: start the pause over.
    if (replaced && openFor > REPLACED_RETRY_MAX_MS) this.replacedBackoff.reset();
    const retryInMs = replaced ? this.replacedBackoff.next(statusCode) : this.backoff.next(statusCode);
    this.options.callbacks.onDisconnected({ statusCode, retryInMs, replaced });
    this.retryTimer = setTimeout(() => this.start(), retryInMs);
  }

  private onWriteFailure(error: unknown): void {
    if (error instanceof LeaseLostError) {
      // Another worker owns the login now: never keep a second socket open for it.
      void this.stop('lease_lost');
      return;
    }
    this.options.logger.error({ err: error }, 'saving auth state failed');
  }

  private terminate(reason: TerminalReason): void {
    if (this.terminated) return;
    this.terminated = true;
    this.open = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.options.callbacks.onTerminated(reason);
  }

  private connected(): WASocket {
    if (!this.open || !this.socket) throw new GatewayError('session_not_connected', 'the WhatsApp session is not connected');
    return this.socket;
  }

  /**
   * Sends a text and answers once WhatsApp acknowledged it. `messageId` fixes WhatsApp's id for the
   * message: sending it twice is then one message, not two.
   */
  async sendText(chat: string, text: string, messageId: string, quotedRaw?: unknown): Promise<SentMessage> {
    const quoted = quotedRaw === undefined ? null : quotableFromRaw(quotedRaw);
    const message = await this.sendAcknowledged(messageId, (socket) => socket.sendMessage(chat, { text }, { messageId, ...(quoted ? { quoted } : {}) }));
    return toSentMessage(message, this.me);
  }

  /**
   * Sends an attachment (Baileys encrypts it and uploads it to WhatsApp's media host) and answers once
   * WhatsApp acknowledged the message; `messageId` as for a text.
   */
  async sendMedia(chat: string, media: OutgoingMedia, messageId: string, quotedRaw?: unknown): Promise<SentMessage> {
    const quoted = quotedRaw === undefined ? null : quotableFromRaw(quotedRaw);
    const content = mediaContent(media);
    const message = await this.sendAcknowledged(messageId, (socket) => socket.sendMessage(chat, content, { messageId, ...(quoted ? { quoted } : {}) }));
    return toSentMessage(message, this.me);
  }

  /**
   * Deletes a message for everyone, answering once WhatsApp acknowledged the revoke: our own message,
   * or (`sender` set, as a group admin) a member's.
   */
  async revoke(chat: string, target: { messageId: string; sender?: string | undefined }, messageId: string): Promise<SentMessage> {
    const message = await this.sendAcknowledged(messageId, (socket) => socket.sendMessage(chat, { delete: revokeKey(chat, target) }, { messageId }));
    return toSentMessage(message, this.me);
  }

  /** Reacts to a message of `chat` (an empty emoji takes our reaction back), once WhatsApp acknowledged it. */
  async react(chat: string, target: { id: string; fromMe: boolean; sender?: string | undefined }, emoji: string, messageId: string): Promise<SentMessage> {
    const message = await this.sendAcknowledged(messageId, (socket) => socket.sendMessage(chat, { react: { text: emoji, key: reactionKey(chat, target) } }, { messageId }));
    return toSentMessage(message, this.me);
  }

  /** Replaces the text of one of our messages for everyone in the chat, once WhatsApp acknowledged the edit. */
  async edit(chat: string, target: string, text: string, messageId: string): Promise<SentMessage> {
    const message = await this.sendAcknowledged(messageId, (socket) => socket.sendMessage(chat, { text, edit: { remoteJid: chat, id: target, fromMe: true } }, { messageId }));
    return toSentMessage(message, this.me);
  }

  /**
   * Tells the authors of messages someone sent in `chat` that they were read (blue ticks): read
   * receipts, which WhatsApp sends only when the account shares them (else only our own devices hear).
   */
  async markRead(chat: string, messages: Array<{ id: string; sender?: string | undefined }>): Promise<void> {
    await this.connected().readMessages(messages.map((message) => readKey(chat, message)));
  }

  /**
   * The attachment of a stored message (`raw`), downloaded from the media host WhatsApp names for this
   * login (media_conn) and decrypted: see downloadAttachment.
   */
  async downloadMedia(raw: unknown, limits: Omit<MediaDownloadLimits, 'dispatcher'>): Promise<DownloadedMedia> {
    const mediaConnection = await this.connected().refreshMediaConn(false);
    const host = mediaConnection.hosts[0]?.hostname ?? DEF_MEDIA_HOST;
    return downloadAttachment(raw, host, { ...limits, dispatcher: this.options.socketOptions.mediaDispatcher });
  }

  private report(events: Array<InboundEvent | null>): void {
    const known = events.filter((event): event is InboundEvent => event !== null);
    if (known.length > 0) this.options.callbacks.onInbound(known);
  }

  async requestPairingCode(phone: string): Promise<string> {
    if (!this.socket) throw new GatewayError('session_not_connected', 'the session is not running');
    return this.socket.requestPairingCode(phone);
  }

  /** Closes the socket, keeps the login. */
  async stop(reason: TerminalReason = 'stopped'): Promise<void> {
    const socket = this.socket;
    this.terminate(reason);
    this.socket = null;
    if (socket) await socket.end(undefined);
  }

  /** Unlinks the device from the phone. */
  async logout(): Promise<void> {
    const socket = this.socket;
    this.terminate('logged_out');
    this.socket = null;
    if (socket) await socket.logout().catch(() => socket.end(undefined));
  }
}
