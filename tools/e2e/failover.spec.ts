import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proto } from '@whiskeysockets/baileys';
import { encodeLease, redisKeys } from '@wagw/contracts';
import { createRedisConnection } from '@wagw/queue';
import type { TestTenant } from '@wagw/testing';
import { E2eSystem } from './harness.js';

const LEASE_TTL_MS = 5_000;

describe('two workers: spread, failover after kill -9, never two sockets', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const phones = ['15554000001', '15554000002', '15554000003', '15554000004'];
  const peer = '15554000009';
  const replaced: unknown[] = [];
  let tenant: TestTenant;
  const sessions = new Map<string, string>();

  beforeAll(async () => {
    await system.start({ workers: ['worker-x', 'worker-y'], leaseTtlMs: LEASE_TTL_MS });
    for (const phone of [...phones, peer]) system.emulator.createAccount({ phone });
    // A login that replaces a still-live socket means two sockets were live for one device.
    system.emulator.on('log', (entry) => {
      if (entry.event === 'replaced') replaced.push(entry);
    });
    tenant = await system.tenant();
    for (const phone of phones) sessions.set(phone, await system.connectedSession(tenant, phone));
  }, 90_000);

  afterAll(async () => {
    await system.stop();
  });

  const ownerOf = async (sessionId: string): Promise<string | undefined> =>
    ((await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey })).body['worker'] as { id: string } | null)?.id;

  it('spreads sessions over both workers', async () => {
    const owners = await Promise.all([...sessions.values()].map(ownerOf));
    expect(new Set(owners)).toEqual(new Set(['worker-x', 'worker-y']));
  });

  it('moves a killed worker’s sessions to the other within 30 s; a revoke then succeeds', async () => {
    const victim = system.workers.get('worker-x');
    if (!victim) throw new Error('no worker-x');
    const moved = [];
    for (const [phone, sessionId] of sessions) if ((await ownerOf(sessionId)) === 'worker-x') moved.push({ phone, sessionId });
    expect(moved.length).toBeGreaterThan(0);

    const killedAt = Date.now();
    await system.stopApp(victim, 'SIGKILL');
    for (const { sessionId } of moved) {
      await system.waitFor(async () => {
        const session = await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey });
        return session.body['status'] === 'connected' && (session.body['worker'] as { id: string } | null)?.id === 'worker-y' || undefined;
      }, `session ${sessionId} on worker-y`, 30_000);
    }
    expect(Date.now() - killedAt).toBeLessThan(30_000);

    const sessionId = moved[0]?.sessionId ?? '';
    const sent = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'after failover' } });
    expect(sent.status).toBe(200);
    const revoke = await system.api(`/api/v1/sessions/${sessionId}/messages/${sent.body['waMessageId'] as string}`, { method: 'DELETE', token: tenant.apiKey, body: {} });
    expect(revoke.status).toBe(200);
    expect(replaced).toEqual([]);
  });

  it('hands sessions over at once on SIGTERM, without waiting for the leases to expire', async () => {
    await system.startWorker('worker-x');
    const leaving = system.workers.get('worker-y');
    if (!leaving) throw new Error('no worker-y');
    const owned = [];
    for (const sessionId of sessions.values()) if ((await ownerOf(sessionId)) === 'worker-y') owned.push(sessionId);
    const stoppedAt = Date.now();
    expect(await system.stopApp(leaving, 'SIGTERM')).toBe(0);
    for (const sessionId of owned) {
      await system.waitFor(async () => {
        const session = await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey });
        return session.body['status'] === 'connected' && (session.body['worker'] as { id: string } | null)?.id === 'worker-x' || undefined;
      }, `session ${sessionId} on worker-x`, 30_000);
    }
    // Released, not expired: faster than the lease TTL.
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_TTL_MS);
    expect(replaced).toEqual([]);
  });

  it('closes the socket at once when a worker loses a session’s lease', async () => {
    const [phone, sessionId] = [...sessions.entries()][0] ?? ['', ''];
    const deviceId = system.emulator.linkedDevices(phone)[0]?.deviceId ?? -1;
    expect(system.emulator.liveSocketCount(phone, deviceId)).toBe(1);
    // Someone else holds the lease now (as after a network partition): the holder must let go.
    const redis = createRedisConnection(system.redisConnectionUrl, 'e2e-lease-thief');
    await redis.set(redisKeys.lease(sessionId), encodeLease({ workerId: 'elsewhere', epoch: 1_000_000 }), 'PX', 4_000);
    await system.waitFor(async () => system.emulator.liveSocketCount(phone, deviceId) === 0 || undefined, 'the socket to close', 10_000);
    redis.disconnect();
    // When the foreign lease lapses, a worker takes the session back.
    await system.waitFor(async () => system.emulator.liveSocketCount(phone, deviceId) === 1 || undefined, 'the session back', 20_000);
    expect(replaced).toEqual([]);
  });
});

describe('a worker dies after WhatsApp accepted a revoke, before it answered', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const phone = '15555000001';
  const peer = '15555000002';
  let tenant: TestTenant;
  let sessionId: string;

  beforeAll(async () => {
    await system.start({ workers: ['worker-c'], commandTimeoutMs: 3_000, leaseTtlMs: LEASE_TTL_MS });
    system.emulator.createAccount({ phone });
    system.emulator.createAccount({ phone: peer });
    tenant = await system.tenant();
    sessionId = await system.connectedSession(tenant, phone);
  }, 60_000);

  afterAll(async () => {
    await system.stop();
  });

  it('answers with a clear error, and the retry with the same key returns the result without a second REVOKE', async () => {
    const sent = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'revoke me once' } });
    const mid = sent.body['waMessageId'] as string;
    const revokesAtPeer = () =>
      system.emulator.received(peer).filter((message) => message.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.REVOKE && message.message.protocolMessage.key?.id === mid);

    // Hold the stored message's row: the worker sends the revoke to WhatsApp, then blocks writing it down.
    const lock = new pg.Client({ connectionString: system.postgresUrl });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('SELECT id FROM messages WHERE wa_message_id = $1 FOR UPDATE', [mid]);

    const first = system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'DELETE', token: tenant.apiKey, body: {}, headers: { 'idempotency-key': `crash-${mid}` } });
    await system.waitFor(async () => revokesAtPeer().length === 1 || undefined, 'WhatsApp to accept the revoke');
    const worker = system.workers.get('worker-c');
    if (!worker) throw new Error('no worker-c');
    await system.stopApp(worker, 'SIGKILL');
    // A statement already in Postgres outlives its worker: the blocked one would commit the revoke with its
    // outcome once the lock goes, and the answer would then be that outcome (200). This test is about the
    // crash before anything was written down, so the worker's blocked statement goes with it.
    await lock.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO messages%'`);
    await lock.query('ROLLBACK');
    await lock.end();

    const answer = await first;
    expect(answer.status).toBe(504);
    expect(answer.body).toMatchObject({ error: { code: 'timeout', details: { outboxId: expect.any(String) } } });

    // Listening before the new worker starts: it runs the stranded revoke again as soon as it holds the session.
    const duplicates: string[] = [];
    system.emulator.on('log', (entry) => {
      if (entry.event === 'duplicate-dropped') duplicates.push(String(entry['id']));
    });
    await system.startWorker('worker-d');
    await system.waitFor(async () => {
      const session = await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey });
      return session.body['status'] === 'connected' && (session.body['worker'] as { id: string } | null)?.id === 'worker-d' || undefined;
    }, 'the session on worker-d', 30_000);

    const retry = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'DELETE', token: tenant.apiKey, body: {}, headers: { 'idempotency-key': `crash-${mid}` } });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body).toMatchObject({ status: 'sent', outboxId: (answer.body as { error: { details: { outboxId: string } } }).error.details.outboxId });
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    expect(revokesAtPeer()).toHaveLength(1);
    // The new worker really ran the revoke again: with the same WhatsApp id, which WhatsApp drops.
    expect(duplicates).toContain(revokesAtPeer()[0]?.id);
  });
});
