import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { Curve, type proto } from '@whiskeysockets/baileys';
import { lidJid, pnJid, type LinkedDevice, type SimulatedAccount } from './accounts.js';
import { AppStateServer } from './app-state-server.js';
import { node, SERVER_JID, type BinaryNode } from './binary-node.js';
import { createCertificateAuthority, type CertificateAuthority, type KeyPair } from './certificates.js';
import { EmulatorDirectory, type SimulatedGroup } from './directory.js';
import { EmulatorConnection } from './emulator-connection.js';
import { IqHandlers } from './iq-handlers.js';
import { MediaServer } from './media-server.js';
import { MessageRelay, type ClientReceipt, type ReceiptType, type ReceivedMessage, type UndecryptableMessage } from './message-relay.js';
import { Pairing } from './pairing.js';

export type { GroupRole, SimulatedGroup } from './directory.js';
export type { ClientReceipt, ReceiptType, ReceivedMessage, UndecryptableMessage } from './message-relay.js';

export interface EmulatorEvents {
  log: [entry: { event: string; [key: string]: unknown }];
  received: [message: ReceivedMessage];
}

/**
 * A WhatsApp Web server that unmodified Baileys (`waWebSocketUrl`) connects to: Noise handshake, binary
 * nodes, QR and pairing-code registration, login, and what a connected client asks of the server.
 * Everything happens on loopback, in memory. This file is the server and its connections' lifecycle;
 * the jobs live beside it: pairing.ts (linking), message-relay.ts (messages both ways), iq-handlers.ts
 * (queries), app-state-server.ts (settings synced from the phone), directory.ts (accounts and groups).
 */
/** An attachment a simulated phone sends. */
export interface PeerMedia {
  from: string;
  to: string;
  kind: 'image' | 'video' | 'audio' | 'document';
  bytes: Buffer;
  mimetype: string;
  caption?: string | undefined;
  fileName?: string | undefined;
}

export class WaEmulator extends EventEmitter<EmulatorEvents> {
  private readonly serverStatic: KeyPair = Curve.generateKeyPair();
  private readonly authority: CertificateAuthority = createCertificateAuthority(this.serverStatic.public);
  private server: WebSocketServer | null = null;
  private port = 0;
  private readonly directory = new EmulatorDirectory((event, details = {}) => this.emit('log', { event, ...details }));
  private readonly relay = new MessageRelay(this.directory, (message) => this.emit('received', message));
  private readonly pairing = new Pairing(this.directory);
  private readonly appState = new AppStateServer(this.directory, this.relay);
  private readonly media = new MediaServer();
  private readonly iq = new IqHandlers(this.directory, this.pairing, this.appState, this.media);

  /** The key clients must trust (`WA_CERT_DETAILS.PUBLIC_KEY`) to accept this server. */
  get rootPublicKey(): Buffer {
    return Buffer.from(this.authority.root.public);
  }

  /**
   * The PEM certificate of the media host's own authority: a client uploading or downloading media
   * through this emulator must trust it (and nothing should trust it otherwise).
   */
  get mediaCaCertificate(): string {
    return this.media.caCertificate;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws/chat`;
  }

  async start(port = 0): Promise<void> {
    await this.media.start();
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws/chat' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (socket) => {
      const connection = new EmulatorConnection(socket, this.serverStatic, this.authority.certChain, {
        onAuthenticated: (conn, noiseKey, payload) => {
          if (!this.pairing.register(conn, noiseKey, payload)) this.login(conn, noiseKey, payload);
        },
        onNode: (conn, stanza) => this.onNode(conn, stanza),
        onClose: (conn) => this.onClose(conn),
      });
      connection.on('protocol-error', (error: unknown) => this.log('protocol-error', { error: String(error) }));
      this.directory.connections.add(connection);
    });
  }

  async stop(): Promise<void> {
    for (const connection of this.directory.connections) connection.drop();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
    await this.media.stop();
  }

  private log(event: string, details: Record<string, unknown> = {}): void {
    this.directory.log(event, details);
  }

  // ---------------------------------------------------------------- accounts and groups (directory.ts)

  createAccount(options: { phone: string; lid?: string; pushName?: string; extraDevices?: number }): SimulatedAccount {
    return this.directory.createAccount(options);
  }

  account(phone: string): SimulatedAccount {
    return this.directory.account(phone);
  }

  /** Live sockets of one linked device: WhatsApp allows at most one. */
  liveSocketCount(phone: string, deviceId: number): number {
    return this.directory.liveSocketCount(phone, deviceId);
  }

  linkedDevices(phone: string): LinkedDevice[] {
    return this.directory.linkedDevices(phone);
  }

  /** A group of existing accounts; the first admin (or first member) is its creator. */
  createGroup(options: { subject: string; members: string[]; admins?: string[] }): SimulatedGroup {
    return this.directory.createGroup(options);
  }

  // ---------------------------------------------------------------- messages (message-relay.ts)

  /** What simulated devices of `phone` received, decrypted, oldest first. */
  received(phone: string): ReceivedMessage[] {
    return this.relay.received(phone);
  }

  /** Stanzas the simulated devices of `phone` could not decrypt, oldest first: each one a message lost. */
  undecryptable(phone: string): UndecryptableMessage[] {
    return this.relay.undecryptable(phone);
  }

  /** A simulated account sends a text to another account's linked clients; returns the message id. */
  peerSendText(options: { from: string; to: string; text: string; id?: string }): Promise<string> {
    return this.relay.peerSendText(options);
  }

  /** A simulated account reacts to a message of its chat with `to` (empty emoji: the reaction taken back). */
  peerReact(options: { from: string; to: string; messageId: string; emoji: string; fromMe?: boolean }): Promise<string> {
    return this.relay.peerReact(options);
  }

  /** A simulated account edits the text of a message it sent earlier. */
  peerEdit(options: { from: string; to: string; messageId: string; text: string }): Promise<string> {
    return this.relay.peerEdit(options);
  }

  /** A simulated account revokes (deletes for everyone) a message it sent earlier. */
  peerRevoke(options: { from: string; to: string; messageId: string }): Promise<string> {
    return this.relay.peerRevoke(options);
  }

  /** A simulated account's phone receipts messages `to`'s linked client sent it (in `group`, as a member): delivered, read or played. */
  peerReceipt(options: { from: string; to: string; messageIds: string[]; type: ReceiptType; group?: string | undefined }): void {
    this.relay.peerReceipt(options);
  }

  /** A member's phone writes to a group: every linked client of the other members gets it. */
  peerSendGroupText(options: { from: string; group: string; text: string; id?: string }): Promise<string> {
    return this.relay.peerSendGroupText(options);
  }

  /**
   * A simulated account's phone sends an attachment to `to`'s linked clients, as WhatsApp's app does:
   * encrypted under a fresh media key and uploaded to the media host, the message naming its direct
   * path, key and hashes. Returns the message id and the direct path (see `mediaDownloads`).
   */
  async peerSendMedia(options: PeerMedia): Promise<{ id: string; directPath: string }> {
    const uploaded = await this.media.upload(options.bytes, options.kind);
    const described = { ...uploaded, mimetype: options.mimetype, mediaKeyTimestamp: Math.floor(Date.now() / 1000) };
    const caption = options.caption === undefined ? {} : { caption: options.caption };
    const message: proto.IMessage =
      options.kind === 'image'
        ? { imageMessage: { ...described, ...caption } }
        : options.kind === 'video'
          ? { videoMessage: { ...described, ...caption } }
          : options.kind === 'audio'
            ? { audioMessage: { ...described, ptt: false } }
            : { documentMessage: { ...described, ...caption, fileName: options.fileName ?? 'file' } };
    const id = await this.relay.peerSendMessage({ from: options.from, to: options.to, message, attrs: { type: 'media', mediatype: options.kind } });
    return { id, directPath: uploaded.directPath };
  }

  /** How often clients downloaded the attachment at `directPath` from the media host. */
  mediaDownloads(directPath: string): number {
    return this.media.downloads(directPath);
  }

  /** The media host forgets the attachment at `directPath` (WhatsApp's media expires): its downloads answer 404. */
  expireMedia(directPath: string): void {
    this.media.expire(directPath);
  }

  /** The attachment of a message a simulated device received, decrypted as a phone does (hash and MAC checked). */
  decryptMedia(message: proto.IMessage): Promise<{ type: string; bytes: Buffer }> {
    return this.media.decrypt(message);
  }

  /** Receipts linked clients sent about messages `phone` wrote (delivery, read, …), oldest first. */
  receiptsFor(phone: string): ClientReceipt[] {
    return this.relay.receiptsFor(phone);
  }

  /** The next message a client sends from `phone`'s linked device is answered with `error` (e.g. 463). */
  failNextMessage(phone: string, error: number): void {
    this.relay.failNextMessage(phone, error);
  }

  // ---------------------------------------------------------------- linking (pairing.ts) and app state (app-state-server.ts)

  /** The phone scans a QR string the client emitted (`ref,noiseKey,identityKey,advSecret,platform`). */
  scanQr(qr: string, phone: string): Promise<LinkedDevice> {
    return this.pairing.scanQr(qr, phone);
  }

  /** The phone's owner types the code the client displayed (see Pairing.enterPairingCode). */
  enterPairingCode(phone: string, code: string, timeoutMs?: number): Promise<LinkedDevice> {
    return this.pairing.enterPairingCode(phone, code, timeoutMs);
  }

  /** The phone renames the account: WhatsApp syncs the new push name to every linked device. */
  setPushName(phone: string, pushName: string): Promise<void> {
    return this.appState.setPushName(phone, pushName);
  }

  // ---------------------------------------------------------------- failure injection

  private liveConnection(phone: string, deviceId: number): EmulatorConnection {
    const connection = this.directory.account(phone).companions.get(deviceId)?.connection;
    if (!connection?.isOpen) throw new Error(`device ${phone}:${deviceId} is not connected`);
    return connection;
  }

  /** The phone unlinks the device: `<failure reason=401>` now, and every later login with its creds fails. */
  logOut(phone: string, deviceId: number): void {
    const device = this.directory.account(phone).companions.get(deviceId);
    if (!device) throw new Error(`no linked device ${phone}:${deviceId}`);
    device.loggedOut = true;
    if (device.connection?.isOpen) device.connection.endWithFailure(401);
  }

  /** Another socket took the login: `<stream:error><conflict type=replaced/>` (Baileys: 440). */
  replaceConnection(phone: string, deviceId: number): void {
    this.liveConnection(phone, deviceId).endWithStreamError({}, [node('conflict', { type: 'replaced' })]);
  }

  /** `<stream:error code=515/>`: the client must reconnect. */
  requireRestart(phone: string, deviceId: number): void {
    this.liveConnection(phone, deviceId).endWithStreamError({ code: '515' });
  }

  /** Cuts the TCP connection without a word. */
  dropSocket(phone: string, deviceId: number): void {
    this.liveConnection(phone, deviceId).drop();
  }

  /** The server keeps the socket but stops answering the client's queries (until called with false). */
  stopAnsweringQueries(phone: string, deviceId: number, silent = true): void {
    this.liveConnection(phone, deviceId).silent = silent;
  }

  // ---------------------------------------------------------------- connection lifecycle

  private onClose(connection: EmulatorConnection): void {
    this.directory.connections.delete(connection);
    this.pairing.forget(connection);
    for (const account of this.directory.accounts.values()) {
      for (const device of account.companions.values()) if (device.connection === connection) device.connection = null;
    }
  }

  private login(connection: EmulatorConnection, noiseKey: Buffer, payload: proto.ClientPayload): void {
    const phone = payload.username === null || payload.username === undefined ? '' : String(payload.username);
    const deviceId = payload.device ?? 0;
    const device = this.directory.accounts.get(phone)?.companions.get(deviceId);
    if (!device || device.loggedOut || !device.noiseKey.equals(noiseKey)) {
      this.log('login-refused', { phone, deviceId });
      connection.endWithFailure(401);
      return;
    }
    // WhatsApp keeps the newest socket and tells the older one it was replaced.
    if (device.connection && device.connection !== connection && device.connection.isOpen) {
      this.log('replaced', { phone, deviceId });
      device.connection.endWithStreamError({}, [node('conflict', { type: 'replaced' })]);
    }
    device.connection = connection;
    connection.deviceJid = pnJid(phone, deviceId);
    this.log('login', { phone, deviceId, connection: connection.id });
    connection.send(node('success', { t: String(Math.floor(Date.now() / 1000)), lid: lidJid(device.account.lid, deviceId), props: '1', location: 'emu' }));
    const queued = this.relay.takeOffline(device);
    for (const stanza of queued) connection.send({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    // Like WhatsApp, the end-of-offline marker follows once the client has taken the batch (its receipts),
    // so everything delivered offline lands in the client's one buffered flush.
    const ids = queued.map((stanza) => stanza.attrs['id'] ?? '');
    void connection
      .waitForReceipts(ids, 5_000)
      .then(() => {
        if (connection.isOpen) connection.send(node('ib', {}, [node('offline', { count: String(queued.length) })]));
      });
    if (!device.appStateKeyShared) this.appState.shareAppState(device, connection).catch((error: unknown) => this.log('app-state-error', { error: String(error) }));
  }

  private onNode(connection: EmulatorConnection, stanza: BinaryNode): void {
    switch (stanza.tag) {
      case 'iq':
        this.iq.handle(connection, stanza);
        return;
      case 'message':
        this.relay.relay(connection, stanza);
        return;
      case 'receipt':
        connection.noteReceipt(stanza);
        this.relay.noteClientReceipt(connection, stanza);
        connection.send(node('ack', { id: stanza.attrs['id'] ?? '', class: stanza.tag, from: stanza.attrs['to'] ?? SERVER_JID }));
        return;
      case 'notification':
        connection.send(node('ack', { id: stanza.attrs['id'] ?? '', class: stanza.tag, from: stanza.attrs['to'] ?? SERVER_JID }));
        return;
      default:
        this.log('unhandled', { tag: stanza.tag, attrs: stanza.attrs });
    }
  }
}
