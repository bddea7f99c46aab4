#!/usr/bin/env node
// `npm start`: the whole gateway on one machine with nothing installed beforehand. Without DATABASE_URL
// an embedded Postgres 17 keeps its data under .data/postgres; without REDIS_URL a local redis-server
// (from PATH, or Debian's package unpacked into .data/redis) keeps its data under .data/redis-data.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateSecretKey } from '@wagw/webhooks';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { applyMigrations } from '@wagw/db';
import {
  isPortFree,
  locateRedisServer,
  RedisUnavailableError,
  startEmbeddedPostgres,
  startRedisServer,
  Supervisor,
  type EmbeddedPostgresHandle,
  type RedisServerHandle,
} from '@wagw/embedded';
import { createLogger } from '@wagw/observability';
import { ensureBootstrap, mintDashboardSignInLink } from './bootstrap.js';
import { DEMO_FRIEND, DEMO_PHONE, startDemo, type Demo } from './demo.js';
import { DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, serveDevJwks } from './dev-jwks.js';
import { EMBEDDED_PG_PORT, EMBEDDED_REDIS_PORT } from './embedded-database.js';
import { BOOTSTRAP_FILE, DATA_DIR, MIGRATIONS_DIR, REPO_ROOT } from './paths.js';

/**
 * A person reads the terminal, machines read the log: every JSON log line (the launcher's and the apps')
 * goes to `.data/logs/gateway.log`, warnings and errors of the launcher to the terminal too, so the
 * banner is the last thing printed once everything is up. `WAGW_LOG_TO_TERMINAL=1` puts every line on
 * the terminal instead. (The apps on their own, as in production, log JSON to stdout.)
 */
const LOG_FILE = join(DATA_DIR, 'logs', 'gateway.log');
const logsToTerminal = process.env['WAGW_LOG_TO_TERMINAL'] === '1';
mkdirSync(dirname(LOG_FILE), { recursive: true });
const logFile = logsToTerminal ? null : pino.destination({ dest: LOG_FILE, append: true, sync: true });
const logger = createLogger(
  'launcher',
  process.env['LOG_LEVEL'] ?? 'info',
  logFile ? pino.multistream([{ stream: logFile, level: 'trace' }, { stream: process.stderr, level: 'warn' }]) : undefined,
);

function portFrom(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a TCP port`);
  return value;
}

async function requireFreePort(port: number, what: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new Error(`port ${port} (${what}) is in use: is the gateway already running? Stop it or set another port.`);
  }
}

async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(url).then((response) => response.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  const development = (process.env['NODE_ENV'] ?? 'development') !== 'production';
  const demoMode = process.argv.slice(2).includes('--demo');
  if (demoMode && !development) throw new Error('--demo runs a WhatsApp emulator: it is for development only');
  const apiPort = portFrom('PORT', 3000);
  const workerPort = portFrom('WORKER_HEALTH_PORT', 3001);
  const dispatcherPort = portFrom('DISPATCHER_HEALTH_PORT', 3002);
  const jwksPort = portFrom('DEV_JWKS_PORT', 3009);
  for (const [port, what] of [[apiPort, 'PORT'], [workerPort, 'WORKER_HEALTH_PORT'], [dispatcherPort, 'DISPATCHER_HEALTH_PORT']] as const) {
    if (port !== 0) await requireFreePort(port, what);
  }

  const stops: Array<() => Promise<void>> = [];
  let postgres: EmbeddedPostgresHandle | null = null;
  let redis: RedisServerHandle | null = null;
  const supervisor = new Supervisor((event) => {
    if (event.type === 'output') (logFile ?? process[event.stream]).write(`${event.line}\n`);
    else if (event.type === 'started') logger.info({ app: event.name, pid: event.pid }, 'app started');
    else if (event.restartInMs === null) logger.info({ app: event.name, code: event.code, signal: event.signal }, 'app stopped');
    else logger.error({ app: event.name, code: event.code, signal: event.signal, restartInMs: event.restartInMs }, 'app exited: restarting');
  });

  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('stopping');
      await supervisor.stop();
      for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.warn({ err: error }, 'stop failed'));
    })();
    return stopping;
  };
  // The launcher stops things in order itself: apps, then Redis, then Postgres.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      stopAll().then(() => process.exit(0), () => process.exit(1));
    });
  }

  try {
    let databaseUrl = process.env['DATABASE_URL'];
    if (!databaseUrl) {
      await requireFreePort(EMBEDDED_PG_PORT, 'EMBEDDED_PG_PORT');
      postgres = await startEmbeddedPostgres({ dataDir: join(DATA_DIR, 'postgres'), port: EMBEDDED_PG_PORT, persistent: true });
      stops.push(() => postgres?.stop() ?? Promise.resolve());
      databaseUrl = postgres.url;
      logger.info({ port: EMBEDDED_PG_PORT, dataDir: postgres.dataDir }, 'embedded postgres started');
      if (postgres.dataDir !== join(DATA_DIR, 'postgres')) {
        logger.warn({ dataDir: postgres.dataDir, link: join(DATA_DIR, 'postgres') }, 'the postgres user cannot enter this folder: the cluster is kept at dataDir, linked from .data/postgres');
      }
    }
    let redisUrl = process.env['REDIS_URL'];
    if (!redisUrl) {
      await requireFreePort(EMBEDDED_REDIS_PORT, 'EMBEDDED_REDIS_PORT');
      const binary = locateRedisServer(join(DATA_DIR, 'redis'));
      redis = await startRedisServer({ binary, port: EMBEDDED_REDIS_PORT, dataDir: join(DATA_DIR, 'redis-data'), persistent: true });
      stops.push(() => redis?.stop() ?? Promise.resolve());
      redisUrl = redis.url;
      logger.info({ port: EMBEDDED_REDIS_PORT, binary: binary.path }, 'local redis-server started');
    }

    const { applied } = await applyMigrations(databaseUrl, MIGRATIONS_DIR);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');

    const authEnv: Record<string, string> = {};
    if (development && !process.env['AUTH_JWKS_URL']) {
      const jwks = await serveDevJwks(jwksPort);
      stops.push(() => jwks.close());
      Object.assign(authEnv, { AUTH_JWKS_URL: jwks.url, AUTH_JWT_ISSUER: DEV_JWT_ISSUER, AUTH_JWT_AUDIENCE: DEV_JWT_AUDIENCE });
    }

    let demo: Demo | null = null;
    if (demoMode) {
      demo = await startDemo({ emulator: portFrom('WA_EMULATOR_PORT', 3020), control: portFrom('WA_EMULATOR_CONTROL_PORT', 3021), sink: portFrom('DEMO_WEBHOOK_SINK_PORT', 3030) });
      const started = demo;
      stops.push(() => started.stop());
      logger.warn({ websocketUrl: demo.emulator.url }, 'demo mode: session workers talk to the WhatsApp emulator, not WhatsApp');
    }

    // Webhook signing secrets are encrypted at rest with this key; generated once and kept with the data.
    const keyFile = join(DATA_DIR, 'webhook-secret.key');
    if (!process.env['WEBHOOK_SECRET_KEY'] && !existsSync(keyFile)) writeFileSync(keyFile, generateSecretKey(), { mode: 0o600 });
    const webhookSecretKey = process.env['WEBHOOK_SECRET_KEY'] ?? readFileSync(keyFile, 'utf8').trim();

    const baseEnv: NodeJS.ProcessEnv = {
      ...process.env,
      WEBHOOK_SECRET_KEY: webhookSecretKey,
      NODE_ENV: development ? 'development' : 'production',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      HOST: process.env['HOST'] ?? '127.0.0.1',
    };
    const entry = (app: string): string => join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
    supervisor.start({ name: 'api-gateway', command: process.execPath, args: [entry('api-gateway')], env: { ...baseEnv, ...authEnv, PORT: String(apiPort) } });
    supervisor.start({ name: 'session-worker', command: process.execPath, args: [entry('session-worker')], env: { ...baseEnv, ...(demo?.workerEnv ?? {}), HEALTH_PORT: String(workerPort) } });
    supervisor.start({
      name: 'webhook-dispatcher',
      command: process.execPath,
      args: [entry('webhook-dispatcher')],
      env: {
        ...baseEnv,
        // The embedded runtime is for a developer's machine: webhooks to local sinks (the demo's) are allowed.
        WEBHOOK_ALLOW_PRIVATE_HOSTS: process.env['WEBHOOK_ALLOW_PRIVATE_HOSTS'] ?? '127.0.0.1,localhost,::1',
        HEALTH_PORT: String(dispatcherPort),
      },
    });

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitUntilReady(`${apiUrl}/readyz`, 60_000);
    const { bootstrap, created } = await ensureBootstrap(databaseUrl, apiUrl, demo ? { emulatorControlUrl: demo.controlUrl, webhookSinkUrl: demo.sinkUrl } : undefined);
    const dashboardLink = await mintDashboardSignInLink(databaseUrl, bootstrap);
    const lines = [
      '',
      `  WhatsApp gateway is up: ${apiUrl}`,
      `  dashboard (this link signs you in; it works for 12 h, until the next start): ${dashboardLink}`,
      `  organization: ${bootstrap.orgId}`,
      created
        ? `  owner API key (shown once, also in ${BOOTSTRAP_FILE}): ${bootstrap.apiKey}`
        : `  owner API key: in ${BOOTSTRAP_FILE}`,
      `  try: curl -H "Authorization: Bearer $(node -p "require('${BOOTSTRAP_FILE}').apiKey")" ${apiUrl}/api/v1/sessions`,
      ...(authEnv['AUTH_JWKS_URL'] ? ['  a login JWT for the org dashboard API: npm run token -- --role admin'] : []),
      ...(demo
        ? [
            '',
            `  DEMO: WhatsApp emulator control API ${demo.controlUrl}, webhook sink ${demo.sinkUrl}`,
            `  phone to link: ${DEMO_PHONE} ("Demo Phone"); a friend to write to: ${DEMO_FRIEND}@s.whatsapp.net`,
            '  link the demo session (prints KEY, API, EMU, SINK and S for a shell): eval "$(npm run -s demo:link)"',
            '  walk-through: README.md, "Try it without a phone"',
          ]
        : []),
      ...(logFile ? [`  logs: ${LOG_FILE}`] : []),
      '  Ctrl-C stops everything.',
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${error instanceof RedisUnavailableError ? '' : 'start: '}${message}\n`);
  process.exit(1);
});
