import { afterEach, describe, expect, it } from 'vitest';
import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { whatsAppEndpointOptions } from './trust.js';

describe('trusting an emulator root key', () => {
  const original = Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY);
  afterEach(() => {
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(original);
  });

  it('changes nothing by default: real WhatsApp and its real root key', () => {
    const warnings: string[] = [];
    expect(whatsAppEndpointOptions({}, (message) => warnings.push(message))).toEqual({});
    expect(Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY).equals(original)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('trusts the key only with an explicit websocket URL, and says so loudly', () => {
    const warnings: string[] = [];
    const key = 'ab'.repeat(32);
    expect(whatsAppEndpointOptions({ websocketUrl: 'ws://127.0.0.1:3020/ws/chat', trustRootKeyHex: key }, (message) => warnings.push(message))).toEqual({
      waWebSocketUrl: 'ws://127.0.0.1:3020/ws/chat',
    });
    expect(Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY).toString('hex')).toBe(key);
    expect(warnings).toEqual([expect.stringMatching(/EMULATOR ROOT KEY/)]);
  });
});
