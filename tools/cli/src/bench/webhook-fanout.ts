#!/usr/bin/env node
// `npm run bench` part 3: webhook fan-out. Committed events go through the dispatcher (fan-out, signing,
// per-endpoint slots, recorded outcomes) to a local sink; beside it, the floor measured in the same run:
// a raw undici POST loop of the same bodies to the same sink at the same concurrency.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createDbClient, WebhookEndpointsRepository } from '@wagw/db';
import { OrganizationProvisioningRepository } from '@wagw/db/system';
import { findFreePort } from '@wagw/embedded';
import { createRedisConnection, WebhookQueues } from '@wagw/queue';
import { generateWebhookSecret, parseSecretKey, sealSecret } from '@wagw/webhooks';
import { REPO_ROOT } from '../paths.js';
import { machineDescription, startBenchStores, storeCounters, storeWorkSince, startCpuMeter, waitUntilReady, writeBenchResult, type StoreWork } from './bench-support.js';
import { latencySummary, median, percentile } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const ENDPOINTS = Number(process.env['BENCH_ENDPOINTS'] ?? 16);
/** Dispatcher processes sharing the queues (and the per-endpoint slots in Redis). */
const DISPATCHERS = Number(process.env['BENCH_DISPATCHERS'] ?? 1);
const BURST_EVENTS = Number(process.env['BENCH_FANOUT_EVENTS'] ?? 250);
/** Steady load for the latency phase: events per second, for this many seconds. */
const STEADY_EVENTS_PER_SECOND = Number(process.env['BENCH_FANOUT_RATE'] ?? 20);
const STEADY_SECONDS = Number(process.env['BENCH_FANOUT_SECONDS'] ?? 10);
/** The dispatcher's defaults: 4 attempts in flight per endpoint, 64 per dispatcher. */
const ENDPOINT_CONCURRENCY = 4;
const CONCURRENCY = 64;
const SECRET_KEY = Buffer.alloc(32, 5).toString('base64');

/** Answers 200 at once and notes when each webhook-id first arrived. */
class Sink {
  readonly firstSeen = new Map<string, number>();
  hits = 0;
  private readonly server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    incoming.resume();
    incoming.on('end', () => {
      this.hits += 1;
      const id = incoming.headers['webhook-id'];
      const endpoint = incoming.url ?? '';
      if (typeof id === 'string' && !this.firstSeen.has(`${id}${endpoint}`)) this.firstSeen.set(`${id}${endpoint}`, performance.timeOrigin + performance.now());
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('sink has no port');
    return address.port;
  }

  reset(): void {
    this.firstSeen.clear();
    this.hits = 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function eventPayload(id: string): object {
  return {
    event: 'message.revoked',
    data: {
      id,
      event: 'message.revoked',
      metadata: [],
      me: { id: '15550000001@s.whatsapp.net', pushName: 'Bench' },
      payload: { before: { id: '3EB0BENCH', body: 'x'.repeat(200), fromMe: true }, after: { id: '3EB0REVOKE', fromMe: true } },
      instanceId: randomUUID(),
      userId: 'bench',
    },
  };
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function main(): Promise<void> {
  const stores = await startBenchStores('fanout');
  const sink = new Sink();
  const dispatchers = new Map<string, ChildProcess>();
  try {
    const db = createDbClient({ databaseUrl: stores.databaseUrl, poolSize: 4 });
    const sinkPort = await sink.listen();
    const org = await new OrganizationProvisioningRepository(db).create('bench');
    const endpoints = new WebhookEndpointsRepository(db);
    for (let index = 0; index < ENDPOINTS; index += 1) {
      await endpoints.create(org.id, { url: `http://127.0.0.1:${sinkPort}/hook/${index}`, events: ['message.revoked'], sessionIds: [], description: null, secretCiphertext: sealSecret(generateWebhookSecret(), parseSecretKey(SECRET_KEY)) });
    }
    for (let index = 0; index < DISPATCHERS; index += 1) {
      const name = `webhook-dispatcher-${index + 1}`;
      const healthPort = await findFreePort();
      const child = fork(join(REPO_ROOT, 'apps', 'webhook-dispatcher', 'dist', 'main.js'), [], {
        env: {
          PATH: process.env['PATH'] ?? '',
          DATABASE_URL: stores.databaseUrl,
          REDIS_URL: stores.redisUrl,
          HOST: '127.0.0.1',
          HEALTH_PORT: String(healthPort),
          LOG_LEVEL: 'warn',
          WEBHOOK_SECRET_KEY: SECRET_KEY,
          WEBHOOK_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
          WEBHOOK_ENDPOINT_CONCURRENCY: String(ENDPOINT_CONCURRENCY),
          WEBHOOK_CONCURRENCY: String(CONCURRENCY),
          DATABASE_POOL_SIZE: '20',
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        // BENCH_PROFILE=1 writes a V8 CPU profile of each dispatcher to bench/profiles/ when it exits.
        execArgv: process.env['BENCH_PROFILE'] === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(REPO_ROOT, 'bench', 'profiles')}`, `--cpu-prof-name=${name}.cpuprofile`] : [],
      });
      dispatchers.set(name, child);
      await waitUntilReady(`http://127.0.0.1:${healthPort}/readyz`);
    }
    const publisher = createRedisConnection(stores.redisUrl, 'bench-publisher');
    const queues = new WebhookQueues(publisher);

    /** Commits `count` events (as the worker does) and announces them; returns their commit times. */
    const commitEvents = async (count: number): Promise<Map<string, number>> => {
      const committed = new Map<string, number>();
      const rows = Array.from({ length: count }, () => {
        const id = randomUUID();
        return { id, orgId: org.id, type: 'message.revoked', payload: eventPayload(id) };
      });
      await db.domainEvent.createMany({ data: rows });
      const at = performance.timeOrigin + performance.now();
      for (const row of rows) committed.set(row.id, at);
      await queues.announceEvents();
      return committed;
    };
    const latenciesOf = (committed: Map<string, number>): number[] => {
      const latencies: number[] = [];
      for (const [key, seen] of sink.firstSeen) {
        const eventId = key.slice(0, 36);
        const at = committed.get(eventId);
        if (at !== undefined) latencies.push(seen - at);
      }
      return latencies;
    };

    process.stdout.write(`${DISPATCHERS} dispatcher(s) ready; ${ENDPOINTS} endpoints on the sink\n`);
    // Warm-up (JIT, pools, connections), not recorded: one burst's worth, as a running dispatcher is
    // warm (with a shorter one the first recorded burst was the slowest of every series).
    await commitEvents(BURST_EVENTS);
    await waitUntil(() => sink.firstSeen.size >= BURST_EVENTS * ENDPOINTS, 300_000, 'warm-up deliveries');
    // Planner statistics for the tables the warm-up filled, as autovacuum keeps them on a live database.
    await db.$executeRawUnsafe('ANALYZE');

    const dispatcherPids = (): Record<string, number | undefined> => Object.fromEntries([...dispatchers].map(([name, child]) => [name, child.pid]));
    let cpuMsPerDelivery: Record<string, number> = {};
    let workPerDelivery: StoreWork | null = null;
    const burstRuns: Array<{ throughputPerSecond: number; p50Ms: number; p95Ms: number; p99Ms: number; deliveries: number }> = [];
    const steadyRuns: Array<{ deliveriesPerSecond: number; p50Ms: number; p95Ms: number; p99Ms: number; deliveries: number }> = [];
    const floorRuns: Array<{ throughputPerSecond: number; p50Ms: number; p99Ms: number }> = [];
    const body = JSON.stringify(eventPayload(randomUUID()));
    const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
    for (let run = 0; run < RUNS; run += 1) {
      // Throughput: a burst of events, every delivery due at once.
      sink.reset();
      const expected = BURST_EVENTS * ENDPOINTS;
      const started = performance.timeOrigin + performance.now();
      const counters = run === 0 ? await storeCounters(db, publisher) : null;
      const cpu = startCpuMeter(dispatcherPids(), 'bench (sink and publisher)');
      const committed = await commitEvents(BURST_EVENTS);
      await waitUntil(() => sink.firstSeen.size >= expected, 300_000, 'burst deliveries');
      const elapsed = Math.max(...sink.firstSeen.values()) - started;
      if (run === 0) {
        cpuMsPerDelivery = cpu.perUnit(expected);
        if (counters) workPerDelivery = await storeWorkSince(db, publisher, counters, expected);
      }
      const burstLatencies = latenciesOf(committed).sort((a, b) => a - b);
      burstRuns.push({ throughputPerSecond: (expected * 1000) / elapsed, p50Ms: percentile(burstLatencies, 50), p95Ms: percentile(burstLatencies, 95), p99Ms: percentile(burstLatencies, 99), deliveries: expected });

      // Latency: a steady stream well under capacity, event committed → first attempt at the sink.
      sink.reset();
      const steadyCommitted = new Map<string, number>();
      const steadyStarted = performance.now();
      for (let second = 0; second < STEADY_SECONDS * 10; second += 1) {
        const batch = await commitEvents(Math.max(1, Math.round(STEADY_EVENTS_PER_SECOND / 10)));
        for (const [id, at] of batch) steadyCommitted.set(id, at);
        const wait = steadyStarted + (second + 1) * 100 - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await waitUntil(() => sink.firstSeen.size >= steadyCommitted.size * ENDPOINTS, 120_000, 'steady deliveries');
      const steady = latencySummary(latenciesOf(steadyCommitted), (performance.now() - steadyStarted));
      steadyRuns.push({ deliveriesPerSecond: steady.throughputPerSecond, p50Ms: steady.p50Ms, p95Ms: steady.p95Ms, p99Ms: steady.p99Ms, deliveries: steady.count });

      // Floor: the same number of POSTs with the same body, straight at the sink, same concurrency.
      sink.reset();
      const latencies: number[] = [];
      let issued = 0;
      const floorStarted = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (issued < expected) {
            issued += 1;
            const begin = performance.now();
            const response = await request(`http://127.0.0.1:${sinkPort}/hook/${issued % ENDPOINTS}`, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': randomUUID() }, body, dispatcher: agent });
            await response.body.text();
            latencies.push(performance.now() - begin);
          }
        }),
      );
      const floor = latencySummary(latencies, performance.now() - floorStarted);
      floorRuns.push({ throughputPerSecond: floor.throughputPerSecond, p50Ms: floor.p50Ms, p99Ms: floor.p99Ms });
      const last = { burst: burstRuns.at(-1), steady: steadyRuns.at(-1), floor: floorRuns.at(-1) };
      process.stdout.write(`run ${run + 1}: ${JSON.stringify(last)}\n`);
    }
    const summary = <T extends Record<string, number>>(runs: T[]): Record<keyof T, number> =>
      Object.fromEntries(Object.keys(runs[0] ?? {}).map((key) => [key, +median(runs.map((item) => item[key] ?? 0)).toFixed(2)])) as Record<keyof T, number>;
    const output = {
      benchmark: 'webhook-fanout',
      date: new Date().toISOString(),
      machine: machineDescription(),
      settings: { runs: RUNS, endpoints: ENDPOINTS, burstEvents: BURST_EVENTS, steadyEventsPerSecond: STEADY_EVENTS_PER_SECOND, steadySeconds: STEADY_SECONDS, endpointConcurrency: ENDPOINT_CONCURRENCY, concurrency: CONCURRENCY, dispatchers: DISPATCHERS },
      floor: 'raw undici POST loop of the same body to the same sink at the same concurrency',
      results: { burst: summary(burstRuns), steady: summary(steadyRuns), floor: summary(floorRuns) },
      runs: { burst: burstRuns, steady: steadyRuns, floor: floorRuns },
      // Measured over the first burst: the work behind one delivery, by process and by store.
      cpuMsPerDelivery,
      workPerDelivery,
      targets: { deliveriesPerSecond: 2_000, eventToFirstAttemptP95Ms: 100 },
    };
    const ratio = +((output.results.burst.throughputPerSecond ?? 0) / (output.results.floor.throughputPerSecond ?? 1)).toFixed(2);
    const resultName = DISPATCHERS === 1 ? 'webhook-fanout' : `webhook-fanout-${DISPATCHERS}-dispatchers`;
    writeBenchResult(resultName, { ...output, ratioToFloor: ratio });
    process.stdout.write(`${JSON.stringify(output.results)} ratio ${ratio}\nper delivery: ${workPerDelivery?.postgresStatements ?? 0} Postgres statements in ${workPerDelivery?.postgresTransactions ?? 0} transactions (${workPerDelivery?.postgresWriteTransactions ?? 0} writing), ${workPerDelivery?.redisCommands ?? 0} Redis commands; CPU ms ${JSON.stringify(cpuMsPerDelivery)}\nwrote bench/results/${resultName}.json\n`);
    await agent.close();
    await queues.close();
    publisher.disconnect();
    await db.$disconnect();
  } finally {
    process.stdout.write('stopping the dispatcher, Redis and Postgres\n');
    for (const child of dispatchers.values()) child.kill('SIGTERM');
    await Promise.all([...dispatchers.values()].map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
    await sink.close();
    await stores.stop();
  }
}

await main();
