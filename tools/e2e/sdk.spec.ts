import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient, streamEvents, type GatewayEvent } from '@wagw/sdk';
import { revokeForEveryone } from '../../docs/examples/sdk-revoke.js';
import type { TestTenant } from '@wagw/testing';
import { E2eSystem } from './harness.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** The typed client (`libs/sdk`) and its event stream, against the whole system and the emulator. */
describe('the typed client, end to end', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const phone = '15554000001';
  const friend = '15554000002';
  let tenant: TestTenant;
  let session: string;
  let baseUrl: string;

  beforeAll(async () => {
    await system.start();
    system.emulator.createAccount({ phone, pushName: 'Gateway' });
    system.emulator.createAccount({ phone: friend, pushName: 'Friend' });
    tenant = await system.tenant();
    session = await system.connectedSession(tenant, phone);
    baseUrl = `http://127.0.0.1:${system.gateway.port}`;
  }, 60_000);
  afterAll(async () => system.stop());

  it("sends and revokes through the README's example; the event stream carries the message.revoked; the friend gets the REVOKE", async () => {
    const client = createGatewayClient({ baseUrl, token: tenant.apiKey });
    const abort = new AbortController();
    const events: GatewayEvent[] = [];
    const connected = new Promise<void>((resolveConnected) => {
      void (async () => {
        for await (const event of streamEvents({ baseUrl, token: tenant.apiKey, types: ['message.revoked'], signal: abort.signal, onConnectionChange: (up) => up && resolveConnected() })) events.push(event);
      })();
    });
    await connected;

    const sent = await client.POST('/api/v1/sessions/{session}/messages', { params: { path: { session } }, body: { chat: `${friend}@s.whatsapp.net`, text: 'typed hello' } });
    expect(sent.response.status).toBe(200);
    const messageId = sent.data!.waMessageId;
    await system.waitFor(async () => system.emulator.received(friend).find((message) => message.id === messageId), 'the friend to decrypt the text');

    const result = await revokeForEveryone(baseUrl, tenant.apiKey, session, messageId);
    expect(result).toMatchObject({ mode: 'sync', status: 'sent', replayed: false });
    // The same call again is the same revoke (its Idempotency-Key), not a second one.
    expect(await revokeForEveryone(baseUrl, tenant.apiKey, session, messageId)).toMatchObject({ outboxId: result.outboxId, replayed: true });
    await system.waitFor(async () => system.emulator.received(friend).find((message) => message.id === result.waMessageId), 'the friend to get the REVOKE');

    const revoked = await system.waitFor(async () => events.find((event) => event.type === 'message.revoked'), 'message.revoked on the stream');
    expect(revoked.data).toMatchObject({ event: 'message.revoked', data: { instanceId: session, payload: { before: { id: messageId } } } });
    await new Promise((wait) => setTimeout(wait, 500));
    expect(events).toHaveLength(1);
    abort.abort();
  });

  it('answers errors typed, in the envelope', async () => {
    const client = createGatewayClient({ baseUrl, token: tenant.apiKey });
    const missing = await client.GET('/api/v1/sessions/{session}', { params: { path: { session: '0190f0f0-0000-7000-8000-000000000000' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe('not_found');
    await expect(revokeForEveryone(baseUrl, tenant.apiKey, session, '3EB0000000000000000000')).rejects.toThrow('revoke failed: not_found: message not found');
  });

  it('the README shows the example as it is in the repository', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const example = readFileSync(join(REPO_ROOT, 'docs', 'examples', 'sdk-revoke.ts'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });
});
