import { Agent } from 'node:https';
import { Agent as FetchDispatcher } from 'undici';
import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';

// Also exported alone, as `@wagw/wa-emulator/trust`: the session worker needs these and none of the emulator.

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

export interface WhatsAppEndpointSettings {
  /** `WA_WEBSOCKET_URL`: where Baileys connects instead of WhatsApp (an emulator, a proxy). */
  websocketUrl?: string | undefined;
  /** `WA_TRUST_ROOT_KEY`: 64 hex chars; the root key the endpoint's certificates chain to. */
  trustRootKeyHex?: string | undefined;
  /** `WA_MEDIA_CA`: the PEM authority of the endpoint's media host (the emulator's own). */
  mediaCaPem?: string | undefined;
}

/** What Baileys needs to reach the configured endpoint: its websocket URL and, for media, an agent trusting its media host. */
export interface WhatsAppSocketOptions {
  waWebSocketUrl?: string;
  /** Uploads (Baileys' node:https requests). */
  fetchAgent?: Agent;
  /** Downloads (Baileys fetches them with `fetch`, which takes an undici dispatcher, not an Agent). */
  mediaDispatcher?: FetchDispatcher;
}

/**
 * The Baileys socket options for the configured endpoint. Nothing configured: real WhatsApp, untouched.
 * The settings come validated from the worker's environment (`sessionWorkerEnvSchema`: the key is 64 hex
 * characters, and it and the media authority are only honoured with a websocket URL); both are trusted loudly.
 */
export function whatsAppEndpointOptions(settings: WhatsAppEndpointSettings, warn: (message: string) => void): WhatsAppSocketOptions {
  if (settings.trustRootKeyHex !== undefined) trustEmulatorRootKey(Buffer.from(settings.trustRootKeyHex, 'hex'), warn);
  if (settings.websocketUrl === undefined) return {};
  if (settings.mediaCaPem === undefined) return { waWebSocketUrl: settings.websocketUrl };
  // Only this agent trusts the media authority (uploads and downloads of this socket), not the process.
  warn('MEDIA UPLOADS AND DOWNLOADS TRUST AN EMULATOR CERTIFICATE AUTHORITY (WA_MEDIA_CA)');
  return {
    waWebSocketUrl: settings.websocketUrl,
    fetchAgent: new Agent({ ca: settings.mediaCaPem, keepAlive: true }),
    mediaDispatcher: new FetchDispatcher({ connect: { ca: settings.mediaCaPem } }),
  };
}

/**
 * The endpoint as a session records it when its device is linked: WhatsApp itself, or the configured URL
 * with the root key its certificates chain to (an emulator's key differs per emulator). A device linked
 * with one must never be started against another: its keys would be offered to the wrong server.
 */
export function whatsAppEndpointLabel(settings: WhatsAppEndpointSettings): string {
  if (settings.websocketUrl === undefined) return 'WhatsApp';
  if (settings.trustRootKeyHex === undefined) return settings.websocketUrl;
  return `${settings.websocketUrl} (certificate root ${settings.trustRootKeyHex.toLowerCase().slice(0, 16)})`;
}
