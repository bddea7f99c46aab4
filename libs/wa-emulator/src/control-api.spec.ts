import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisconnectReason, proto } from '@whiskeysockets/baileys';
import { createControlApi, listenControlApi } from './control-api.js';
import { trustEmulatorRootKey } from './trust.js';
import { WaEmulator } from './wa-emulator.js';
import { TestClient } from './test/baileys-client.js';

describe('emulator control API (HTTP)', () => {
  const emulator = new WaEmulator();
  let server: Server;
  let base: string;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await emulator.start();
    trustEmulatorRootKey(emulator.rootPublicKey, () => undefined);
    server = createControlApi(emulator);
    base = await listenControlApi(server, 0);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    server.close();
    await emulator.stop();
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('reports its websocket URL and root key', async () => {
    const health = await call('GET', '/health');
    expect(health.body).toEqual({ status: 'ok', websocketUrl: emulator.url, rootPublicKey: emulator.rootPublicKey.toString('hex'), mediaCaCertificate: expect.stringMatching(/^-----BEGIN CERTIFICATE-----/) });
  });

  it('pairs a real client through an HTTP scan, lets a peer write to it, and injects a failure', async () => {
    expect((await call('POST', '/accounts', { phone: '15557770001', pushName: 'Gateway' })).status).toBe(201);
    expect((await call('POST', '/accounts', { phone: '15557770002', pushName: 'Carol' })).status).toBe(201);
    const gateway = new TestClient(emulator);
    clients.push(gateway);
    gateway.connect();
    const qr = await gateway.waitFor(() => gateway.qrs[0], 'a QR');
    const scanned = await call('POST', '/accounts/15557770001/scan', { qr });
    expect(scanned.status).toBe(201);
    await gateway.waitForOpen();
    const deviceId = scanned.body['deviceId'] as number;

    const account = await call('GET', '/accounts/15557770001');
    expect(account.body['linkedDevices']).toEqual([{ deviceId, loggedOut: false, liveSockets: 1 }]);

    const sent = await call('POST', '/accounts/15557770002/messages', { to: '15557770001', text: 'from the control API' });
    await gateway.waitFor(() => gateway.upserts.some((upsert) => upsert.messages.some((message) => message.key.id === sent.body['id'])) || undefined, 'the message');

    const reply = await gateway.socket.sendMessage('15557770002@s.whatsapp.net', { text: 'reply' });
    await expect
      .poll(async () => ((await call('GET', '/accounts/15557770002/received')).body['messages'] as Array<{ id: string }>).some((message) => message.id === reply?.key.id))
      .toBe(true);
    // The peer's phone reads it: Baileys reports the read as a status update of the reply.
    expect((await call('POST', '/accounts/15557770002/receipts', { to: '15557770001', messageIds: [reply?.key.id], type: 'read' })).status).toBe(201);
    const read = proto.WebMessageInfo.Status.READ;
    await gateway.waitFor(
      () =>
        gateway.updates.some((update) => update.key.id === reply?.key.id && update.update.status === read) ||
        gateway.upserts.some((upsert) => upsert.messages.some((message) => message.key.id === reply?.key.id && message.status === read)),
      'the read receipt',
    );

    const renamed = await call('POST', '/accounts/15557770001/push-name', { pushName: 'Front Desk' });
    expect(renamed.body['pushName']).toBe('Front Desk');
    await gateway.waitFor(() => gateway.auth.state.creds.me?.name === 'Front Desk' || undefined, 'the synced push name');

    expect((await call('POST', `/accounts/15557770001/devices/${deviceId}/replace`)).status).toBe(201);
    await gateway.waitForClose(DisconnectReason.connectionReplaced);
  });

  it('answers bad requests in the error envelope', async () => {
    expect(await call('POST', '/accounts', { phone: 42 })).toEqual({
      status: 400,
      body: { error: { code: 'validation_failed', message: '"phone" must be a non-empty string', details: {} } },
    });
    expect((await call('POST', '/accounts/15550009999/scan', { qr: 'nonsense' })).body).toMatchObject({ error: { code: 'conflict' } });
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('POST', '/accounts/15557770002/receipts', { to: '15557770001', messageIds: ['X'], type: 'seen' })).body).toMatchObject({ error: { code: 'validation_failed', message: '"type" must be delivery, read or played' } });
    expect((await call('POST', '/accounts/15557770002/receipts', { to: '15557770001', messageIds: [] })).status).toBe(400);
    expect((await call('POST', '/accounts/15557770002/reactions', { to: '15557770001', messageId: 'X', emoji: 5 })).body).toMatchObject({ error: { code: 'validation_failed' } });
    expect((await call('POST', '/accounts/15557770002/edits', { to: '15557770001', messageId: 'X' })).body).toMatchObject({ error: { code: 'validation_failed', message: '"text" must be a non-empty string' } });
    const malformed = await fetch(`${base}/accounts`, { method: 'POST', body: '{' });
    expect(malformed.status).toBe(400);
  });
});
