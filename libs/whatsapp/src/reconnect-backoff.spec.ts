import { DisconnectReason } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from './whatsapp-connection.js';

describe('ReconnectBackoff', () => {
  it('doubles from 1 s up to 30 s, and starts over once a connection opened', () => {
    const backoff = new ReconnectBackoff();
    const delays = Array.from({ length: 8 }, () => backoff.next(DisconnectReason.connectionClosed));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    backoff.reset();
    expect(backoff.next(DisconnectReason.connectionLost)).toBe(1_000);
  });

  it("answers WhatsApp's restart request (515) at once", () => {
    const backoff = new ReconnectBackoff();
    expect(backoff.next(DisconnectReason.connectionClosed)).toBe(1_000);
    expect(backoff.next(DisconnectReason.restartRequired)).toBe(0);
  });
});
