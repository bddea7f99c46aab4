import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpFaultProxy, type FaultMode, type TestTenant } from '@wagw/testing';
import { deliveryReport } from '@wagw/wa-emulator';
import { E2eSystem } from './harness.js';

const LEASE_TTL_MS = 6_000;
const WORKERS = ['worker-a', 'worker-b'] as const;
type WorkerId = (typeof WORKERS)[number];

/**
 * A worker that stays alive but is cut off from Redis or Postgres (the case fencing exists for): each
 * worker reaches both through proxies of its own, which the tests stall or reset. The cut-off worker
 * must close its sockets before its leases can pass on, the other must take the sessions over without
 * WhatsApp ever seeing two sockets for one login, every send answered `sent` must arrive once, and
 * nothing the cut-off worker writes late may count once it is back.
 */
describe('a worker cut off from Redis or Postgres gives its sessions up by itself', { timeout: 300_000 }, () => {
  const system = new E2eSystem();
  const phones = ['15558000001', '15558000002', '15558000003'];
  const peer = '15558000009';
  const proxies = new Map<WorkerId, { redis: TcpFaultProxy; postgres: TcpFaultProxy }>();
  const replaced: unknown[] = [];
  const sentIds: string[] = [];
  let tenant: TestTenant;
  let sessions: string[] = [];

  beforeAll(async () => {
    await system.start({ workers: [], leaseTtlMs: LEASE_TTL_MS, commandTimeoutMs: 4_000 });
    for (const phone of [...phones, peer]) system.emulator.createAccount({ phone });
    system.emulator.on('log', (entry) => {
      if (entry.event === 'replaced') replaced.push(entry);
    });
    for (const workerId of WORKERS) {
      const redis = await TcpFaultProxy.inFrontOf(system.redisConnectionUrl);
      const postgres = await TcpFaultProxy.inFrontOf(system.postgresUrl);
      proxies.set(workerId, { redis: redis.proxy, postgres: postgres.proxy });
      if (workerId === 'worker-a') await system.startWorker(workerId, system.emulator, { REDIS_URL: redis.url, DATABASE_URL: postgres.url });
      else {
        // Every session starts on worker-a: worker-b joins once they are connected.
        tenant = await system.tenant();
        sessions = await Promise.all(phones.map((phone) => system.connectedSession(tenant, phone)));
        await system.startWorker(workerId, system.emulator, { REDIS_URL: redis.url, DATABASE_URL: postgres.url });
      }
    }
  }, 120_000);

  afterAll(async () => {
    await system.stop();
    for (const { redis, postgres } of proxies.values()) await Promise.all([redis.close(), postgres.close()]);
  });

  const session = async (sessionId: string): Promise<Record<string, unknown>> => (await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey })).body;
  const ownerOf = async (sessionId: string): Promise<string | undefined> => ((await session(sessionId))['worker'] as { id: string } | null)?.id;
  const deviceOf = (phone: string): number => system.emulator.linkedDevices(phone)[0]?.deviceId ?? -1;
  const statusEvents = (): Promise<number> => system.db.domainEvent.count({ where: { orgId: tenant.orgId, type: 'session.status' } });

  /** Sends to the peer from every session, one at a time per session, each retried with its key until it ends sent. */
  function keepSending(key: string): { stop: () => Promise<void> } {
    let sending = true;
    const loops = sessions.map(async (sessionId, index) => {
      for (let n = 0; sending; n += 1) {
        const body = { chat: `${peer}@s.whatsapp.net`, text: `${key} ${index} ${n}` };
        const headers = { 'idempotency-key': `${key}-${index}-${n}` };
        const answer = await system.waitFor(async () => {
          const response = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body, headers });
          // During the cut: sent, or a clear error to retry on (never a 500).
          expect([200, 409, 503, 504], JSON.stringify(response.body)).toContain(response.status);
          if (response.status !== 200) await new Promise((resolveWait) => setTimeout(resolveWait, 250));
          return response.status === 200 ? response : undefined;
        }, `send ${key}-${index}-${n} to end sent`, 60_000);
        sentIds.push(answer.body['waMessageId'] as string);
        await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      }
    });
    return {
      stop: async () => {
        sending = false;
        await Promise.all(loops);
      },
    };
  }

  /** Samples the emulator's live sockets of every session's login: the most seen at once, and when each closed and came back. */
  function watchSockets(): { stop: () => Array<{ most: number; closedAt: number | null; backAt: number | null }> } {
    const devices = phones.map((phone) => ({ phone, deviceId: deviceOf(phone), most: 0, closedAt: null as number | null, backAt: null as number | null }));
    const timer = setInterval(() => {
      const now = Date.now();
      for (const device of devices) {
        const live = system.emulator.liveSocketCount(device.phone, device.deviceId);
        device.most = Math.max(device.most, live);
        if (live === 0 && device.closedAt === null) device.closedAt = now;
        if (live === 1 && device.closedAt !== null && device.backAt === null) device.backAt = now;
      }
    }, 20);
    return {
      stop: () => {
        clearInterval(timer);
        return devices.map(({ most, closedAt, backAt }) => ({ most, closedAt, backAt }));
      },
    };
  }

  async function cutOff(cut: WorkerId, store: 'redis' | 'postgres', mode: FaultMode): Promise<void> {
    const survivor = WORKERS.find((workerId) => workerId !== cut) ?? 'worker-a';
    expect(await Promise.all(sessions.map(ownerOf))).toEqual(sessions.map(() => cut));
    const proxy = proxies.get(cut)?.[store];
    if (!proxy) throw new Error(`no ${store} proxy for ${cut}`);
    const sockets = watchSockets();
    const sending = keepSending(`${cut}-${store}-${mode}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));

    const cutAt = Date.now();
    proxy.setMode(mode);
    for (const sessionId of sessions) {
      await system.waitFor(async () => {
        const now = await session(sessionId);
        return (now['status'] === 'connected' && (now['worker'] as { id: string } | null)?.id === survivor) || undefined;
      }, `session ${sessionId} connected on ${survivor}`, 30_000);
    }
    // Sends keep working after the move, still cut off.
    await new Promise((resolveWait) => setTimeout(resolveWait, 1_500));
    const moved = sockets.stop();
    for (const device of moved) {
      // Never two sockets for one login, and the cut-off worker let go before its lease could pass on.
      expect(device.most).toBe(1);
      expect(device.closedAt).not.toBeNull();
      expect((device.closedAt ?? Infinity) - cutAt).toBeLessThan(LEASE_TTL_MS);
      expect(device.backAt ?? 0).toBeGreaterThan(device.closedAt ?? Infinity);
    }
    expect(replaced).toEqual([]);

    // Back on the network: nothing the cut-off worker had in flight or writes now disturbs the sessions.
    const eventsBefore = await statusEvents();
    proxy.setMode('forward');
    await new Promise((resolveWait) => setTimeout(resolveWait, 2 * LEASE_TTL_MS));
    await sending.stop();
    for (const [index, sessionId] of sessions.entries()) {
      expect(await session(sessionId)).toMatchObject({ status: 'connected', worker: { id: survivor }, lastError: null });
      expect((await system.db.whatsAppSession.findUniqueOrThrow({ where: { id: sessionId } })).shouldRun).toBe(true);
      expect(system.emulator.liveSocketCount(phones[index] ?? '', deviceOf(phones[index] ?? ''))).toBe(1);
    }
    expect(await statusEvents()).toBe(eventsBefore);
    expect(replaced).toEqual([]);
  }

  async function expectEachArrivedOnce(): Promise<void> {
    const report = () => deliveryReport(sentIds, system.emulator.received(peer), system.emulator.undecryptable(peer), { phone: peer, deviceId: 0 });
    await system.waitFor(async () => report().lost === 0 || undefined, 'every send at the peer', 10_000).catch(() => undefined);
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    expect(report()).toMatchObject({ sent: new Set(sentIds).size, lost: 0, duplicated: 0, undecryptable: 0 });
  }

  it("Redis stalled (connections held open, nothing answered): the worker closes its sockets within the TTL, the other takes over, the first rejoins without touching them", async () => {
    await cutOff('worker-a', 'redis', 'blackhole');
    await expectEachArrivedOnce();
  });

  it('Redis connections reset: the same', async () => {
    await cutOff('worker-b', 'redis', 'reset');
    await expectEachArrivedOnce();
  });

  it('Postgres stalled: the worker cannot keep its sessions, so it lets their leases go', async () => {
    await cutOff('worker-a', 'postgres', 'blackhole');
    await expectEachArrivedOnce();
  });
});
