#!/usr/bin/env node
// `npm run bench`: request-reply between a gateway and a worker process over Redis, three ways, beside
// the floor of this machine (a bare Redis list round trip), at concurrency 1, 16 and 64. Medians of
// several runs are written to bench/results/request-reply.json.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { findFreePort, locateRedisServer, startRedisServer } from '@wagw/embedded';
import { createRedisConnection, type RedisConnection } from '@wagw/queue';
import { DATA_DIR, REPO_ROOT } from '../paths.js';

type Mechanism = 'raw-list' | 'bullmq-events' | 'bullmq-reply-list';
const MECHANISMS: Mechanism[] = ['raw-list', 'bullmq-events', 'bullmq-reply-list'];
const CONCURRENCIES = [1, 16, 64];
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const REQUESTS_PER_RUN = Number(process.env['BENCH_REQUESTS'] ?? 2_000);

interface RunResult {
  throughputPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Replies land in one list per gateway; a single blocking reader hands each to its waiting request. */
class ReplyListReader {
  private readonly waiting = new Map<string, () => void>();
  private running = true;

  constructor(
    private readonly connection: RedisConnection,
    readonly list: string,
  ) {
    void this.loop();
  }

  wait(id: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const popped = await this.connection.brpop(this.list, 1).catch(() => null);
      if (!popped) continue;
      const { id } = JSON.parse(popped[1]) as { id: string };
      this.waiting.get(id)?.();
      this.waiting.delete(id);
    }
  }

  stop(): void {
    this.running = false;
  }
}

async function startConsumer(mechanism: Mechanism, redisUrl: string, name: string): Promise<ChildProcess> {
  const child = fork(join(REPO_ROOT, 'tools', 'cli', 'dist', 'bench', 'echo-consumer.js'), [mechanism, redisUrl, name], { stdio: 'inherit' });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  return child;
}

async function measure(mechanism: Mechanism, redisUrl: string, concurrency: number): Promise<RunResult> {
  const name = `bench-${mechanism}-${randomUUID().slice(0, 8)}`;
  const consumer = await startConsumer(mechanism, redisUrl, name);
  const producer = createRedisConnection(redisUrl, 'bench-producer');
  const replyList = `${name}:replies`;
  const reader = new ReplyListReader(createRedisConnection(redisUrl, 'bench-reader'), replyList);
  const queue = mechanism === 'raw-list' ? null : new Queue(name, { connection: createRedisConnection(redisUrl, 'bench-queue') });
  queue?.setMaxListeners(0);
  const events = mechanism === 'bullmq-events' ? new QueueEvents(name, { connection: createRedisConnection(redisUrl, 'bench-events') }) : null;
  events?.setMaxListeners(0);
  await events?.waitUntilReady();

  const once = async (): Promise<void> => {
    const id = randomUUID();
    if (mechanism === 'raw-list') {
      const reply = reader.wait(id);
      await producer.lpush(`${name}:requests`, JSON.stringify({ id, replyTo: replyList }));
      return reply;
    }
    const options = { jobId: id, removeOnComplete: { count: 1_000 }, removeOnFail: { count: 1_000 } };
    if (mechanism === 'bullmq-reply-list') {
      const reply = reader.wait(id);
      await queue?.add('echo', { replyTo: replyList }, options);
      return reply;
    }
    const job = await queue?.add('echo', {}, options);
    if (job && events) await job.waitUntilFinished(events, 10_000);
  };

  // Warm up connections and code paths before timing.
  await Promise.all(Array.from({ length: Math.min(concurrency, 16) }, once));
  const total = concurrency === 1 ? Math.min(REQUESTS_PER_RUN, 500) : REQUESTS_PER_RUN;
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < total) {
        issued += 1;
        const t0 = performance.now();
        await once();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);

  reader.stop();
  consumer.kill('SIGKILL');
  await events?.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  producer.disconnect();
  return { throughputPerSecond: Math.round((latencies.length / elapsedMs) * 1000), p50Ms: +percentile(latencies, 50).toFixed(3), p99Ms: +percentile(latencies, 99).toFixed(3) };
}

async function main(): Promise<void> {
  let redisUrl = process.env['REDIS_URL'];
  let stopRedis: (() => Promise<void>) | null = null;
  if (!redisUrl) {
    const workDir = mkdtempSync(join(tmpdir(), 'wagw-bench-'));
    const redis = await startRedisServer({ binary: locateRedisServer(join(DATA_DIR, 'redis')), port: await findFreePort(), dataDir: workDir, persistent: false });
    redisUrl = redis.url;
    stopRedis = async () => {
      await redis.stop();
      rmSync(workDir, { recursive: true, force: true });
    };
  }
  try {
    await measureAll(redisUrl);
  } finally {
    // A failed run must not leave its Redis behind.
    await stopRedis?.();
  }
  process.exit(0);
}

async function measureAll(redisUrl: string): Promise<void> {
  const results: Record<string, Record<string, RunResult & { runs: RunResult[] }>> = {};
  for (const mechanism of MECHANISMS) {
    results[mechanism] = {};
    for (const concurrency of CONCURRENCIES) {
      const runs: RunResult[] = [];
      for (let run = 0; run < RUNS; run += 1) runs.push(await measure(mechanism, redisUrl, concurrency));
      const summary = {
        throughputPerSecond: median(runs.map((run) => run.throughputPerSecond)),
        p50Ms: median(runs.map((run) => run.p50Ms)),
        p99Ms: median(runs.map((run) => run.p99Ms)),
        runs,
      };
      results[mechanism][`c${concurrency}`] = summary;
      process.stdout.write(`${mechanism.padEnd(18)} c=${String(concurrency).padEnd(3)} ${String(summary.throughputPerSecond).padStart(7)}/s  p50 ${summary.p50Ms.toFixed(2)} ms  p99 ${summary.p99Ms.toFixed(2)} ms\n`);
    }
  }
  const ratios = Object.fromEntries(
    (['bullmq-events', 'bullmq-reply-list'] as const).map((mechanism) => [
      mechanism,
      Object.fromEntries(CONCURRENCIES.map((c) => [`c${c}`, +((results[mechanism]?.[`c${c}`]?.throughputPerSecond ?? 0) / (results['raw-list']?.[`c${c}`]?.throughputPerSecond ?? 1)).toFixed(2)])),
    ]),
  );
  const output = {
    benchmark: 'request-reply',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    method: `a worker process answers echo requests over Redis; ${RUNS} runs of ${REQUESTS_PER_RUN} requests per setting (500 at c=1); medians`,
    results,
    throughputRatioToFloor: ratios,
  };
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench', 'results', 'request-reply.json'), `${JSON.stringify(output, null, 2)}\n`);
  process.stdout.write(`ratios to the raw Redis floor: ${JSON.stringify(ratios)}\nwritten to bench/results/request-reply.json\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
