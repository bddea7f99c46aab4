#!/usr/bin/env node
// `npm run bench` part 4: how many connected sessions one worker holds. Sessions are paired through the
// API and the emulator's phone, then the worker's resident memory is read at each step (100 and 500 by
// default); last, the worker is restarted and the time for the fresh one to reconnect all of them is
// measured (from its start to the last session `connected` in Postgres).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKey } from '@wagw/auth';
import { CAPABILITIES } from '@wagw/contracts';
import { ApiKeysRepository, createDbClient, type DbClient } from '@wagw/db';
import { OrganizationProvisioningRepository } from '@wagw/db/system';
import { findFreePort } from '@wagw/embedded';
import { WaEmulator } from '@wagw/wa-emulator';
import { REPO_ROOT } from '../paths.js';
import { machineDescription, startBenchStores, waitFor, waitUntilReady, writeBenchResult } from './bench-support.js';

const STEPS = (process.env['BENCH_SESSION_COUNTS'] ?? '100,500').split(',').map(Number);
/** Pairings in flight at once: each is a QR fetch, a scan, and the client's handshake. */
const PAIRING_CONCURRENCY = Number(process.env['BENCH_PAIRING_CONCURRENCY'] ?? 8);

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/** The worker's own log (warnings and errors) goes to bench/profiles/, to read when a step fails. */
function spawnWorker(env: Record<string, string>, port: number): Promise<ChildProcess> {
  mkdirSync(join(REPO_ROOT, 'bench', 'profiles'), { recursive: true });
  const log = openSync(join(REPO_ROOT, 'bench', 'profiles', `${env['WORKER_ID'] ?? 'worker'}.log`), 'w');
  const child = fork(join(REPO_ROOT, 'apps', 'session-worker', 'dist', 'main.js'), [], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', log, 'inherit', 'ipc'] });
  return waitUntilReady(`http://127.0.0.1:${port}/readyz`).then(() => child);
}

async function connectedCount(db: DbClient, orgId: string, workerId?: string): Promise<number> {
  return db.whatsAppSession.count({ where: { orgId, status: 'connected', ...(workerId ? { ownerWorkerId: workerId } : {}) } });
}

async function main(): Promise<void> {
  const stores = await startBenchStores('sessions');
  const emulator = new WaEmulator();
  const children: ChildProcess[] = [];
  try {
    const db = createDbClient({ databaseUrl: stores.databaseUrl, poolSize: 4 });
    await emulator.start();
    const common = { DATABASE_URL: stores.databaseUrl, REDIS_URL: stores.redisUrl, HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production' };
    const gatewayPort = await findFreePort();
    const gateway = fork(join(REPO_ROOT, 'apps', 'api-gateway', 'dist', 'main.js'), [], { env: { PATH: process.env['PATH'] ?? '', ...common, PORT: String(gatewayPort), RATE_LIMIT_KEY_READS: '0', RATE_LIMIT_KEY_WRITES: '0', RATE_LIMIT_ORG_READS: '0', RATE_LIMIT_ORG_WRITES: '0' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(gateway);
    const baseUrl = `http://127.0.0.1:${gatewayPort}`;
    await waitUntilReady(`${baseUrl}/readyz`);
    const workerPort = await findFreePort();
    const workerEnv = { ...common, HEALTH_PORT: String(workerPort), WA_WEBSOCKET_URL: emulator.url, WA_TRUST_ROOT_KEY: emulator.rootPublicKey.toString('hex'), DATABASE_POOL_SIZE: '20' };
    let worker = await spawnWorker({ ...workerEnv, WORKER_ID: 'bench-worker-1' }, workerPort);
    children.push(worker);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const baselineMiB = rssMiB(worker.pid ?? 0);

    const org = await new OrganizationProvisioningRepository(db).create('bench');
    const key = generateApiKey();
    await new ApiKeysRepository(db).create(org.id, { name: 'bench', prefix: key.prefix, secretHash: key.secretHash, capabilities: CAPABILITIES, createdBy: 'bench' });
    const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
    const pair = async (index: number): Promise<void> => {
      const phone = `1556${String(index).padStart(7, '0')}`;
      emulator.createAccount({ phone, pushName: `Bench ${index}` });
      const created = (await (await fetch(`${baseUrl}/api/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ name: `bench-${index}`, start: true }) })).json()) as { id: string };
      const qr = await waitFor(async () => {
        const response = await fetch(`${baseUrl}/api/v1/sessions/${created.id}/qr`, { headers });
        return response.ok ? ((await response.json()) as { qr: string }).qr : undefined;
      }, `a QR for session ${index}`, 120_000);
      await emulator.scanQr(qr, phone);
    };

    const steps: Array<{ sessions: number; rssMiB: number; perSessionMiB: number; pairingSeconds: number }> = [];
    let paired = 0;
    for (const target of STEPS) {
      const started = performance.now();
      let next = paired;
      await Promise.all(
        Array.from({ length: PAIRING_CONCURRENCY }, async () => {
          while (next < target) {
            const index = next;
            next += 1;
            await pair(index);
          }
        }),
      );
      paired = target;
      await waitFor(async () => ((await connectedCount(db, org.id)) >= target ? true : undefined), `${target} connected sessions`, 600_000);
      const pairingSeconds = (performance.now() - started) / 1000;
      // Let the post-pairing work (pre-key uploads, app state) settle, then collect garbage before reading.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const rss = rssMiB(worker.pid ?? 0);
      steps.push({ sessions: target, rssMiB: +rss.toFixed(1), perSessionMiB: +((rss - baselineMiB) / target).toFixed(2), pairingSeconds: +pairingSeconds.toFixed(1) });
      process.stdout.write(`${target} sessions: worker RSS ${rss.toFixed(0)} MiB (baseline ${baselineMiB.toFixed(0)} MiB) → ${((rss - baselineMiB) / target).toFixed(2)} MiB per session; paired in ${pairingSeconds.toFixed(0)} s\n`);
    }

    // Restart: the worker hands its sessions back on SIGTERM; a fresh one reconnects them all.
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    const restartedAt = performance.now();
    worker = await spawnWorker({ ...workerEnv, WORKER_ID: 'bench-worker-2' }, workerPort);
    children.push(worker);
    const total = STEPS.at(-1) ?? 0;
    await waitFor(async () => ((await connectedCount(db, org.id, 'bench-worker-2')) >= total ? true : undefined), `${total} sessions restored`, 600_000);
    const restoreSeconds = (performance.now() - restartedAt) / 1000;
    process.stdout.write(`a fresh worker restored all ${total} sessions in ${restoreSeconds.toFixed(1)} s\n`);

    const output = {
      benchmark: 'sessions-per-worker',
      date: new Date().toISOString(),
      machine: machineDescription(),
      settings: { steps: STEPS, pairingConcurrency: PAIRING_CONCURRENCY },
      baselineRssMiB: +baselineMiB.toFixed(1),
      steps,
      restore: { sessions: total, seconds: +restoreSeconds.toFixed(1) },
      targets: { perSessionMiB: 8, restoreSecondsFor500: 60 },
    };
    writeBenchResult('sessions-per-worker', output);
    process.stdout.write('wrote bench/results/sessions-per-worker.json\n');
    await db.$disconnect();
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
    await emulator.stop();
    await stores.stop();
  }
}

await main();
