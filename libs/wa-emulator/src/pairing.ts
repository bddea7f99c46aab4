import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { aesDecryptCTR, aesDecryptGCM, aesEncryptCTR, Curve, derivePairingCodeKey, hkdf, proto, WA_ADV_ACCOUNT_SIG_PREFIX, WA_ADV_DEVICE_SIG_PREFIX } from '@whiskeysockets/baileys';
import { lidJid, pnJid, type LinkedDevice, type SimulatedAccount } from './accounts.js';
import { bytes, child, node, SERVER_JID, uintBE, type BinaryNode } from './binary-node.js';
import type { KeyPair } from './certificates.js';
import type { EmulatorDirectory } from './directory.js';
import type { EmulatorConnection } from './emulator-connection.js';

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

/**
 * Linking a new client to an account, as the phone and WhatsApp do it: by QR (the phone scans the
 * refs the server offered) or by pairing code (typed on the phone), then the ADV device identity the
 * account signs, the client's countersignature, and the restart (515) after which it logs in.
 */
export class Pairing {
  private readonly pending = new Map<EmulatorConnection, PendingRegistration>();

  constructor(private readonly directory: EmulatorDirectory) {}

  /**
   * A client that came to register (its payload carries pairing data): the server offers QR refs and
   * waits for the phone to scan one or type a code. False for a client that came to log in.
   */
  register(connection: EmulatorConnection, noiseKey: Buffer, payload: proto.ClientPayload): boolean {
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
      this.directory.log('registration', { connection: connection.id });
      connection
        .query(node('iq', { from: SERVER_JID, type: 'set', xmlns: 'md' }, [node('pair-device', {}, registration.refs.map((ref) => node('ref', {}, Buffer.from(ref))))]))
        .catch(() => undefined);
      return true;
    }
    return false;
  }

  /** The socket of a registration closed: it can no longer be paired. */
  forget(connection: EmulatorConnection): void {
    this.pending.delete(connection);
  }

  /** The phone scans a QR string the client emitted (`ref,noiseKey,identityKey,advSecret,platform`). */
  async scanQr(qr: string, phone: string): Promise<LinkedDevice> {
    const [ref, noiseKeyB64, identityKeyB64, advSecretB64] = qr.replace(/^.*#/, '').split(',');
    const registration = [...this.pending.values()].find((candidate) => candidate.refs.includes(ref ?? ''));
    if (!registration || !noiseKeyB64 || !identityKeyB64 || !advSecretB64) throw new Error('QR does not match a waiting client');
    if (!registration.noiseKey.equals(Buffer.from(noiseKeyB64, 'base64')) || !registration.identityKey.equals(Buffer.from(identityKeyB64, 'base64'))) {
      throw new Error('QR keys do not match the registering client');
    }
    return this.completePairing(registration, this.directory.account(phone), Buffer.from(advSecretB64, 'base64'));
  }

  /**
   * The phone's owner types the code the client displayed. Resolves with the linked device once the
   * client finished the exchange; rejects when the code was wrong.
   */
  async enterPairingCode(phone: string, code: string, timeoutMs = 10_000): Promise<LinkedDevice> {
    const account = this.directory.account(phone);
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
          node('notification', { from: SERVER_JID, type: 'link_code_companion_reg', id: this.directory.newMessageId(), t: String(Math.floor(Date.now() / 1000)) }, [
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
  async onLinkCodeIq(connection: EmulatorConnection, iq: BinaryNode, reg: BinaryNode): Promise<void> {
    const registration = this.pending.get(connection);
    if (!registration) {
      connection.replyError(iq, 400, 'bad-request');
      return;
    }
    if (reg.attrs['stage'] === 'companion_hello') {
      const phone = (reg.attrs['jid'] ?? '').replace(/@.*$/, '');
      registration.linkCode = { phone, ref: randomBytes(16), wrappedCompanionEphemeral: bytes(child(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub')) };
      connection.reply(iq, [node('link_code_companion_reg', {}, [node('link_code_pairing_ref', {}, registration.linkCode.ref)])]);
      this.directory.log('pairing-code-requested', { phone });
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
    this.directory.log('paired', { phone: account.phone, deviceId });
    // Like WhatsApp: the freshly paired client must reconnect and log in.
    registration.connection.endWithStreamError({ code: '515' });
    return device;
  }
}
