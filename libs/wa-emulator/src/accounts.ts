import { Curve } from '@whiskeysockets/baileys';
import { PhoneAppState } from './app-state.js';
import type { KeyPair } from './certificates.js';
import type { EmulatorConnection } from './emulator-connection.js';
import { SimulatedDevice, type PreKeyBundle } from './simulated-device.js';

export interface SignedPreKey {
  id: number;
  publicKey: Buffer;
  signature: Buffer;
}

/** A companion (e.g. our gateway's Baileys socket) linked to an account. */
export interface LinkedDevice {
  account: SimulatedAccount;
  deviceId: number;
  /** The client's static noise key: how the emulator recognises the device at login. */
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: SignedPreKey;
  /** One-time pre-keys the device uploaded, consumed one per new Signal session. */
  preKeys: Map<number, Buffer>;
  keyIndex: number;
  connection: EmulatorConnection | null;
  loggedOut: boolean;
  /** Whether the phone has shared its app-state sync key with this device (once, at its first login). */
  appStateKeyShared: boolean;
}

/** A WhatsApp account the emulator plays: its phone is simulated, its companions are real clients. */
export interface SimulatedAccount {
  phone: string;
  lid: string;
  pushName: string;
  /** The account's identity key: it signs every linked device (ADV). */
  accountKey: KeyPair;
  /** Devices the emulator plays: 0 is the phone itself. */
  devices: Map<number, SimulatedDevice>;
  companions: Map<number, LinkedDevice>;
  /** Settings the phone syncs to its linked devices (its push name). */
  appState: PhoneAppState;
  nextDeviceId: number;
  nextKeyIndex: number;
}

export function pnJid(phone: string, device = 0): string {
  return device === 0 ? `${phone}@s.whatsapp.net` : `${phone}:${device}@s.whatsapp.net`;
}

export function lidJid(lid: string, device = 0): string {
  return device === 0 ? `${lid}@lid` : `${lid}:${device}@lid`;
}

export function createAccount(phone: string, lid: string, pushName: string, extraDevices = 0): SimulatedAccount {
  const devices = new Map<number, SimulatedDevice>();
  for (let deviceId = 0; deviceId <= extraDevices; deviceId += 1) devices.set(deviceId, new SimulatedDevice(phone, lid, deviceId));
  const appState = new PhoneAppState();
  void appState.setPushName(pushName);
  return { phone, lid, pushName, accountKey: Curve.generateKeyPair(), devices, companions: new Map(), appState, nextDeviceId: 10, nextKeyIndex: 1 };
}

/** A linked (real) client's bundle from what it uploaded; each fetch uses up one one-time pre-key. */
export function takeLinkedBundle(device: LinkedDevice): PreKeyBundle {
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
