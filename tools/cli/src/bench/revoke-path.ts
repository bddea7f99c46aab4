#!/usr/bin/env node
// `npm run bench` part 1: the revoke path end to end (HTTP → gateway → outbox → BullMQ → worker → Baileys
// → emulator and back) at concurrency 1, 16 and 64, beside two floors measured in the same run: a bare
// Fastify route doing the same Postgres lookups plus one raw Redis round trip, and bare Baileys (one
// socket per session, durable fenced keys, nothing else: baileys-floor.ts). Everything runs on this
// machine: Postgres, Redis, the emulator (in this process), the gateway, one worker, the webhook
// dispatcher (fanning each `message.revoked` out; no endpoint is registered) and the floors.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { generateApiKey } from '@wagw/auth';
import { CAPABILITIES } from '@wagw/contracts';
import { ApiKeysRepository, createDbClient, SessionsRepository, type DbClient } from '@wagw/db';
import { OrganizationProvisioningRepository } from '@wagw/db/system';
import { findFreePort } from '@wagw/embedded';
import { deliveryReport, WaEmulator } from '@wagw/wa-emulator';
import { REPO_ROOT } from '../paths.js';
import type { FloorReply, FloorRequest } from './baileys-floor.js';
import { machineDescription, residentMiB, startCpuMeter, storeCounters, storeWorkSince, type StoreWork, startBenchStores, waitFor, waitUntilReady, writeBenchResult } from './bench-support.js';
import { latencySummary, median, type LatencySummary } from './stats.js';

const CONCURRENCIES = [1, 16, 64];
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const REQUESTS = Number(process.env['BENCH_REVOKES'] ?? 1_500);
const SESSIONS = Number(process.env['BENCH_SESSIONS'] ?? 4);
const WORKERS = Number(process.env['BENCH_WORKERS'] ?? 1);
// V8 shrinks each heap once some seconds after start-up's last major collection ("memory reducer", 100 ms
// of CPU and more): the idle window opens 30 s after the sessions connected and 50 s after the last app
// started, past that, so it sees the steady state.
const IDLE_SETTLE_MS = 30_000;
const IDLE_SETTLE_AFTER_START_MS = 50_000;
const HEAP_SNAPSHOT = process.env['BENCH_HEAP_SNAPSHOT'] === '1';
// BENCH_ONLY=idle measures the stack at rest, prints it and stops: no load, no results file.
const IDLE_ONLY = process.env['BENCH_ONLY'] === 'idle';
const IDLE_WINDOW_MS = 20_000;
/** The image sent beside the text sends: a real 1×1 PNG padded to about 100 KB (the type check reads its header). */
const IMAGE_BYTES = 100 * 1024;
const ONE_PIXEL_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

interface Target {
  baseUrl: string;
  apiKey: string;
  /** The next request: a revoke of a distinct message, or a send. */
  next(): { method: 'DELETE' | 'POST'; path: string; body: string };
}

/**
 * Fires `total` requests with `concurrency` in flight; latencies of 2xx answers, a count of the rest.
 * The waMessageId of every revoke answered `sent` goes into `answeredSent`, to be counted at the peer.
 */
async function load(target: Target, concurrency: number, total: number, agent: Agent, answeredSent: string[] = []): Promise<LatencySummary & { errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (issued < total) {
      issued += 1;
      const { method, path, body } = target.next();
      const begin = performance.now();
      const response = await request(`${target.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' },
        body,
        dispatcher: agent,
      });
      const text = await response.body.text();
      if (response.statusCode === 200) latencies.push(performance.now() - begin);
      else errors += 1;
      if (response.statusCode === 200 && text.includes('"status":"sent"')) answeredSent.push((JSON.parse(text) as { waMessageId: string }).waMessageId);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { ...latencySummary(latencies, performance.now() - started), errors };
}

/** Sends `request` to the bare-Baileys floor and answers its reply of type `until`, scanning QR codes meanwhile. */
function askBaileysFloor<Type extends FloorReply['type']>(child: ChildProcess, request: FloorRequest | null, until: Type, onQr: (index: number, qr: string) => void = () => undefined): Promise<Extract<FloorReply, { type: Type }>> {
  return new Promise((resolve) => {
    const listen = (reply: FloorReply): void => {
      if (reply.type === 'qr') onQr(reply.index, reply.qr);
      if (reply.type !== until) return;
      child.off('message', listen);
      resolve(reply as Extract<FloorReply, { type: Type }>);
    };
    child.on('message', listen);
    if (request) child.send(request);
  });
}

function spawnApp(name: string, env: Record<string, string>, port: number, profileName = name): Promise<ChildProcess> {
  // BENCH_PROFILE=1 writes a V8 CPU profile of each app to bench/profiles/ when it exits. BENCH_PROFILE=perf
  // has each app write /tmp/perf-PID.map instead, so that `perf record -p PID` names its JavaScript
  // functions, at a small fraction of the V8 profiler's cost.
  const profile = process.env['BENCH_PROFILE'];
  const execArgv = profile === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(REPO_ROOT, 'bench', 'profiles')}`, `--cpu-prof-name=${profileName}.cpuprofile`] : profile === 'perf' ? ['--perf-basic-prof-only-functions'] : [];
  // BENCH_HEAP_SNAPSHOT=1 lets the benchmark ask each app for a V8 heap snapshot after the load (SIGUSR2).
  if (HEAP_SNAPSHOT) execArgv.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${join(REPO_ROOT, 'bench', 'profiles')}`);
  // Node writes profiles and snapshots only into a directory that exists.
  if (execArgv.length > 0) mkdirSync(join(REPO_ROOT, 'bench', 'profiles'), { recursive: true });
  const child = fork(join(REPO_ROOT, 'apps', name, 'dist', 'main.js'), [], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
  return waitUntilReady(`http://127.0.0.1:${port}/readyz`).then(() => child);
}

/** Asks each app for a V8 heap snapshot (into bench/profiles/), one at a time: an app answers /metrics again once its snapshot is written. */
async function writeHeapSnapshots(processes: Record<string, number | undefined>, metricsPorts: Record<string, number>, when: string): Promise<void> {
  for (const [name, pid] of Object.entries(processes)) {
    const port = metricsPorts[name];
    if (pid === undefined || port === undefined) continue;
    process.kill(pid, 'SIGUSR2');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await fetch(`http://127.0.0.1:${port}/metrics`);
    process.stdout.write(`heap snapshot of ${name} ${when} written to bench/profiles/ (pid ${pid})\n`);
  }
}

/** Creates, starts and pairs a session through the API, the emulator's phone scanning its QR. */
async function connectSession(baseUrl: string, apiKey: string, emulator: WaEmulator, phone: string): Promise<string> {
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const created = (await (await fetch(`${baseUrl}/api/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ name: `bench-${phone}`, start: true }) })).json()) as { id: string };
  const qr = await waitFor(async () => {
    const response = await fetch(`${baseUrl}/api/v1/sessions/${created.id}/qr`, { headers });
    return response.ok ? ((await response.json()) as { qr: string }).qr : undefined;
  }, 'a QR code');
  await emulator.scanQr(qr, phone);
  await waitFor(async () => (((await (await fetch(`${baseUrl}/api/v1/sessions/${created.id}`, { headers })).json()) as { status: string }).status === 'connected' ? true : undefined), 'connected');
  return created.id;
}

/** Messages the sessions sent earlier, in our store, ready to be revoked (each once). */
async function seedMessages(db: DbClient, orgId: string, sessionIds: string[], peerJid: string, count: number): Promise<Array<{ session: string; mid: string }>> {
  const targets: Array<{ session: string; mid: string }> = [];
  const now = Math.floor(Date.now() / 1000);
  for (let offset = 0; offset < count; offset += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, count - offset) }, (_, index) => {
      const session = sessionIds[(offset + index) % sessionIds.length] ?? '';
      const mid = `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
      targets.push({ session, mid });
      return { orgId, sessionId: session, waMessageId: mid, chatJid: peerJid, fromMe: true, messageType: 'conversation', text: 'benchmark', timestamp: BigInt(now), raw: {} };
    });
    await db.storedMessage.createMany({ data: batch });
  }
  return targets;
}

/**
 * The database and Redis work one revoke costs (gateway, worker and dispatcher together), measured over a short
 * run of its own at concurrency 1.
 */
async function measureStoreWork(db: DbClient, redisUrl: string, run: () => Promise<{ count: number }>): Promise<StoreWork> {
  const redis = new Redis(redisUrl);
  const before = await storeCounters(db, redis);
  const { count } = await run();
  const work = await storeWorkSince(db, redis, before, count);
  await redis.quit();
  return work;
}

/** Medians over the runs of one series, with their counts summed and each run kept. */
function summarize(runs: Array<LatencySummary & { errors: number }>) {
  return {
    throughputPerSecond: median(runs.map((result) => result.throughputPerSecond)),
    p50Ms: median(runs.map((result) => result.p50Ms)),
    p95Ms: median(runs.map((result) => result.p95Ms)),
    p99Ms: median(runs.map((result) => result.p99Ms)),
    count: runs.reduce((sum, result) => sum + result.count, 0),
    errors: runs.reduce((sum, result) => sum + result.errors, 0),
    runs,
  };
}

/** The sum over the processes, to one decimal. */
function total(byProcess: Record<string, number>): number {
  return +Object.values(byProcess).reduce((sum, value) => sum + value, 0).toFixed(1);
}

/** Each app's V8 heap in MiB, used and committed, as its /metrics reports it (prom-client's default metrics). */
async function v8Heaps(ports: Record<string, number>): Promise<Record<string, { usedMiB: number; totalMiB: number }>> {
  const read = async (port: number) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const mib = (metric: string): number => +(Number(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20).toFixed(1);
    return { usedMiB: mib('nodejs_heap_size_used_bytes'), totalMiB: mib('nodejs_heap_size_total_bytes') };
  };
  return Object.fromEntries(await Promise.all(Object.entries(ports).map(async ([name, port]) => [name, await read(port)] as const)));
}

/**
 * The whole stack with no traffic (sessions connected, nothing sent yet): CPU per second of the apps, Postgres
 * and Redis over a window of its own, and the apps' resident memory at its end.
 */
async function measureIdle(processes: Record<string, number | undefined>, db: DbClient, redisUrl: string, appsStartedAt: number) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(IDLE_SETTLE_MS, appsStartedAt + IDLE_SETTLE_AFTER_START_MS - Date.now())));
  const redis = new Redis(redisUrl);
  const counters = await storeCounters(db, redis);
  const cpu = startCpuMeter(processes, 'bench (emulator and load)');
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
  const cpuMsPerSecond = cpu.perUnit(IDLE_WINDOW_MS / 1000);
  const resident = residentMiB(processes);
  const proportional = residentMiB(processes, 'pss');
  const storeWorkPerSecond = await storeWorkSince(db, redis, counters, IDLE_WINDOW_MS / 1000, { atRest: true });
  await redis.quit();
  return {
    windowSeconds: IDLE_WINDOW_MS / 1000,
    cpuMsPerSecond,
    stackCpuMsPerSecond: +[...Object.keys(processes), 'postgres', 'redis-server'].reduce((sum, name) => sum + (cpuMsPerSecond[name] ?? 0), 0).toFixed(1),
    residentMiB: resident,
    appsResidentMiB: total(resident),
    proportionalMiB: proportional,
    appsProportionalMiB: total(proportional),
    storeWorkPerSecond,
  };
}

async function main(): Promise<void> {
  const stores = await startBenchStores('revoke');
  const children: ChildProcess[] = [];
  const emulator = new WaEmulator();
  try {
    const db = createDbClient({ databaseUrl: stores.databaseUrl, poolSize: 4 });
    await emulator.start();
    const gatewayPort = await findFreePort();
    // MALLOC_ARENA_MAX as the Dockerfile sets it for the apps.
    const common = { DATABASE_URL: stores.databaseUrl, REDIS_URL: stores.redisUrl, HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production', MALLOC_ARENA_MAX: process.env['BENCH_MALLOC_ARENA_MAX'] ?? '2' };
    const gateway = await spawnApp('api-gateway', { ...common, PORT: String(gatewayPort), RATE_LIMIT_KEY_READS: '0', RATE_LIMIT_KEY_WRITES: '0', RATE_LIMIT_ORG_READS: '0', RATE_LIMIT_ORG_WRITES: '0', DATABASE_POOL_SIZE: '20' }, gatewayPort);
    children.push(gateway);
    const workers: ChildProcess[] = [];
    // Where each app answers /metrics, for its V8 heap figures.
    const metricsPorts: Record<string, number> = { 'api-gateway': gatewayPort };
    for (let index = 0; index < WORKERS; index += 1) {
      const workerPort = await findFreePort();
      metricsPorts[`session-worker-${index + 1}`] = workerPort;
      workers.push(await spawnApp('session-worker', { ...common, HEALTH_PORT: String(workerPort), WORKER_ID: `bench-worker-${index + 1}`, WA_WEBSOCKET_URL: emulator.url, WA_TRUST_ROOT_KEY: emulator.rootPublicKey.toString('hex'), WA_MEDIA_CA: emulator.mediaCaCertificate, DATABASE_POOL_SIZE: '20' }, workerPort, `session-worker-${index + 1}`));
    }
    children.push(...workers);
    const dispatcherPort = await findFreePort();
    metricsPorts['webhook-dispatcher'] = dispatcherPort;
    const dispatcher = await spawnApp('webhook-dispatcher', { ...common, HEALTH_PORT: String(dispatcherPort), WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'), DATABASE_POOL_SIZE: '10' }, dispatcherPort);
    children.push(dispatcher);
    const appsStartedAt = Date.now();
    const baileysFloor = fork(join(REPO_ROOT, 'tools', 'cli', 'dist', 'bench', 'baileys-floor.js'), [stores.databaseUrl, emulator.url, emulator.rootPublicKey.toString('hex')], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(baileysFloor);
    const floorReady = askBaileysFloor(baileysFloor, null, 'ready');
    const floorPort = await findFreePort();
    const floor = fork(join(REPO_ROOT, 'tools', 'cli', 'dist', 'bench', 'floor-server.js'), [stores.databaseUrl, stores.redisUrl, String(floorPort)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(floor);
    await new Promise<void>((resolve) => floor.once('message', () => resolve()));

    const org = await new OrganizationProvisioningRepository(db).create('bench');
    const key = generateApiKey();
    await new ApiKeysRepository(db).create(org.id, { name: 'bench', prefix: key.prefix, secretHash: key.secretHash, capabilities: CAPABILITIES, createdBy: 'bench' });
    const peer = '15559000000';
    emulator.createAccount({ phone: peer, pushName: 'Peer' });
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const sessionIds: string[] = [];
    for (let index = 0; index < SESSIONS; index += 1) {
      const phone = `1555900${String(index + 1).padStart(4, '0')}`;
      emulator.createAccount({ phone, pushName: `Bench ${index}` });
      sessionIds.push(await connectSession(gatewayUrl, key.key, emulator, phone));
    }
    process.stdout.write(`${SESSIONS} sessions connected through the emulator\n`);
    const processes = { 'api-gateway': gateway.pid, ...Object.fromEntries(workers.map((worker, n) => [`session-worker-${n + 1}`, worker.pid])), 'webhook-dispatcher': dispatcher.pid };
    const idleBeforeLoad = await measureIdle(processes, db, stores.redisUrl, appsStartedAt);
    if (HEAP_SNAPSHOT) await writeHeapSnapshots(processes, metricsPorts, 'at rest');
    process.stdout.write(`idle: ${idleBeforeLoad.stackCpuMsPerSecond} ms/s CPU (whole stack), three apps ${idleBeforeLoad.appsResidentMiB} MiB resident, ${idleBeforeLoad.appsProportionalMiB} MiB proportional ${JSON.stringify(idleBeforeLoad.residentMiB)}\n`);
    if (IDLE_ONLY) {
      process.stdout.write(`idle CPU ms/s by process: ${JSON.stringify(idleBeforeLoad.cpuMsPerSecond)}; V8 heaps ${JSON.stringify(await v8Heaps(metricsPorts))}; store work per second ${JSON.stringify(idleBeforeLoad.storeWorkPerSecond)}\n`);
      await db.$disconnect();
      return;
    }
    const sessionRows = new SessionsRepository(db);
    if ((await Promise.all(sessionIds.map((id) => sessionRows.findById(org.id, id)))).some((row) => row?.status !== 'connected')) throw new Error('a session is not connected');

    const perRun = CONCURRENCIES.map((concurrency) => (concurrency === 1 ? Math.ceil(REQUESTS / 3) : REQUESTS));
    const needed = perRun.reduce((sum, count) => sum + count, 0) * (RUNS + 1);
    const messages = await seedMessages(db, org.id, sessionIds, `${peer}@s.whatsapp.net`, needed);
    // Planner statistics for the freshly loaded table, as autovacuum keeps them on a live database.
    await db.$executeRawUnsafe('ANALYZE');
    let cursor = 0;
    const next = (): { method: 'DELETE'; path: string; body: string } => {
      const target = messages[cursor % messages.length];
      cursor += 1;
      if (!target) throw new Error('no messages seeded');
      return { method: 'DELETE', path: `/api/v1/sessions/${target.session}/messages/${target.mid}`, body: '{}' };
    };
    let sendCursor = 0;
    const nextSend = (): { method: 'POST'; path: string; body: string } => {
      sendCursor += 1;
      const session = sessionIds[sendCursor % sessionIds.length] ?? '';
      return { method: 'POST', path: `/api/v1/sessions/${session}/messages`, body: JSON.stringify({ chat: `${peer}@s.whatsapp.net`, text: `benchmark send ${sendCursor}` }) };
    };
    const imageData = Buffer.concat([ONE_PIXEL_PNG, Buffer.alloc(IMAGE_BYTES - ONE_PIXEL_PNG.length, 0x5a)]).toString('base64');
    let imageCursor = 0;
    const nextImage = (): { method: 'POST'; path: string; body: string } => {
      imageCursor += 1;
      const session = sessionIds[imageCursor % sessionIds.length] ?? '';
      return { method: 'POST', path: `/api/v1/sessions/${session}/messages`, body: JSON.stringify({ chat: `${peer}@s.whatsapp.net`, image: { data: imageData, mimetype: 'image/png', caption: `benchmark image ${imageCursor}` } }) };
    };
    const agent = new Agent({ connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
    const peerJid = `${peer}@s.whatsapp.net`;
    const runBaileysFloor = async (concurrency: number, total: number, answered: string[] = []): Promise<LatencySummary & { errors: number }> => {
      const ran = await askBaileysFloor(baileysFloor, { type: 'run', concurrency, total, chat: peerJid }, 'ran');
      answered.push(...ran.sentIds);
      return { ...latencySummary(ran.latenciesMs, ran.wallMs), errors: ran.errors };
    };
    const targets: Record<'gateway' | 'floor' | 'send' | 'image', Target> = {
      image: { baseUrl: gatewayUrl, apiKey: key.key, next: nextImage },
      gateway: { baseUrl: gatewayUrl, apiKey: key.key, next },
      floor: { baseUrl: `http://127.0.0.1:${floorPort}`, apiKey: key.key, next },
      send: { baseUrl: gatewayUrl, apiKey: key.key, next: nextSend },
    };

    // Every revoke the gateway answered `sent`, by the concurrency it ran at (warm-up and store-work
    // runs included): each must reach the peer exactly once.
    const answeredSent = new Map<string, string[]>();
    const sentAt = (label: string): string[] => answeredSent.get(label) ?? answeredSent.set(label, []).get(label) ?? [];
    // One warm-up pass of each (JIT, connection pools, Signal sessions), not recorded.
    await load(targets.floor, 16, 200, agent);
    await load(targets.gateway, 16, 200, agent, sentAt('warm-up'));
    const workPerRevoke = await measureStoreWork(db, stores.redisUrl, () => load(targets.gateway, 1, 100, agent, sentAt('store-work')));
    // Paired after the store work was counted: its commits must not be counted as the gateway's.
    // The bare-Baileys floor's own logins, as many as the gateway's sessions, each a session row it
    // holds at epoch 1 (its key writes are fenced on it, as the worker's are).
    await floorReady;
    const floorOrg = await new OrganizationProvisioningRepository(db).create('bench-baileys-floor');
    const floorSessions = [];
    const floorPhones: string[] = [];
    for (let index = 0; index < SESSIONS; index += 1) {
      const row = await new SessionsRepository(db).create(floorOrg.id, { name: `floor-${index}`, createdBy: 'bench' });
      await new SessionsRepository(db).claimAsOwner({ orgId: floorOrg.id, sessionId: row.id, epoch: 1 }, 'baileys-floor', {}, null);
      floorSessions.push({ orgId: floorOrg.id, sessionId: row.id, epoch: 1 });
      floorPhones.push(`1555901${String(index + 1).padStart(4, '0')}`);
      emulator.createAccount({ phone: floorPhones[index] ?? '', pushName: `Floor ${index}` });
    }
    await askBaileysFloor(baileysFloor, { type: 'pair', sessions: floorSessions }, 'paired', (index, qr) => void emulator.scanQr(qr, floorPhones[index] ?? ''));
    process.stdout.write(`${SESSIONS} bare Baileys sockets connected through the emulator\n`);
    await runBaileysFloor(16, 200, sentAt('baileys warm-up'));
    const sumOf = (cpu: Record<string, number> | undefined, names: string[]): number => +names.reduce((sum, name) => sum + (cpu?.[name] ?? 0), 0).toFixed(2);
    // CPU per request of every process, by target and concurrency (c=16 and c=64).
    const cpuMsPerRequest: Record<string, Record<string, Record<string, number>>> = { c16: {}, c64: {} };
    const results: Record<string, Record<string, LatencySummary & { errors: number; runs: Array<LatencySummary & { errors: number }> }>> = { gateway: {}, floor: {}, baileys: {} };
    for (const [index, concurrency] of CONCURRENCIES.entries()) {
      for (const name of ['floor', 'baileys', 'gateway'] as const) {
        const runs: Array<LatencySummary & { errors: number }> = [];
        const cpu = startCpuMeter({ ...processes, 'floor-server': floor.pid, 'baileys-floor': baileysFloor.pid }, 'bench (emulator and load)');
        const count = perRun[index] ?? REQUESTS;
        for (let run = 0; run < RUNS; run += 1) {
          if (name === 'baileys') runs.push(await runBaileysFloor(concurrency, count, sentAt(`baileys c${concurrency}`)));
          else runs.push(await load(targets[name], concurrency, count, agent, name === 'gateway' ? sentAt(`c${concurrency}`) : []));
        }
        const completed = runs.reduce((sum, result) => sum + result.count + result.errors, 0);
        const byConcurrency = cpuMsPerRequest[`c${concurrency}`];
        if (byConcurrency) byConcurrency[name] = cpu.perUnit(completed);
        const summary = summarize(runs);
        (results[name] ??= {})[`c${concurrency}`] = summary;
        process.stdout.write(`${name.padEnd(8)} c=${String(concurrency).padEnd(3)} ${summary.throughputPerSecond.toFixed(0)}/s p50 ${summary.p50Ms.toFixed(2)} ms p99 ${summary.p99Ms.toFixed(2)} ms errors ${summary.errors}\n`);
      }
    }
    // Sends share the path (outbox, queue, worker, Baileys): text sends at c=16, counted at the peer as revokes are.
    await load(targets.send, 16, 200, agent, sentAt('send warm-up'));
    const sendCpu = startCpuMeter(processes, 'bench (emulator and load)');
    const sendRuns: Array<LatencySummary & { errors: number }> = [];
    for (let run = 0; run < RUNS; run += 1) sendRuns.push(await load(targets.send, 16, REQUESTS, agent, sentAt('send c16')));
    const sendCpuPerMessage = sendCpu.perUnit(sendRuns.reduce((sum, result) => sum + result.count + result.errors, 0));
    const send = { c16: summarize(sendRuns) };
    process.stdout.write(`send     c=16  ${send.c16.throughputPerSecond.toFixed(0)}/s p50 ${send.c16.p50Ms.toFixed(2)} ms p99 ${send.c16.p99Ms.toFixed(2)} ms errors ${send.c16.errors}\n`);
    // Image sends: the same path plus the type check, Baileys' encryption and the upload to the media host.
    await load(targets.image, 16, 50, agent, sentAt('image warm-up'));
    const imageCpu = startCpuMeter(processes, 'bench (emulator and load)');
    const imageRuns: Array<LatencySummary & { errors: number }> = [];
    for (let run = 0; run < RUNS; run += 1) imageRuns.push(await load(targets.image, 16, Math.ceil(REQUESTS / 3), agent, sentAt('image c16')));
    const imageCpuPerMessage = imageCpu.perUnit(imageRuns.reduce((sum, result) => sum + result.count + result.errors, 0));
    const imageSend = { bytes: IMAGE_BYTES, c16: summarize(imageRuns) };
    process.stdout.write(`image    c=16  ${imageSend.c16.throughputPerSecond.toFixed(0)}/s p50 ${imageSend.c16.p50Ms.toFixed(2)} ms p99 ${imageSend.c16.p99Ms.toFixed(2)} ms errors ${imageSend.c16.errors}\n`);
    // Memory as the load left the heaps, with no traffic.
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    const idle = { ...idleBeforeLoad, residentMiBAfterLoad: residentMiB(processes), proportionalMiBAfterLoad: residentMiB(processes, 'pss'), v8HeapAfterLoad: await v8Heaps(metricsPorts) };
    const afterLoad = { appsResidentMiBAfterLoad: total(idle.residentMiBAfterLoad), appsProportionalMiBAfterLoad: total(idle.proportionalMiBAfterLoad) };
    process.stdout.write(`idle after the load: three apps ${afterLoad.appsResidentMiBAfterLoad} MiB resident, ${afterLoad.appsProportionalMiBAfterLoad} MiB proportional ${JSON.stringify(idle.residentMiBAfterLoad)}; V8 heaps ${JSON.stringify(idle.v8HeapAfterLoad)}\n`);
    if (HEAP_SNAPSHOT) await writeHeapSnapshots(processes, metricsPorts, 'after the load');
    // Where the time goes: from the outbox row's creation (gateway) to its completion (worker, after
    // WhatsApp took the REVOKE and the revoke was stored with its event).
    const [breakdown] = await db.$queryRaw<Array<{ p50: number; p99: number }>>`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) * 1000) AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) * 1000) AS p99
        FROM outbox_operations WHERE kind = 'revoke' AND completed_at IS NOT NULL`;
    // What the peer's phone decrypted, per revoke answered `sent`, at each concurrency.
    const allSent = [...answeredSent.values()].flat();
    // One image as the peer's phone opens it: the bytes sent are the bytes that arrived.
    const firstImage = answeredSent.get('image c16')?.[0];
    const imageAtPeer = firstImage === undefined ? undefined : await waitFor(async () => emulator.received(peer).find((entry) => entry.id === firstImage), 'an image at the peer', 10_000);
    if (imageAtPeer && (await emulator.decryptMedia(imageAtPeer.message)).bytes.toString('base64') !== imageData) throw new Error('the image the peer decrypted is not the one sent');
    await waitFor(async () => (deliveryReport(allSent, emulator.received(peer), [], { phone: peer, deviceId: 0 }).lost === 0 ? true : undefined), 'every revoke at the peer', 10_000).catch(() => undefined);
    const countAtPeer = (ids: readonly string[]) => {
      const { sent, received, lost, duplicated } = deliveryReport(ids, emulator.received(peer), [], { phone: peer, deviceId: 0 });
      return { sent, received, lost, duplicated };
    };
    const delivery = {
      all: { ...countAtPeer(allSent), undecryptable: emulator.undecryptable(peer).length },
      byRun: Object.fromEntries([...answeredSent].map(([label, ids]) => [label, countAtPeer(ids)])),
    };
    // What a revoke costs in all of our processes, against what it costs bare Baileys with durable keys.
    const ours = ['api-gateway', ...workers.map((_, n) => `session-worker-${n + 1}`), 'webhook-dispatcher', 'postgres', 'redis-server'];
    const cpuPerRevoke = Object.fromEntries(
      (['c16', 'c64'] as const).map((c) => {
        const gatewayCpu = sumOf(cpuMsPerRequest[c]?.['gateway'], ours);
        const floorCpu = sumOf(cpuMsPerRequest[c]?.['baileys'], ['baileys-floor', 'postgres', 'redis-server']);
        return [c, { ours: gatewayCpu, baileysFloor: floorCpu, floorOverOurs: +(floorCpu / (gatewayCpu || 1)).toFixed(2) }];
      }),
    );
    const output = {
      benchmark: 'revoke-path',
      date: new Date().toISOString(),
      machine: machineDescription(),
      settings: { runs: RUNS, requestsPerRun: perRun, sessions: SESSIONS, concurrencies: CONCURRENCIES },
      floor: 'bare Fastify route: API key, session and message lookups in Postgres plus one Redis PING',
      baileysFloor: 'bare Baileys: one socket per session against the same emulator, waiting for the server ack, with the fenced key write as one prepared statement (pg); no HTTP, queue, outbox or store',
      results,
      ratioToFloor: Object.fromEntries(CONCURRENCIES.map((c) => [`c${c}`, +((results['gateway']?.[`c${c}`]?.throughputPerSecond ?? 0) / (results['floor']?.[`c${c}`]?.throughputPerSecond ?? 1)).toFixed(2)])),
      ratioToBaileysFloor: Object.fromEntries(CONCURRENCIES.map((c) => [`c${c}`, +((results['gateway']?.[`c${c}`]?.throughputPerSecond ?? 0) / (results['baileys']?.[`c${c}`]?.throughputPerSecond ?? 1)).toFixed(2)])),
      p50AtC1OverBaileysFloor: +((results['gateway']?.['c1']?.p50Ms ?? 0) / (results['baileys']?.['c1']?.p50Ms ?? 1)).toFixed(2),
      cpuPerRevoke,
      send: { ...send, cpuMsPerMessage: { ...sendCpuPerMessage, ours: sumOf(sendCpuPerMessage, ours) } },
      imageSend: { ...imageSend, cpuMsPerMessage: { ...imageCpuPerMessage, ours: sumOf(imageCpuPerMessage, ours) } },
      idle: { ...idle, ...afterLoad },
      targets: { cpuMsPerRevokeAtC16: 6, c1P50Ms: 8, c1P50OverBaileysFloor: 1.5, c16ThroughputPerSecond: 200, baileysFloorCpuRatio: 0.6, sendC16ThroughputPerSecond: 150, idleStackCpuMsPerSecond: 20, idleAppsResidentMiB: 400 },
      delivery,
      workPerRevoke,
      cpuMsPerRequest,
      outboxCreatedToCompletedMs: { p50: Number(breakdown?.p50 ?? 0), p99: Number(breakdown?.p99 ?? 0) },
    };
    writeBenchResult('revoke-path', output);
    process.stdout.write(`ratio to floor: ${JSON.stringify(output.ratioToFloor)}\n`);
    process.stdout.write(`revokes and sends answered sent ${delivery.all.sent}, decrypted by the peer ${delivery.all.received}, lost ${delivery.all.lost}, duplicated ${delivery.all.duplicated}, undecryptable ${delivery.all.undecryptable}\n`);
    process.stdout.write(`per revoke: ${workPerRevoke.postgresStatements} Postgres statements in ${workPerRevoke.postgresTransactions} transactions (${workPerRevoke.postgresWriteTransactions} writing), ${workPerRevoke.redisCommands} Redis commands\n`);
    process.stdout.write(`CPU ms per revoke (ours: gateway + worker + dispatcher + Postgres + Redis; floor: bare Baileys + Postgres + Redis): ${JSON.stringify(cpuPerRevoke)}\n`);
    process.stdout.write(`CPU ms per request by process: ${JSON.stringify(cpuMsPerRequest)}\nwrote bench/results/revoke-path.json\n`);
    await agent.close();
    await db.$disconnect();
    if (delivery.all.lost > 0 || delivery.all.duplicated > 0 || delivery.all.undecryptable > 0) throw new Error(`revokes and sends answered sent did not all reach the peer exactly once: ${JSON.stringify(delivery.all)}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
    await emulator.stop();
    await stores.stop();
  }
}

await main();
