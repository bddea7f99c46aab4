import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proto } from '@whiskeysockets/baileys';
import { inParallel, type TestTenant } from '@wagw/testing';
import { E2eSystem } from './harness.js';

const LEASE_TTL_MS = 5_000;
const REVOKES = 40;

/**
 * The owner killed (kill -9) with revokes queued for it and in flight, and a new worker under another
 * name (as a Kubernetes pod that never comes back): the new owner runs what was stranded in the dead
 * worker's queue as soon as it holds the session, each exactly once, without anyone retrying.
 */
describe('commands stranded on a killed worker are run by the session’s new owner', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const phone = '15557200001';
  const peer = '15557200002';
  let tenant: TestTenant;
  let sessionId: string;

  beforeAll(async () => {
    await system.start({ workers: ['worker-old'], leaseTtlMs: LEASE_TTL_MS, commandTimeoutMs: 20_000 });
    system.emulator.createAccount({ phone });
    system.emulator.createAccount({ phone: peer });
    tenant = await system.tenant();
    sessionId = await system.connectedSession(tenant, phone);
  }, 60_000);

  afterAll(async () => {
    await system.stop();
  });

  it('every queued and in-flight revoke completes on the new owner, one REVOKE each, and a retry returns the outcome', async () => {
    const mids: string[] = [];
    await inParallel(Array.from({ length: REVOKES }, (_, n) => n), 8, async (n) => {
      const sent = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: `stranded ${n}` } });
      mids.push(sent.body['waMessageId'] as string);
    });
    const revoke = (mid: string) => system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'DELETE', token: tenant.apiKey, body: {}, headers: { 'idempotency-key': `stranded-${mid}` } });

    const oldWorker = system.workers.get('worker-old');
    if (!oldWorker) throw new Error('no worker-old');
    let killedAt = 0;
    const answers = mids.map(async (mid) => {
      const answer = await revoke(mid);
      // The first revoke answered: the rest are queued for the old worker or on their way through it.
      if (killedAt === 0) {
        killedAt = Date.now();
        oldWorker.child.kill('SIGKILL');
      }
      return answer;
    });
    await system.waitFor(async () => killedAt > 0 || undefined, 'the first revoke to answer');
    await oldWorker.exited;
    const revokeOps = () => system.db.outboxOperation.findMany({ where: { orgId: tenant.orgId, kind: 'revoke' } });
    const pendingAtKill = (await revokeOps()).filter((operation) => operation.status === 'pending').length;
    expect(pendingAtKill).toBeGreaterThan(0);

    await system.startWorker('worker-new');
    // Nobody retries: the new owner finds them in the dead worker's queue.
    await system.waitFor(async () => {
      const operations = await revokeOps();
      return operations.length === REVOKES && operations.every((operation) => operation.status === 'sent') ? true : undefined;
    }, 'every revoke sent by the new owner', LEASE_TTL_MS + 15_000);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_TTL_MS + 15_000);

    // Callers still waiting got the outcome the new owner pushed them; none got a 5xx other than a 504.
    for (const answer of await Promise.all(answers)) expect([200, 504], JSON.stringify(answer.body)).toContain(answer.status);

    const revokesOf = (mid: string) => system.emulator.received(peer).filter((message) => message.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.REVOKE && message.message.protocolMessage.key?.id === mid);
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    const counts = mids.map((mid) => revokesOf(mid).length);
    expect(counts.filter((count) => count !== 1)).toEqual([]);

    for (const mid of mids) {
      const again = await revoke(mid);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toMatchObject({ status: 'sent' });
    }
    expect(mids.map((mid) => revokesOf(mid).length).filter((count) => count !== 1)).toEqual([]);
  });
});
