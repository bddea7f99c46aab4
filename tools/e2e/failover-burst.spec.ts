import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inParallel, type TestTenant } from '@wagw/testing';
import { deliveryReport } from '@wagw/wa-emulator';
import { E2eSystem } from './harness.js';

const LEASE_TTL_MS = 5_000;

/**
 * The owner of busy sessions killed in the middle of a burst of sends: every send answered `sent`, at
 * once or on a retry with its Idempotency-Key, reaches the peer exactly once.
 */
describe('a worker killed (kill -9) during a burst of sends, end to end', { timeout: 180_000 }, () => {
  const system = new E2eSystem();
  const phones = ['15557000001', '15557000002', '15557000003', '15557000004'];
  const peer = '15557000009';
  let tenant: TestTenant;
  let sessions: string[];

  beforeAll(async () => {
    await system.start({ workers: ['worker-x', 'worker-y'], leaseTtlMs: LEASE_TTL_MS, commandTimeoutMs: 4_000 });
    for (const phone of [...phones, peer]) system.emulator.createAccount({ phone });
    tenant = await system.tenant();
    sessions = await Promise.all(phones.map((phone) => system.connectedSession(tenant, phone)));
  }, 120_000);

  afterAll(async () => {
    await system.stop();
  });

  const send = (key: string, n: number) =>
    system.api(`/api/v1/sessions/${sessions[n % sessions.length] ?? ''}/messages`, {
      method: 'POST',
      token: tenant.apiKey,
      body: { chat: `${peer}@s.whatsapp.net`, text: `${key} ${n}` },
      headers: { 'idempotency-key': `${key}-${n}` },
    });

  /**
   * `total` sends at concurrency 8, `fault` done once 30 have answered; then every send that did not
   * answer sent is retried with its key until it does. Answers the ids answered `sent` and how many
   * needed a retry.
   */
  async function burstThrough(key: string, total: number, fault: () => Promise<void> | void): Promise<{ mids: string[]; retried: number }> {
    const outcomes = new Map<number, { status: number; body: Record<string, unknown> }>();
    let faulted = false;
    await inParallel(Array.from({ length: total }, (_, n) => n), 8, async (n) => {
      outcomes.set(n, await send(key, n));
      if (!faulted && outcomes.size >= 30) {
        faulted = true;
        await fault();
      }
    });
    // Answers during the fault are sent, or a clear error the caller can retry (never a 500).
    for (const outcome of outcomes.values()) expect([200, 409, 503, 504], JSON.stringify(outcome.body)).toContain(outcome.status);
    let retried = 0;
    for (let n = 0; n < total; n += 1) {
      if (outcomes.get(n)?.status === 200) continue;
      retried += 1;
      outcomes.set(
        n,
        await system.waitFor(async () => {
          const again = await send(key, n);
          return again.status === 200 ? again : undefined;
        }, `send ${n} to end sent`, 60_000),
      );
    }
    const mids = [...outcomes.values()].map((outcome) => outcome.body['waMessageId'] as string);
    expect(new Set(mids).size).toBe(total);
    return { mids, retried };
  }

  async function expectEachArrivedOnce(mids: readonly string[]): Promise<void> {
    const report = () => deliveryReport(mids, system.emulator.received(peer), system.emulator.undecryptable(peer), { phone: peer, deviceId: 0 });
    await system.waitFor(async () => report().lost === 0 || undefined, 'every send at the peer', 10_000).catch(() => undefined);
    // A moment longer, so that a duplicate arriving late is counted too.
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    expect(report()).toEqual({ sent: mids.length, received: mids.length, lost: 0, duplicated: 0, undecryptable: 0, lostIds: [], duplicatedIds: [] });
  }

  it('the owner killed mid-burst: nothing answered sent is lost, nothing arrives twice, and every send ends sent on a retry with its key', async () => {
    const victim = system.workers.get('worker-x');
    if (!victim) throw new Error('no worker-x');
    const { mids, retried } = await burstThrough('kill', 120, async () => {
      await system.stopApp(victim, 'SIGKILL');
    });
    expect(retried).toBeGreaterThan(0);
    await expectEachArrivedOnce(mids);
  });

  it('WhatsApp requiring a restart (515) of every session mid-burst: the same', async () => {
    const { mids } = await burstThrough('restart', 80, () => {
      for (const phone of phones) {
        for (const device of system.emulator.linkedDevices(phone)) if (system.emulator.liveSocketCount(phone, device.deviceId) > 0) system.emulator.requireRestart(phone, device.deviceId);
      }
    });
    await expectEachArrivedOnce(mids);
  });
});
