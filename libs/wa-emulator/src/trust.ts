import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';

/**
 * Makes this process's Baileys accept a WhatsApp emulator's certificates. Only for a process configured
 * to talk to an emulator (tests, the local demo): it must never happen in production, so it always
 * announces itself through `warn`.
 */
export function trustEmulatorRootKey(rootPublicKey: Uint8Array, warn: (message: string) => void): void {
  if (rootPublicKey.length !== 32) throw new Error('the emulator root key must be 32 bytes');
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootPublicKey);
  warn('WHATSAPP CERTIFICATE CHECKS NOW TRUST AN EMULATOR ROOT KEY: this process cannot talk to real WhatsApp safely');
}
