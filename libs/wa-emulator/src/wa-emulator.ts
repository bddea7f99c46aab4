import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import {
  aesDecryptCTR,
  aesDecryptGCM,
  aesEncryptCTR,
  Curve,
  derivePairingCodeKey,
  generateSignalPubKey,
  hkdf,
  proto,
  WA_ADV_ACCOUNT_SIG_PREFIX,
  WA_ADV_DEVICE_SIG_PREFIX,
} from '@whiskeysockets/baileys';
import { createAccount, lidJid, pnJid, type LinkedDevice, type SimulatedAccount } from './accounts.js';
import { bytes, child, children, node, SERVER_JID, uintBE, type BinaryNode } from './binary-node.js';
import { createCertificateAuthority, type CertificateAuthority, type KeyPair } from './certificates.js';
import { EmulatorConnection } from './emulator-connection.js';
import { bundleToNode, type PreKeyBundle, type SimulatedDevice } from './simulated-device.js';

/** A linked (real) client's bundle from what it uploaded; each fetch uses up one one-time pre-key. */
function takeLinkedBundle(device: LinkedDevice): PreKeyBundle {
  const next = device.preKeys.entries().next();
  let preKey: PreKeyBundle['preKey'];
  if (!next.done) {
    const [keyId, publicKey] = next.value;
    device.preKeys.delete(keyId);
    preKey = { keyId, publicKey };
  }
  return {
    registrationId: device.registrationId,
    identityKey: device.identityKey,
    signedPreKey: { keyId: device.signedPreKey.id, publicKey: device.signedPreKey.publicKey, signature: device.signedPreKey.signature },
    ...(preKey ? { preKey } : {}),
  };
}

const QR_REF_COUNT = 6;

/** A registration waiting for its QR to be scanned (or its pairing code typed). */
interface PendingRegistration {
  connection: EmulatorConnection;
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: { id: number; publicKey: Buffer; signature: Buffer };
  refs: string[];
  /** Set when the client asked to pair by code (`companion_hello`). */
  linkCode?: {
    phone: string;
    ref: Buffer;
    wrappedCompanionEphemeral: Buffer;
    /** Set once the code was typed on the phone. */
    typed?: { code: string; primaryEphemeral: KeyPair; account: SimulatedAccount; done: (error?: Error, device?: LinkedDevice) => void };
  };
}

/** What a simulated device received from a client, decrypted. */
export interface ReceivedMessage {
  /** The simulated device that decrypted it. */
  to: { phone: string; deviceId: number };
  /** The client device that sent it (`LID:DEVICE@lid`). */
  from: string;
  /** The chat it was addressed to: a user jid or a group jid. */
  chat: string;
  id: string;
  /** `edit` attribute: 7 for a revoke of one's own message, 8 for an admin revoke. */
  edit: string | undefined;
  message: proto.IMessage;
}

/** A stanza a simulated device could not decrypt (e.g. a Signal counter its sender had used already). */
export interface UndecryptableMessage {
  to: { phone: string; deviceId: number };
  from: string;
  chat: string;
  id: string;
  error: string;
}

export type GroupRole = 'superadmin' | 'admin' | 'member';

export interface SimulatedGroup {
  /** `123-456@g.us` */
  jid: string;
  subject: string;
  creator: string;
  creation: number;
  /** phone → role */
  members: Map<string, GroupRole>;
}

export interface EmulatorEvents {
  log: [entry: { event: string; [key: string]: unknown }];
  received: [message: ReceivedMessage];
}

/**
 * A WhatsApp Web server that unmodified Baileys (`waWebSocketUrl`) connects to: Noise handshake, binary
 * nodes, QR and pairing-code registration, login, and what a connected client asks of the server.
 * Everything happens on loopback, in memory.
 */
export class WaEmulator extends EventEmitter<EmulatorEvents> {
  private readonly serverStatic: KeyPair = Curve.generateKeyPair();
  private readonly authority: CertificateAuthority = createCertificateAuthority(this.serverStatic.public);
  private server: WebSocketServer | null = null;
  private readonly accounts = new Map<string, SimulatedAccount>();
  private readonly groups = new Map<string, SimulatedGroup>();
  private readonly pending = new Map<EmulatorConnection, PendingRegistration>();
  private readonly connections = new Set<EmulatorConnection>();
  private port = 0;
  private readonly inbox: ReceivedMessage[] = [];
  private readonly undecryptableInbox: UndecryptableMessage[] = [];
  /** The last message relayed for each socket: the next one waits for it. */
  private readonly relayQueues = new WeakMap<EmulatorConnection, Promise<void>>();
  /** Stanzas for linked devices that were offline, delivered at their next login (like WhatsApp's offline queue). */
  private readonly offlineQueue = new Map<LinkedDevice, BinaryNode[]>();
  private nextMessageNumber = 1;
  /** `senderDevice|messageId` of every message accepted: a re-sent id is acknowledged, not delivered twice. */
  private readonly accepted = new Set<string>();
  /** Accounts whose next messages get an error ack (failure injection). */
  private readonly errorAcks = new Map<string, number>();

  /** The key clients must trust (`WA_CERT_DETAILS.PUBLIC_KEY`) to accept this server. */
  get rootPublicKey(): Buffer {
    return Buffer.from(this.authority.root.public);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws/chat`;
  }

  async start(port = 0): Promise<void> {
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws/chat' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (socket) => {
      const connection = new EmulatorConnection(socket, this.serverStatic, this.authority.certChain, {
        onAuthenticated: (conn, noiseKey, payload) => this.onAuthenticated(conn, noiseKey, payload),
        onNode: (conn, stanza) => this.onNode(conn, stanza),
        onClose: (conn) => this.onClose(conn),
      });
      connection.on('protocol-error', (error: unknown) => this.log('protocol-error', { error: String(error) }));
      this.connections.add(connection);
    });
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.drop();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private log(event: string, details: Record<string, unknown> = {}): void {
    this.emit('log', { event, ...details });
  }

  // ---------------------------------------------------------------- accounts

  createAccount(options: { phone: string; lid?: string; pushName?: string; extraDevices?: number }): SimulatedAccount {
    if (!/^\d{6,15}$/.test(options.phone)) throw new Error('phone must be 6-15 digits');
    if (this.accounts.has(options.phone)) throw new Error(`account ${options.phone} exists`);
    const lid = options.lid ?? String(randomInt(10 ** 13, 10 ** 14));
    const account = createAccount(options.phone, lid, options.pushName ?? `User ${options.phone.slice(-4)}`, options.extraDevices ?? 0);
    this.accounts.set(options.phone, account);
    return account;
  }

  account(phone: string): SimulatedAccount {
    const account = this.accounts.get(phone);
    if (!account) throw new Error(`no account ${phone}`);
    return account;
  }

  /** Live sockets of one linked device: WhatsApp allows at most one. */
  liveSocketCount(phone: string, deviceId: number): number {
    const jid = pnJid(phone, deviceId);
    return [...this.connections].filter((connection) => connection.deviceJid === jid && connection.isOpen).length;
  }

  linkedDevices(phone: string): LinkedDevice[] {
    return [...this.account(phone).companions.values()];
  }

  /** What simulated devices of `phone` received, decrypted, oldest first. */
  received(phone: string): ReceivedMessage[] {
    return this.inbox.filter((message) => message.to.phone === phone);
  }

  /** Stanzas the simulated devices of `phone` could not decrypt, oldest first: each one a message lost. */
  undecryptable(phone: string): UndecryptableMessage[] {
    return this.undecryptableInbox.filter((message) => message.to.phone === phone);
  }

  // ---------------------------------------------------------------- failure injection

  private liveConnection(phone: string, deviceId: number): EmulatorConnection {
    const connection = this.account(phone).companions.get(deviceId)?.connection;
    if (!connection?.isOpen) throw new Error(`device ${phone}:${deviceId} is not connected`);
    return connection;
  }

  /** The phone unlinks the device: `<failure reason=401>` now, and every later login with its creds fails. */
  logOut(phone: string, deviceId: number): void {
    const device = this.account(phone).companions.get(deviceId);
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

  /** The next message a client sends from `phone`'s linked device is answered with `error` (e.g. 463). */
  failNextMessage(phone: string, error: number): void {
    this.errorAcks.set(phone, error);
  }

  /** A group of existing accounts; the first admin (or first member) is its creator. */
  createGroup(options: { subject: string; members: string[]; admins?: string[] }): SimulatedGroup {
    const admins = new Set(options.admins ?? []);
    for (const phone of [...options.members, ...admins]) this.account(phone);
    const creator = options.admins?.[0] ?? options.members[0];
    if (!creator) throw new Error('a group needs members');
    const jid = `${randomInt(10 ** 11, 10 ** 12)}-${Math.floor(Date.now() / 1000)}@g.us`;
    const members = new Map<string, GroupRole>();
    for (const phone of new Set([...options.members, ...admins])) members.set(phone, phone === creator ? 'superadmin' : admins.has(phone) ? 'admin' : 'member');
    const group: SimulatedGroup = { jid, subject: options.subject, creator, creation: Math.floor(Date.now() / 1000), members };
    this.groups.set(jid, group);
    return group;
  }

  private groupNode(group: SimulatedGroup): BinaryNode {
    const creator = this.account(group.creator);
    return node(
      'group',
      { id: group.jid.replace(/@g\.us$/, ''), subject: group.subject, s_t: String(group.creation), s_o: lidJid(creator.lid), creation: String(group.creation), creator: lidJid(creator.lid), creator_pn: pnJid(creator.phone), addressing_mode: 'lid', size: String(group.members.size) },
      [...group.members].map(([phone, role]) => {
        const account = this.account(phone);
        return node('participant', { jid: lidJid(account.lid), phone_number: pnJid(account.phone), ...(role === 'member' ? {} : { type: role }) });
      }),
    );
  }

  /** Finds the account behind a user or device jid, PN (`s.whatsapp.net`) or LID (`lid`). */
  private resolveJid(jid: string): { account: SimulatedAccount; deviceId: number } | undefined {
    const match = /^(\d+)(?::(\d+))?@(s\.whatsapp\.net|lid)$/.exec(jid);
    if (!match) return undefined;
    const [, user = '', device, server] = match;
    const account = server === 'lid' ? [...this.accounts.values()].find((candidate) => candidate.lid === user) : this.accounts.get(user);
    return account ? { account, deviceId: Number(device ?? 0) } : undefined;
  }

  // ---------------------------------------------------------------- simulated peers talking to clients

  /** A simulated account sends a text to another account's linked clients; returns the message id. */
  async peerSendText(options: { from: string; to: string; text: string; id?: string }): Promise<string> {
    const id = options.id ?? this.newMessageId();
    await this.deliverFromPeer(options.from, options.to, id, { conversation: options.text }, {});
    return id;
  }

  /** A simulated account revokes (deletes for everyone) a message it sent earlier. */
  async peerRevoke(options: { from: string; to: string; messageId: string }): Promise<string> {
    const id = this.newMessageId();
    const message: proto.IMessage = {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.REVOKE,
        key: { remoteJid: pnJid(options.to), fromMe: true, id: options.messageId },
      },
    };
    await this.deliverFromPeer(options.from, options.to, id, message, { edit: '7' });
    return id;
  }

  /** A member's phone writes to a group: every linked client of the other members gets it. */
  async peerSendGroupText(options: { from: string; group: string; text: string; id?: string }): Promise<string> {
    const id = options.id ?? this.newMessageId();
    await this.deliverGroupFromPeer(options.from, options.group, id, { conversation: options.text }, {});
    return id;
  }

  private async deliverGroupFromPeer(fromPhone: string, groupJid: string, id: string, message: proto.IMessage, extraAttrs: Record<string, string>): Promise<void> {
    const group = this.groups.get(groupJid);
    if (!group?.members.has(fromPhone)) throw new Error(`${fromPhone} is not in ${groupJid}`);
    const sender = this.account(fromPhone);
    const phone = sender.devices.get(0);
    if (!phone) throw new Error(`account ${fromPhone} has no phone device`);
    const { senderKeyDistributionMessage, ciphertext } = await phone.encryptForGroup(groupJid, message);
    const distribution: proto.IMessage = { senderKeyDistributionMessage: { groupId: groupJid, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage } };
    for (const memberPhone of group.members.keys()) {
      if (memberPhone === fromPhone) continue;
      for (const device of this.account(memberPhone).companions.values()) {
        if (device.loggedOut) continue;
        const keyCarrier = await this.encryptFromPhone(phone, device, distribution);
        const stanza = node(
          'message',
          {
            from: groupJid,
            participant: lidJid(sender.lid),
            participant_pn: pnJid(sender.phone),
            addressing_mode: 'lid',
            id,
            t: String(Math.floor(Date.now() / 1000)),
            type: 'text',
            notify: sender.pushName,
            ...extraAttrs,
          },
          [node('enc', { v: '2', type: keyCarrier.type }, keyCarrier.ciphertext), node('enc', { v: '2', type: 'skmsg' }, ciphertext)],
        );
        this.deliverToLinked(device, stanza);
      }
    }
  }

  /** 1:1 encryption from a simulated phone to a linked client, opening the session from its uploaded keys. */
  private async encryptFromPhone(phone: SimulatedDevice, device: LinkedDevice, message: proto.IMessage): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Uint8Array }> {
    const address = lidJid(device.account.lid, device.deviceId);
    if (!(await phone.signal.validateSession(address)).exists) {
      const bundle = takeLinkedBundle(device);
      await phone.signal.injectE2ESession({
        jid: address,
        session: {
          registrationId: bundle.registrationId,
          identityKey: generateSignalPubKey(bundle.identityKey),
          signedPreKey: { keyId: bundle.signedPreKey.keyId, publicKey: generateSignalPubKey(bundle.signedPreKey.publicKey), signature: bundle.signedPreKey.signature },
          ...(bundle.preKey ? { preKey: { keyId: bundle.preKey.keyId, publicKey: generateSignalPubKey(bundle.preKey.publicKey) } } : {}),
        },
      });
    }
    return phone.encryptTo(address, message);
  }

  private deliverToLinked(device: LinkedDevice, stanza: BinaryNode): void {
    if (device.connection?.isOpen) device.connection.send(stanza);
    else this.offlineQueue.set(device, [...(this.offlineQueue.get(device) ?? []), stanza]);
  }

  private newMessageId(): string {
    return `EMU${Date.now().toString(16).toUpperCase()}${(this.nextMessageNumber++).toString(16).toUpperCase().padStart(6, '0')}`;
  }

  private async deliverFromPeer(fromPhone: string, toPhone: string, id: string, message: proto.IMessage, extraAttrs: Record<string, string>): Promise<void> {
    const sender = this.account(fromPhone);
    const phone = sender.devices.get(0);
    if (!phone) throw new Error(`account ${fromPhone} has no phone device`);
    const recipients = [...this.account(toPhone).companions.values()].filter((device) => !device.loggedOut);
    if (recipients.length === 0) throw new Error(`account ${toPhone} has no linked device`);
    for (const device of recipients) {
      const { type, ciphertext } = await this.encryptFromPhone(phone, device, message);
      const stanza = node(
        'message',
        { from: pnJid(sender.phone), id, t: String(Math.floor(Date.now() / 1000)), type: 'text', notify: sender.pushName, sender_lid: lidJid(sender.lid), ...extraAttrs },
        [node('enc', { v: '2', type }, ciphertext)],
      );
      this.deliverToLinked(device, stanza);
    }
  }

  // ---------------------------------------------------------------- connection lifecycle

  private onClose(connection: EmulatorConnection): void {
    this.connections.delete(connection);
    this.pending.delete(connection);
    for (const account of this.accounts.values()) {
      for (const device of account.companions.values()) if (device.connection === connection) device.connection = null;
    }
  }

  private onAuthenticated(connection: EmulatorConnection, noiseKey: Buffer, payload: proto.ClientPayload): void {
    const pairing = payload.devicePairingData;
    if (pairing?.eIdent && pairing.eRegid && pairing.eSkeyId && pairing.eSkeyVal && pairing.eSkeySig) {
      const registration: PendingRegistration = {
        connection,
        noiseKey,
        identityKey: Buffer.from(pairing.eIdent),
        registrationId: uintBE(pairing.eRegid),
        signedPreKey: { id: uintBE(pairing.eSkeyId), publicKey: Buffer.from(pairing.eSkeyVal), signature: Buffer.from(pairing.eSkeySig) },
        refs: Array.from({ length: QR_REF_COUNT }, () => randomBytes(12).toString('base64url')),
      };
      this.pending.set(connection, registration);
      this.log('registration', { connection: connection.id });
      connection
        .query(node('iq', { from: SERVER_JID, type: 'set', xmlns: 'md' }, [node('pair-device', {}, registration.refs.map((ref) => node('ref', {}, Buffer.from(ref))))]))
        .catch(() => undefined);
      return;
    }
    this.login(connection, noiseKey, payload);
  }

  private login(connection: EmulatorConnection, noiseKey: Buffer, payload: proto.ClientPayload): void {
    const phone = payload.username === null || payload.username === undefined ? '' : String(payload.username);
    const deviceId = payload.device ?? 0;
    const device = this.accounts.get(phone)?.companions.get(deviceId);
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
    const queued = this.offlineQueue.get(device) ?? [];
    this.offlineQueue.delete(device);
    for (const stanza of queued) connection.send({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    // Like WhatsApp, the end-of-offline marker follows once the client has taken the batch (its receipts),
    // so everything delivered offline lands in the client's one buffered flush.
    const ids = queued.map((stanza) => stanza.attrs['id'] ?? '');
    void connection
      .waitForReceipts(ids, 5_000)
      .then(() => {
        if (connection.isOpen) connection.send(node('ib', {}, [node('offline', { count: String(queued.length) })]));
      });
    if (!device.appStateKeyShared) this.shareAppState(device, connection).catch((error: unknown) => this.log('app-state-error', { error: String(error) }));
  }

  // ---------------------------------------------------------------- app state (app-state.ts)

  /**
   * The phone's first words to a newly linked device: its app-state sync key, self-addressed and
   * encrypted like any message between the account's own devices; once the device has it, the server
   * tells it which collections to sync.
   */
  private async shareAppState(device: LinkedDevice, connection: EmulatorConnection): Promise<void> {
    const phone = device.account.devices.get(0);
    if (!phone) return;
    const id = this.newMessageId();
    const { type, ciphertext } = await this.encryptFromPhone(phone, device, device.account.appState.keyShareMessage());
    const self = pnJid(device.account.phone);
    connection.send(
      node('message', { from: self, id, t: String(Math.floor(Date.now() / 1000)), type: 'text', category: 'peer', sender_lid: lidJid(device.account.lid) }, [
        node('enc', { v: '2', type }, ciphertext),
      ]),
    );
    await connection.waitForReceipts([id], 5_000);
    if (!connection.isOpen) return;
    device.appStateKeyShared = true;
    for (const name of device.account.appState.writtenCollections) this.notifyCollectionChanged(device, name);
    this.log('app-state-shared', { phone: device.account.phone, deviceId: device.deviceId });
  }

  private notifyCollectionChanged(device: LinkedDevice, collection: string): void {
    if (!device.connection?.isOpen) return;
    device.connection.send(
      node('notification', { from: SERVER_JID, type: 'server_sync', id: this.newMessageId(), t: String(Math.floor(Date.now() / 1000)) }, [node('collection', { name: collection })]),
    );
  }

  /** The phone renames the account: WhatsApp syncs the new push name to every linked device. */
  async setPushName(phone: string, pushName: string): Promise<void> {
    const account = this.account(phone);
    account.pushName = pushName;
    const collection = await account.appState.setPushName(pushName);
    for (const device of account.companions.values()) if (device.appStateKeyShared && !device.loggedOut) this.notifyCollectionChanged(device, collection);
  }

  private async onAppStateSync(connection: EmulatorConnection, iq: BinaryNode): Promise<void> {
    const device = this.deviceOf(connection);
    if (!device) {
      connection.replyError(iq, 401, 'not-authorized');
      return;
    }
    const requested = children(child(iq, 'sync'), 'collection');
    const answers = await Promise.all(requested.map((collection) => device.account.appState.collectionNode(collection.attrs['name'] ?? '', Number(collection.attrs['version'] ?? 0) || 0)));
    connection.reply(iq, [node('sync', {}, answers)]);
  }

  private deviceOf(connection: EmulatorConnection): LinkedDevice | undefined {
    for (const account of this.accounts.values()) {
      for (const device of account.companions.values()) if (device.connection === connection) return device;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- pairing

  /** The phone scans a QR string the client emitted (`ref,noiseKey,identityKey,advSecret,platform`). */
  async scanQr(qr: string, phone: string): Promise<LinkedDevice> {
    const [ref, noiseKeyB64, identityKeyB64, advSecretB64] = qr.replace(/^.*#/, '').split(',');
    const registration = [...this.pending.values()].find((candidate) => candidate.refs.includes(ref ?? ''));
    if (!registration || !noiseKeyB64 || !identityKeyB64 || !advSecretB64) throw new Error('QR does not match a waiting client');
    if (!registration.noiseKey.equals(Buffer.from(noiseKeyB64, 'base64')) || !registration.identityKey.equals(Buffer.from(identityKeyB64, 'base64'))) {
      throw new Error('QR keys do not match the registering client');
    }
    return this.completePairing(registration, this.account(phone), Buffer.from(advSecretB64, 'base64'));
  }

  /**
   * The phone's owner types the code the client displayed. Resolves with the linked device once the
   * client finished the exchange; rejects when the code was wrong.
   */
  async enterPairingCode(phone: string, code: string, timeoutMs = 10_000): Promise<LinkedDevice> {
    const account = this.account(phone);
    const waitingClient = (): PendingRegistration | undefined =>
      [...this.pending.values()].find((candidate) => candidate.linkCode?.phone === phone && !candidate.linkCode.typed);
    // The client's request may still be on the wire when the code is typed.
    const deadline = Date.now() + Math.min(timeoutMs, 2_000);
    while (!waitingClient() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const registration = waitingClient();
    const linkCode = registration?.linkCode;
    if (!registration || !linkCode) throw new Error(`no client is waiting for a pairing code for ${phone}`);
    const normalized = code.replace(/[\s-]/g, '').toUpperCase();
    return new Promise<LinkedDevice>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the client did not finish pairing')), timeoutMs);
      const primaryEphemeral = Curve.generateKeyPair();
      linkCode.typed = {
        code: normalized,
        primaryEphemeral,
        account,
        done: (error, device) => {
          clearTimeout(timer);
          if (error || !device) reject(error ?? new Error('pairing failed'));
          else resolve(device);
        },
      };
      void (async () => {
        const salt = randomBytes(32);
        const iv = randomBytes(16);
        const wrapped = Buffer.concat([salt, iv, aesEncryptCTR(primaryEphemeral.public, await derivePairingCodeKey(normalized, salt), iv)]);
        registration.connection.send(
          node('notification', { from: SERVER_JID, type: 'link_code_companion_reg', id: this.newMessageId(), t: String(Math.floor(Date.now() / 1000)) }, [
            node('link_code_companion_reg', {}, [
              node('link_code_pairing_ref', {}, linkCode.ref),
              node('primary_identity_pub', {}, account.accountKey.public),
              node('link_code_pairing_wrapped_primary_ephemeral_pub', {}, wrapped),
            ]),
          ]),
        );
      })();
    });
  }

  /** `md` IQs of a registering client: `companion_hello` (asks for code pairing), `companion_finish`. */
  private async onLinkCodeIq(connection: EmulatorConnection, iq: BinaryNode, reg: BinaryNode): Promise<void> {
    const registration = this.pending.get(connection);
    if (!registration) {
      connection.replyError(iq, 400, 'bad-request');
      return;
    }
    if (reg.attrs['stage'] === 'companion_hello') {
      const phone = (reg.attrs['jid'] ?? '').replace(/@.*$/, '');
      registration.linkCode = { phone, ref: randomBytes(16), wrappedCompanionEphemeral: bytes(child(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub')) };
      connection.reply(iq, [node('link_code_companion_reg', {}, [node('link_code_pairing_ref', {}, registration.linkCode.ref)])]);
      this.log('pairing-code-requested', { phone });
      return;
    }
    const typed = registration.linkCode?.typed;
    if (reg.attrs['stage'] !== 'companion_finish' || !registration.linkCode || !typed) {
      connection.replyError(iq, 400, 'bad-request');
      return;
    }
    connection.reply(iq);
    try {
      const wrapped = registration.linkCode.wrappedCompanionEphemeral;
      const companionEphemeral = aesDecryptCTR(wrapped.subarray(48, 80), await derivePairingCodeKey(typed.code, wrapped.subarray(0, 32)), wrapped.subarray(32, 48));
      const companionShared = Curve.sharedKey(typed.primaryEphemeral.private, companionEphemeral);
      const bundle = bytes(child(reg, 'link_code_pairing_wrapped_key_bundle'));
      const bundleKey = hkdf(companionShared, 32, { salt: bundle.subarray(0, 32), info: 'link_code_pairing_key_bundle_encryption_key' });
      let payload: Buffer;
      try {
        payload = Buffer.from(aesDecryptGCM(bundle.subarray(44), bundleKey, bundle.subarray(32, 44), Buffer.alloc(0)));
      } catch {
        throw new Error('the pairing code did not match');
      }
      const companionIdentity = payload.subarray(0, 32);
      const random = payload.subarray(64, 96);
      if (!companionIdentity.equals(registration.identityKey)) throw new Error('the key bundle names another identity');
      const identityShared = Curve.sharedKey(typed.account.accountKey.private, companionIdentity);
      const advSecret = Buffer.from(hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: 'adv_secret' }));
      typed.done(undefined, await this.completePairing(registration, typed.account, advSecret));
    } catch (error) {
      typed.done(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async completePairing(registration: PendingRegistration, account: SimulatedAccount, advSecret: Buffer): Promise<LinkedDevice> {
    const deviceId = account.nextDeviceId++;
    const keyIndex = account.nextKeyIndex++;
    const details = proto.ADVDeviceIdentity.encode({ rawId: randomInt(1, 2 ** 31), timestamp: Math.floor(Date.now() / 1000), keyIndex }).finish();
    const accountSignature = Curve.sign(account.accountKey.private, Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, registration.identityKey]));
    const signedIdentity = proto.ADVSignedDeviceIdentity.encode({ details, accountSignatureKey: account.accountKey.public, accountSignature }).finish();
    const hmac = createHmac('sha256', advSecret).update(signedIdentity).digest();
    const identityWithHmac = proto.ADVSignedDeviceIdentityHMAC.encode({ details: signedIdentity, hmac }).finish();

    const answer = await registration.connection.query(
      node('iq', { from: SERVER_JID, type: 'set', xmlns: 'md' }, [
        node('pair-success', {}, [
          node('device-identity', {}, identityWithHmac),
          node('platform', { name: 'android' }),
          node('device', { jid: pnJid(account.phone, deviceId), lid: lidJid(account.lid, deviceId) }),
        ]),
      ]),
    );
    const signedByDevice = bytes(child(child(answer, 'pair-device-sign'), 'device-identity'));
    const returned = proto.ADVSignedDeviceIdentity.decode(signedByDevice);
    const deviceSignatureValid =
      returned.deviceSignature !== null &&
      returned.deviceSignature !== undefined &&
      Curve.verify(
        registration.identityKey,
        Buffer.concat([WA_ADV_DEVICE_SIG_PREFIX, details, registration.identityKey, account.accountKey.public]),
        Buffer.from(returned.deviceSignature),
      );
    if (!deviceSignatureValid) throw new Error('the client did not sign its device identity');

    const device: LinkedDevice = {
      account,
      deviceId,
      noiseKey: registration.noiseKey,
      identityKey: registration.identityKey,
      registrationId: registration.registrationId,
      signedPreKey: registration.signedPreKey,
      preKeys: new Map(),
      keyIndex,
      connection: null,
      loggedOut: false,
      appStateKeyShared: false,
    };
    account.companions.set(deviceId, device);
    this.pending.delete(registration.connection);
    this.log('paired', { phone: account.phone, deviceId });
    // Like WhatsApp: the freshly paired client must reconnect and log in.
    registration.connection.endWithStreamError({ code: '515' });
    return device;
  }

  // ---------------------------------------------------------------- stanzas from clients

  private onNode(connection: EmulatorConnection, stanza: BinaryNode): void {
    switch (stanza.tag) {
      case 'iq':
        this.onIq(connection, stanza);
        return;
      case 'message': {
        // One socket's messages are relayed in the order they came, as WhatsApp does: a group message's
        // sender key travels in the first, and the next ones are readable only after it.
        const previous = this.relayQueues.get(connection) ?? Promise.resolve();
        const relayed = previous.then(() => this.onClientMessage(connection, stanza)).catch((error: unknown) => this.log('message-error', { error: String(error) }));
        this.relayQueues.set(connection, relayed);
        return;
      }
      case 'receipt':
        connection.noteReceipt(stanza);
        connection.send(node('ack', { id: stanza.attrs['id'] ?? '', class: stanza.tag, from: stanza.attrs['to'] ?? SERVER_JID }));
        return;
      case 'notification':
        connection.send(node('ack', { id: stanza.attrs['id'] ?? '', class: stanza.tag, from: stanza.attrs['to'] ?? SERVER_JID }));
        return;
      default:
        this.log('unhandled', { tag: stanza.tag, attrs: stanza.attrs });
    }
  }

  private onIq(connection: EmulatorConnection, iq: BinaryNode): void {
    const xmlns = iq.attrs['xmlns'];
    const first = children(iq)[0];
    if (xmlns === 'encrypt') {
      this.onEncryptIq(connection, iq, first);
      return;
    }
    const removal = child(iq, 'remove-companion-device');
    if (xmlns === 'md' && removal) {
      // The client unlinks itself (logout): its creds never log in again.
      const device = this.deviceOf(connection);
      if (device) device.loggedOut = true;
      this.log('unlinked', { phone: device?.account.phone, deviceId: device?.deviceId });
      connection.reply(iq);
      return;
    }
    const linkCodeReg = child(iq, 'link_code_companion_reg');
    if (xmlns === 'md' && linkCodeReg) {
      this.onLinkCodeIq(connection, iq, linkCodeReg).catch((error: unknown) => this.log('link-code-error', { error: String(error) }));
      return;
    }
    if (xmlns === 'w:g2') {
      const group = this.groups.get(iq.attrs['to'] ?? '');
      if (group) connection.reply(iq, [this.groupNode(group)]);
      else connection.replyError(iq, 404, 'item-not-found');
      return;
    }
    if (xmlns === 'usync') {
      this.onUsync(connection, iq);
      return;
    }
    if (xmlns === 'w:sync:app:state') {
      this.onAppStateSync(connection, iq).catch((error: unknown) => this.log('app-state-error', { error: String(error) }));
      return;
    }
    if (xmlns === 'w:p' || xmlns === 'passive') {
      connection.reply(iq);
      return;
    }
    this.log('iq-default', { xmlns, child: first?.tag, type: iq.attrs['type'] });
    connection.reply(iq);
  }

  /** Device lists and LIDs of the users a client asks about. */
  private onUsync(connection: EmulatorConnection, iq: BinaryNode): void {
    const usync = child(iq, 'usync');
    const users = children(child(usync, 'list'), 'user');
    const result = users.map((user) => {
      const jid = user.attrs['jid'] ?? '';
      const found = this.resolveJid(jid);
      if (!found) return node('user', { jid }, [node('devices', {}, [node('device-list', {}, [])])]);
      const { account } = found;
      const deviceNodes = [
        ...[...account.devices.keys()].map((id) => node('device', { id: String(id), ...(id === 0 ? {} : { 'key-index': String(id) }) })),
        ...[...account.companions.values()].filter((device) => !device.loggedOut).map((device) => node('device', { id: String(device.deviceId), 'key-index': String(device.keyIndex) })),
      ];
      // The PN→LID mapping only for users asked for by phone number.
      const lid = jid.endsWith('@s.whatsapp.net') ? [node('lid', { val: lidJid(account.lid) })] : [];
      return node('user', { jid }, [node('devices', {}, [node('device-list', {}, deviceNodes)]), ...lid]);
    });
    connection.reply(iq, [node('usync', { sid: usync?.attrs['sid'] ?? '', mode: 'query', last: 'true', index: '0', context: usync?.attrs['context'] ?? 'message' }, [node('list', {}, result)])]);
  }

  private async onKeyFetch(connection: EmulatorConnection, iq: BinaryNode, keyNode: BinaryNode): Promise<void> {
    const bundles: BinaryNode[] = [];
    for (const user of children(keyNode, 'user')) {
      const jid = user.attrs['jid'] ?? '';
      const found = this.resolveJid(jid);
      const simulated = found?.account.devices.get(found.deviceId);
      if (simulated) {
        bundles.push(await simulated.bundleNode(jid));
        continue;
      }
      const linked = found?.account.companions.get(found.deviceId);
      if (linked) {
        bundles.push(bundleToNode(jid, takeLinkedBundle(linked)));
        continue;
      }
      bundles.push(node('user', { jid }, [node('error', { code: '404', text: 'item-not-found' })]));
    }
    connection.reply(iq, [node('list', {}, bundles)]);
  }

  /** A client's outgoing message: every `enc` for a simulated device is decrypted and recorded. */
  private async onClientMessage(connection: EmulatorConnection, stanza: BinaryNode): Promise<void> {
    const sender = this.deviceOf(connection);
    const id = stanza.attrs['id'] ?? '';
    const chat = stanza.attrs['to'] ?? '';
    if (!sender) return;
    const senderJid = lidJid(sender.account.lid, sender.deviceId);
    const errorAck = this.errorAcks.get(sender.account.phone);
    if (errorAck !== undefined) {
      this.errorAcks.delete(sender.account.phone);
      connection.send(node('ack', { class: 'message', id, from: chat, t: String(Math.floor(Date.now() / 1000)), error: String(errorAck) }));
      this.log('message-error-ack', { id, error: errorAck });
      return;
    }
    const acceptedKey = `${senderJid}|${id}`;
    if (this.accepted.has(acceptedKey)) {
      this.log('duplicate-dropped', { id, from: senderJid });
      connection.send(node('ack', { class: 'message', id, from: chat, t: String(Math.floor(Date.now() / 1000)) }));
      return;
    }
    this.accepted.add(acceptedKey);
    const record = (phone: string, deviceId: number, message: proto.IMessage): void => {
      const received: ReceivedMessage = { to: { phone, deviceId }, from: senderJid, chat, id, edit: stanza.attrs['edit'], message };
      this.inbox.push(received);
      this.emit('received', received);
    };
    const undecryptable = (phone: string, deviceId: number, error: unknown): void => {
      const failed: UndecryptableMessage = { to: { phone, deviceId }, from: senderJid, chat, id, error: String(error) };
      this.undecryptableInbox.push(failed);
      this.log('decrypt-failed', { ...failed });
    };
    let decryptedAll = true;
    const group = this.groups.get(chat);
    for (const to of children(child(stanza, 'participants'), 'to')) {
      const target = this.resolveJid(to.attrs['jid'] ?? '');
      const device = target?.account.devices.get(target.deviceId);
      const enc = child(to, 'enc');
      if (!target || !device || !enc) continue;
      const type = enc.attrs['type'] === 'pkmsg' ? 'pkmsg' : 'msg';
      try {
        const message = await device.decrypt(senderJid, type, bytes(enc));
        const distribution = message.senderKeyDistributionMessage?.axolotlSenderKeyDistributionMessage;
        if (group && distribution) await device.acceptSenderKey(chat, senderJid, distribution);
        // In a group the 1:1 part only carries the sender key; the content is the shared skmsg below.
        if (!group) record(target.account.phone, target.deviceId, message);
      } catch (error) {
        decryptedAll = false;
        undecryptable(target.account.phone, target.deviceId, error);
      }
    }
    const groupCiphertext = children(stanza, 'enc').find((enc) => enc.attrs['type'] === 'skmsg');
    if (group && groupCiphertext) {
      for (const phone of group.members.keys()) {
        for (const device of this.account(phone).devices.values()) {
          try {
            record(phone, device.deviceId, await device.decryptGroup(chat, senderJid, bytes(groupCiphertext)));
          } catch (error) {
            decryptedAll = false;
            undecryptable(phone, device.deviceId, error);
          }
        }
      }
    }
    // The server cannot read what it relays; this one can, and leaves a stanza some device could not
    // decrypt unacknowledged, so that a client waiting for the ack never takes it for delivered (a real
    // recipient would ask for a retry). The same id sent again is then relayed again.
    if (!decryptedAll) {
      this.accepted.delete(acceptedKey);
      return;
    }
    connection.send(node('ack', { class: 'message', id, from: chat, t: String(Math.floor(Date.now() / 1000)) }));
  }

  private onEncryptIq(connection: EmulatorConnection, iq: BinaryNode, first: BinaryNode | undefined): void {
    if (first?.tag === 'key') {
      this.onKeyFetch(connection, iq, first).catch((error: unknown) => this.log('key-fetch-error', { error: String(error) }));
      return;
    }
    const device = this.deviceOf(connection);
    if (first?.tag === 'count') {
      connection.reply(iq, [node('count', { value: String(device?.preKeys.size ?? 0) })]);
      return;
    }
    if (first?.tag === 'digest') {
      connection.reply(iq, [node('digest', {})]);
      return;
    }
    const list = child(iq, 'list');
    if (list && device) {
      for (const key of children(list, 'key')) device.preKeys.set(uintBE(bytes(child(key, 'id'))), bytes(child(key, 'value')));
      this.log('prekeys-uploaded', { deviceId: device.deviceId, count: device.preKeys.size });
    }
    connection.reply(iq);
  }
}
