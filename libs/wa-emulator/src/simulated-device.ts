import { pino } from 'pino';
import {
  addTransactionCapability,
  Curve,
  encodeWAMessage,
  DEFAULT_CONNECTION_CONFIG,
  proto,
  unpadRandomMax16,
  type SignalRepositoryWithLIDStore,
} from '@whiskeysockets/baileys';
import { node, toBE, type BinaryNode } from './binary-node.js';
import { createMemoryAuthState, type MemoryAuthState } from './memory-auth-state.js';

const silent = pino({ level: 'silent' });

export interface PreKeyBundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  preKey?: { keyId: number; publicKey: Buffer };
}

/**
 * A device the emulator plays (an account's phone, or another of its devices): a real Signal identity
 * and store, built with Baileys' own repository, so it decrypts exactly what a client encrypted to it
 * and encrypts what the client must decrypt.
 */
export class SimulatedDevice {
  readonly auth: MemoryAuthState = createMemoryAuthState();
  readonly signal: SignalRepositoryWithLIDStore;
  private nextPreKeyId = 1;

  constructor(
    readonly phone: string,
    readonly lid: string,
    readonly deviceId: number,
  ) {
    const keys = addTransactionCapability(this.auth.state.keys, silent, { maxCommitRetries: 3, delayBetweenTriesMs: 10 });
    this.signal = DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds: this.auth.state.creds, keys }, silent);
  }

  get pnJid(): string {
    return this.deviceId === 0 ? `${this.phone}@s.whatsapp.net` : `${this.phone}:${this.deviceId}@s.whatsapp.net`;
  }

  get lidJid(): string {
    return this.deviceId === 0 ? `${this.lid}@lid` : `${this.lid}:${this.deviceId}@lid`;
  }

  /** A fresh one-time pre-key with every bundle, as WhatsApp hands out one per fetch. */
  async bundle(): Promise<PreKeyBundle> {
    const creds = this.auth.state.creds;
    const keyId = this.nextPreKeyId++;
    const preKey = Curve.generateKeyPair();
    await this.auth.state.keys.set({ 'pre-key': { [keyId]: preKey } });
    return {
      registrationId: creds.registrationId,
      identityKey: Buffer.from(creds.signedIdentityKey.public),
      signedPreKey: { keyId: creds.signedPreKey.keyId, publicKey: Buffer.from(creds.signedPreKey.keyPair.public), signature: Buffer.from(creds.signedPreKey.signature) },
      preKey: { keyId, publicKey: Buffer.from(preKey.public) },
    };
  }

  async bundleNode(jid: string): Promise<BinaryNode> {
    return bundleToNode(jid, await this.bundle());
  }

  /** Decrypts a 1:1 `enc` addressed to this device. */
  async decrypt(senderJid: string, type: 'pkmsg' | 'msg', ciphertext: Uint8Array): Promise<proto.IMessage> {
    const padded = await this.signal.decryptMessage({ jid: senderJid, type, ciphertext });
    return proto.Message.decode(unpadRandomMax16(padded));
  }

  /** Takes a sender key a client distributed for a group, then decrypts its `skmsg`. */
  async acceptSenderKey(group: string, authorJid: string, distribution: Uint8Array): Promise<void> {
    await this.signal.processSenderKeyDistributionMessage({
      authorJid,
      item: { groupId: group, axolotlSenderKeyDistributionMessage: distribution },
    });
  }

  async decryptGroup(group: string, authorJid: string, ciphertext: Uint8Array): Promise<proto.IMessage> {
    const padded = await this.signal.decryptGroupMessage({ group, authorJid, msg: ciphertext });
    return proto.Message.decode(unpadRandomMax16(padded));
  }

  /** Encrypts for a whole group with this device's sender key; returns the key's distribution message too. */
  async encryptForGroup(group: string, message: proto.IMessage): Promise<{ senderKeyDistributionMessage: Uint8Array; ciphertext: Uint8Array }> {
    return this.signal.encryptGroupMessage({ group, meId: this.lidJid, data: encodeWAMessage(message) });
  }

  async encryptTo(recipientJid: string, message: proto.IMessage): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Uint8Array }> {
    return this.signal.encryptMessage({ jid: recipientJid, data: encodeWAMessage(message) });
  }
}

export function bundleToNode(jid: string, bundle: PreKeyBundle): BinaryNode {
  return node('user', { jid }, [
    node('registration', {}, toBE(bundle.registrationId, 4)),
    node('type', {}, Buffer.from([5])),
    node('identity', {}, bundle.identityKey),
    node('skey', {}, [
      node('id', {}, toBE(bundle.signedPreKey.keyId, 3)),
      node('value', {}, bundle.signedPreKey.publicKey),
      node('signature', {}, bundle.signedPreKey.signature),
    ]),
    ...(bundle.preKey ? [node('key', {}, [node('id', {}, toBE(bundle.preKey.keyId, 3)), node('value', {}, bundle.preKey.publicKey)])] : []),
  ]);
}
