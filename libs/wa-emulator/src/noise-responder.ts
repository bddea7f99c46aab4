import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { Curve, NOISE_MODE, NOISE_WA_HEADER, proto } from '@whiskeysockets/baileys';
import type { KeyPair } from './certificates.js';

const EMPTY = Buffer.alloc(0);
const TAG_LENGTH = 16;

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function iv(counter: number): Buffer {
  const buffer = Buffer.alloc(12);
  buffer.writeUInt32BE(counter, 8);
  return buffer;
}

function gcmEncrypt(key: Uint8Array, counter: number, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv(counter));
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function gcmDecrypt(key: Uint8Array, counter: number, aad: Uint8Array, ciphertext: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv(counter));
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LENGTH));
  return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_LENGTH)), decipher.final()]);
}

function hkdf(input: Uint8Array, salt: Uint8Array): [Buffer, Buffer] {
  const key = Buffer.from(hkdfSync('sha256', input, salt, EMPTY, 64));
  return [key.subarray(0, 32), key.subarray(32)];
}

/** Keys of an established Noise session, seen from the server: it decrypts with the first split half. */
export class NoiseTransport {
  private readCounter = 0;
  private writeCounter = 0;

  constructor(
    private readonly decryptKey: Buffer,
    private readonly encryptKey: Buffer,
  ) {}

  encrypt(plaintext: Uint8Array): Buffer {
    return gcmEncrypt(this.encryptKey, this.writeCounter++, EMPTY, plaintext);
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    return gcmDecrypt(this.decryptKey, this.readCounter++, EMPTY, ciphertext);
  }
}

export interface HandshakeResult {
  transport: NoiseTransport;
  /** The client's static noise key: identifies the linked device across connections. */
  clientStaticKey: Buffer;
  clientPayload: proto.ClientPayload;
}

/**
 * The responder side of WhatsApp's Noise XX handshake (`Noise_XX_25519_AESGCM_SHA256`), mirroring
 * Baileys' initiator step for step: one counter serves both directions until the split and restarts at
 * every key mix; the handshake hash is the AAD.
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private readonly ephemeral: KeyPair = Curve.generateKeyPair();
  private clientEphemeral: Buffer = EMPTY;

  constructor(
    private readonly serverStatic: KeyPair,
    private readonly certChain: Uint8Array,
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(NOISE_WA_HEADER);
  }

  private authenticate(data: Uint8Array): void {
    this.hash = sha256(this.hash, data);
  }

  private mixIntoKey(material: Uint8Array): void {
    const [write, read] = hkdf(material, this.salt);
    this.salt = write;
    this.key = read;
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const ciphertext = gcmEncrypt(this.key, this.counter++, this.hash, plaintext);
    this.authenticate(ciphertext);
    return ciphertext;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const plaintext = gcmDecrypt(this.key, this.counter++, this.hash, ciphertext);
    this.authenticate(ciphertext);
    return plaintext;
  }

  /** Answers the client hello with the server hello (ephemeral, encrypted static, encrypted cert chain). */
  respondToHello(clientHelloFrame: Uint8Array): Uint8Array {
    const hello = proto.HandshakeMessage.decode(clientHelloFrame).clientHello;
    if (!hello?.ephemeral || hello.ephemeral.length !== 32) throw new Error('client hello without a 32-byte ephemeral key');
    this.clientEphemeral = Buffer.from(hello.ephemeral);
    this.authenticate(this.clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, this.clientEphemeral));
    const encryptedStatic = this.encrypt(this.serverStatic.public);
    this.mixIntoKey(Curve.sharedKey(this.serverStatic.private, this.clientEphemeral));
    const encryptedCertChain = this.encrypt(this.certChain);
    return proto.HandshakeMessage.encode({
      serverHello: { ephemeral: this.ephemeral.public, static: encryptedStatic, payload: encryptedCertChain },
    }).finish();
  }

  /** Reads the client finish (its static key and `ClientPayload`) and splits into transport keys. */
  finish(clientFinishFrame: Uint8Array): HandshakeResult {
    const finish = proto.HandshakeMessage.decode(clientFinishFrame).clientFinish;
    if (!finish?.static || !finish.payload) throw new Error('client finish without static key or payload');
    const clientStaticKey = this.decrypt(finish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStaticKey));
    const clientPayload = proto.ClientPayload.decode(this.decrypt(finish.payload));
    const [first, second] = hkdf(EMPTY, this.salt);
    return { transport: new NoiseTransport(first, second), clientStaticKey, clientPayload };
  }
}
