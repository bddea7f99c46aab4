import { generateSignalPubKey, proto } from '@whiskeysockets/baileys';
import { lidJid, pnJid, takeLinkedBundle, type LinkedDevice } from './accounts.js';
import { bytes, child, children, node, type BinaryNode } from './binary-node.js';
import type { EmulatorDirectory } from './directory.js';
import type { EmulatorConnection } from './emulator-connection.js';
import type { SimulatedDevice } from './simulated-device.js';

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

/** What a phone's receipt says: the message reached it, was read, or (a voice note) was played. */
export type ReceiptType = 'delivery' | 'read' | 'played';

/** A receipt a client sent about messages of a simulated account (e.g. "read", after the gateway marked them so). */
export interface ClientReceipt {
  /** The account whose linked client sent it. */
  by: string;
  /** The account the receipt is addressed to: the messages' author. */
  to: string;
  /** As the client sent it: absent for a delivery receipt; `read`, `read-self`, `played`, … */
  type: string | undefined;
  messageIds: string[];
}

/** A stanza a simulated device could not decrypt (e.g. a Signal counter its sender had used already). */
export interface UndecryptableMessage {
  to: { phone: string; deviceId: number };
  from: string;
  chat: string;
  id: string;
  error: string;
}

/**
 * Messages between the emulated phones and the real clients: what a simulated account sends is
 * encrypted to each linked device of its peer (queued for one that is offline); what a client sends is
 * decrypted by the simulated devices it was addressed to and recorded, then acknowledged like WhatsApp
 * does (or not, when a device could not read it).
 */
export class MessageRelay {
  private readonly inbox: ReceivedMessage[] = [];
  private readonly undecryptableInbox: UndecryptableMessage[] = [];
  private readonly clientReceipts: ClientReceipt[] = [];
  /** The last message relayed for each socket: the next one waits for it. */
  private readonly relayQueues = new WeakMap<EmulatorConnection, Promise<void>>();
  /** Stanzas for linked devices that were offline, delivered at their next login (like WhatsApp's offline queue). */
  private readonly offlineQueue = new Map<LinkedDevice, BinaryNode[]>();
  /** `senderDevice|messageId` of every message accepted: a re-sent id is acknowledged, not delivered twice. */
  private readonly accepted = new Set<string>();
  /** Accounts whose next messages get an error ack (failure injection). */
  private readonly errorAcks = new Map<string, number>();

  constructor(
    private readonly directory: EmulatorDirectory,
    private readonly onReceived: (message: ReceivedMessage) => void,
  ) {}

  /** What simulated devices of `phone` received, decrypted, oldest first. */
  received(phone: string): ReceivedMessage[] {
    return this.inbox.filter((message) => message.to.phone === phone);
  }

  /** Stanzas the simulated devices of `phone` could not decrypt, oldest first: each one a message lost. */
  undecryptable(phone: string): UndecryptableMessage[] {
    return this.undecryptableInbox.filter((message) => message.to.phone === phone);
  }

  /** Receipts linked clients sent about messages `phone` wrote, oldest first. */
  receiptsFor(phone: string): ClientReceipt[] {
    return this.clientReceipts.filter((receipt) => receipt.to === phone);
  }

  /** Records a receipt a client sent about a simulated account's messages (WhatsApp would relay it to that account's phone). */
  noteClientReceipt(connection: EmulatorConnection, stanza: BinaryNode): void {
    const sender = this.directory.deviceOf(connection);
    const to = this.directory.resolveJid(stanza.attrs['to'] ?? '')?.account;
    const first = stanza.attrs['id'];
    if (!sender || !to || first === undefined) return;
    const listed = children(child(stanza, 'list'), 'item').map((item) => item.attrs['id'] ?? '');
    this.clientReceipts.push({ by: sender.account.phone, to: to.phone, type: stanza.attrs['type'], messageIds: [first, ...listed] });
  }

  /** The next message a client sends from `phone`'s linked device is answered with `error` (e.g. 463). */
  failNextMessage(phone: string, error: number): void {
    this.errorAcks.set(phone, error);
  }

  /** A simulated account sends a text to another account's linked clients; returns the message id. */
  async peerSendText(options: { from: string; to: string; text: string; id?: string }): Promise<string> {
    const id = options.id ?? this.directory.newMessageId();
    await this.deliverFromPeer(options.from, options.to, id, { conversation: options.text }, {});
    return id;
  }

  /** A simulated account sends any message (e.g. an attachment it uploaded) to another account's linked clients. */
  async peerSendMessage(options: { from: string; to: string; message: proto.IMessage; attrs?: Record<string, string> }): Promise<string> {
    const id = this.directory.newMessageId();
    await this.deliverFromPeer(options.from, options.to, id, options.message, options.attrs ?? {});
    return id;
  }

  /**
   * A simulated account reacts to a message of the chat with `to` (`fromMe`: one the account wrote
   * itself; else one `to`'s client sent); an empty emoji takes the reaction back. Returns the reaction's id.
   */
  async peerReact(options: { from: string; to: string; messageId: string; emoji: string; fromMe?: boolean }): Promise<string> {
    const id = this.directory.newMessageId();
    const message: proto.IMessage = {
      reactionMessage: { key: { remoteJid: pnJid(options.to), fromMe: options.fromMe === true, id: options.messageId }, text: options.emoji, senderTimestampMs: Date.now() },
    };
    await this.deliverFromPeer(options.from, options.to, id, message, {});
    return id;
  }

  /** A simulated account edits the text of a message it sent earlier (WhatsApp's `edit="1"`). Returns the edit's id. */
  async peerEdit(options: { from: string; to: string; messageId: string; text: string }): Promise<string> {
    const id = this.directory.newMessageId();
    const message: proto.IMessage = {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
        key: { remoteJid: pnJid(options.to), fromMe: true, id: options.messageId },
        editedMessage: { conversation: options.text },
        timestampMs: Date.now(),
      },
    };
    await this.deliverFromPeer(options.from, options.to, id, message, { edit: '1' });
    return id;
  }

  /** A simulated account revokes (deletes for everyone) a message it sent earlier. */
  async peerRevoke(options: { from: string; to: string; messageId: string }): Promise<string> {
    const id = this.directory.newMessageId();
    const message: proto.IMessage = {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.REVOKE,
        key: { remoteJid: pnJid(options.to), fromMe: true, id: options.messageId },
      },
    };
    await this.deliverFromPeer(options.from, options.to, id, message, { edit: '7' });
    return id;
  }

  /**
   * A simulated account's phone receipts messages a linked client of `to` sent it (in `group`, when
   * given: as one member), as WhatsApp relays receipts: one `<receipt>` naming the first id, the rest in its `<list>`, to every linked device of
   * the sender (queued for one that is offline).
   */
  peerReceipt(options: { from: string; to: string; messageIds: string[]; type: ReceiptType; group?: string | undefined }): void {
    const [first, ...rest] = options.messageIds;
    if (first === undefined) throw new Error('a receipt needs at least one message id');
    const sender = this.directory.account(options.from);
    const recipients = [...this.directory.account(options.to).companions.values()].filter((device) => !device.loggedOut);
    if (recipients.length === 0) throw new Error(`account ${options.to} has no linked device`);
    if (options.group !== undefined && !this.directory.groups.get(options.group)?.members.has(options.from)) throw new Error(`${options.from} is not in ${options.group}`);
    // In a group the receipt comes from the group, naming the member (by LID, as the group addresses it).
    const origin: Record<string, string> = options.group === undefined ? { from: pnJid(sender.phone) } : { from: options.group, participant: lidJid(sender.lid) };
    const stanza = node(
      'receipt',
      { ...origin, id: first, t: String(Math.floor(Date.now() / 1000)), ...(options.type === 'delivery' ? {} : { type: options.type }) },
      rest.length === 0 ? undefined : [node('list', {}, rest.map((id) => node('item', { id })))],
    );
    for (const device of recipients) this.deliverToLinked(device, stanza);
  }

  /** A member's phone writes to a group: every linked client of the other members gets it. */
  async peerSendGroupText(options: { from: string; group: string; text: string; id?: string }): Promise<string> {
    const id = options.id ?? this.directory.newMessageId();
    await this.deliverGroupFromPeer(options.from, options.group, id, { conversation: options.text }, {});
    return id;
  }

  private async deliverGroupFromPeer(fromPhone: string, groupJid: string, id: string, message: proto.IMessage, extraAttrs: Record<string, string>): Promise<void> {
    const group = this.directory.groups.get(groupJid);
    if (!group?.members.has(fromPhone)) throw new Error(`${fromPhone} is not in ${groupJid}`);
    const sender = this.directory.account(fromPhone);
    const phone = sender.devices.get(0);
    if (!phone) throw new Error(`account ${fromPhone} has no phone device`);
    const { senderKeyDistributionMessage, ciphertext } = await phone.encryptForGroup(groupJid, message);
    const distribution: proto.IMessage = { senderKeyDistributionMessage: { groupId: groupJid, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage } };
    for (const memberPhone of group.members.keys()) {
      if (memberPhone === fromPhone) continue;
      for (const device of this.directory.account(memberPhone).companions.values()) {
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
  async encryptFromPhone(phone: SimulatedDevice, device: LinkedDevice, message: proto.IMessage): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Uint8Array }> {
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

  private async deliverFromPeer(fromPhone: string, toPhone: string, id: string, message: proto.IMessage, extraAttrs: Record<string, string>): Promise<void> {
    const sender = this.directory.account(fromPhone);
    const phone = sender.devices.get(0);
    if (!phone) throw new Error(`account ${fromPhone} has no phone device`);
    const recipients = [...this.directory.account(toPhone).companions.values()].filter((device) => !device.loggedOut);
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

  /**
   * A client's outgoing message. One socket's messages are relayed in the order they came, as WhatsApp
   * does: a group message's sender key travels in the first, and the next ones are readable only after it.
   */
  relay(connection: EmulatorConnection, stanza: BinaryNode): void {
    const previous = this.relayQueues.get(connection) ?? Promise.resolve();
    const relayed = previous.then(() => this.onClientMessage(connection, stanza)).catch((error: unknown) => this.directory.log('message-error', { error: String(error) }));
    this.relayQueues.set(connection, relayed);
  }

  /** Stanzas queued for `device` while it was offline, handed over (and forgotten here) at its login. */
  takeOffline(device: LinkedDevice): BinaryNode[] {
    const queued = this.offlineQueue.get(device) ?? [];
    this.offlineQueue.delete(device);
    return queued;
  }

  /** A client's outgoing message: every `enc` for a simulated device is decrypted and recorded. */
  private async onClientMessage(connection: EmulatorConnection, stanza: BinaryNode): Promise<void> {
    const sender = this.directory.deviceOf(connection);
    const id = stanza.attrs['id'] ?? '';
    const chat = stanza.attrs['to'] ?? '';
    if (!sender) return;
    const senderJid = lidJid(sender.account.lid, sender.deviceId);
    const errorAck = this.errorAcks.get(sender.account.phone);
    if (errorAck !== undefined) {
      this.errorAcks.delete(sender.account.phone);
      connection.send(node('ack', { class: 'message', id, from: chat, t: String(Math.floor(Date.now() / 1000)), error: String(errorAck) }));
      this.directory.log('message-error-ack', { id, error: errorAck });
      return;
    }
    const acceptedKey = `${senderJid}|${id}`;
    if (this.accepted.has(acceptedKey)) {
      this.directory.log('duplicate-dropped', { id, from: senderJid });
      connection.send(node('ack', { class: 'message', id, from: chat, t: String(Math.floor(Date.now() / 1000)) }));
      return;
    }
    this.accepted.add(acceptedKey);
    const record = (phone: string, deviceId: number, message: proto.IMessage): void => {
      const received: ReceivedMessage = { to: { phone, deviceId }, from: senderJid, chat, id, edit: stanza.attrs['edit'], message };
      this.inbox.push(received);
      this.onReceived(received);
    };
    const undecryptable = (phone: string, deviceId: number, error: unknown): void => {
      const failed: UndecryptableMessage = { to: { phone, deviceId }, from: senderJid, chat, id, error: String(error) };
      this.undecryptableInbox.push(failed);
      this.directory.log('decrypt-failed', { ...failed });
    };
    let decryptedAll = true;
    const group = this.directory.groups.get(chat);
    for (const to of children(child(stanza, 'participants'), 'to')) {
      const target = this.directory.resolveJid(to.attrs['jid'] ?? '');
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
        for (const device of this.directory.account(phone).devices.values()) {
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
}
