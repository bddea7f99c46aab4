import { join, resolve } from 'node:path';
import { createDbClient, type DbClient } from '@wagw/db';
import { findFreePort } from '@wagw/embedded';
import { createIsolatedDatabase, createIsolatedRedisUrl, createTestTenant, spawnProcess, waitUntilServing, type RunningProcess, type TestTenant } from '@wagw/testing';
import { WaEmulator } from '@wagw/wa-emulator';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** Encrypts the endpoints' signing secrets in end-to-end systems (gateway writes, dispatcher reads). */
export const E2E_WEBHOOK_SECRET_KEY = Buffer.alloc(32, 9).toString('base64');

export interface AppProcess extends RunningProcess {
  name: string;
  port: number;
}

/**
 * The gateway system as production runs it: real processes over one Postgres and one Redis. Each system
 * gets a database and a Redis database index of its own, so that systems of test files running side by
 * side never see each other's sessions, workers or queues.
 */
export class E2eSystem {
  readonly emulator = new WaEmulator();
  db!: DbClient;
  private databaseUrl = '';
  private redisUrl = '';
  gateway!: AppProcess;
  readonly workers = new Map<string, AppProcess>();
  private dispatcher: AppProcess | null = null;
  private readonly all: AppProcess[] = [];

  private workerEnv: Record<string, string> = {};
  private dispatcherEnv: Record<string, string> = {};

  async start(
    options: { workers?: string[]; commandTimeoutMs?: number; leaseTtlMs?: number; gatewayEnv?: Record<string, string>; workerEnv?: Record<string, string>; dispatcherEnv?: Record<string, string> } = {},
  ): Promise<void> {
    this.databaseUrl = await createIsolatedDatabase('e2e');
    this.db = createDbClient({ databaseUrl: this.databaseUrl, poolSize: 2 });
    this.redisUrl = await createIsolatedRedisUrl();
    await this.emulator.start();
    this.workerEnv = { SESSION_LEASE_TTL_MS: String(options.leaseTtlMs ?? 15_000), ...(options.workerEnv ?? {}) };
    this.gateway = await this.spawnApp('api-gateway', { COMMAND_TIMEOUT_MS: String(options.commandTimeoutMs ?? 10_000), WEBHOOK_SECRET_KEY: E2E_WEBHOOK_SECRET_KEY, ...(options.gatewayEnv ?? {}) });
    for (const workerId of options.workers ?? ['worker-a']) await this.startWorker(workerId);
    this.dispatcherEnv = {
      WEBHOOK_SECRET_KEY: E2E_WEBHOOK_SECRET_KEY,
      // Sinks run on this machine; the SSRF guard lets exactly this host through.
      WEBHOOK_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
      WEBHOOK_RETRY_SCHEDULE_MS: '0,200,200,200',
      WEBHOOK_RELAY_DELAY_MS: '1000',
      ...(options.dispatcherEnv ?? {}),
    };
    await this.startDispatcher();
  }

  /** (Re)starts the webhook dispatcher, e.g. after a test killed it. */
  async startDispatcher(): Promise<AppProcess> {
    this.dispatcher = await this.spawnApp('webhook-dispatcher', this.dispatcherEnv);
    return this.dispatcher;
  }

  get webhookDispatcher(): AppProcess {
    if (!this.dispatcher) throw new Error('the dispatcher is not running');
    return this.dispatcher;
  }

  /**
   * A worker connecting to this system's emulator, another emulator, or (`'whatsapp'`) WhatsApp's own
   * endpoint; `env` overrides this system's settings for this worker alone (e.g. its REDIS_URL).
   */
  async startWorker(workerId: string, endpoint: WaEmulator | 'whatsapp' = this.emulator, env: Record<string, string> = {}): Promise<AppProcess> {
    const worker = await this.spawnApp('session-worker', {
      WORKER_ID: workerId,
      ...(endpoint === 'whatsapp' ? {} : { WA_WEBSOCKET_URL: endpoint.url, WA_TRUST_ROOT_KEY: endpoint.rootPublicKey.toString('hex'), WA_MEDIA_CA: endpoint.mediaCaCertificate }),
      ...this.workerEnv,
      ...env,
    });
    this.workers.set(workerId, worker);
    return worker;
  }

  private async spawnApp(name: string, env: Record<string, string>): Promise<AppProcess> {
    const port = await findFreePort();
    const running = spawnProcess(process.execPath, [join(REPO_ROOT, 'apps', name, 'dist', 'main.js')], {
      PATH: process.env['PATH'] ?? '',
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redisUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      HEALTH_PORT: String(port),
      // debug: the logs must stay free of secrets at every level, and the tests check that.
      LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'debug',
      NODE_ENV: 'test',
      ...env,
    });
    const app: AppProcess = { ...running, name, port };
    this.all.push(app);
    await waitUntilServing(`http://127.0.0.1:${port}/readyz`, app);
    return app;
  }

  async stopApp(app: AppProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    app.child.kill(signal);
    return app.exited;
  }

  /**
   * The value of one Prometheus series an app exposes at /metrics, matched by name and labels (a subset),
   * summed over the series that match; 0 when none does.
   */
  async metric(app: AppProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const present = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1], label[2]]));
      if (Object.entries(labels).every(([key, value]) => present[key] === value)) total += Number(match[4]);
    }
    return total;
  }

  /** This system's Redis, for tests that look at queues and leases directly. */
  get redisConnectionUrl(): string {
    return this.redisUrl;
  }

  get postgresUrl(): string {
    return this.databaseUrl;
  }

  tenant(): Promise<TestTenant> {
    return createTestTenant(this.db);
  }

  async api(path: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.token) headers['authorization'] = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`http://127.0.0.1:${this.gateway.port}${path}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** A GET answered with bytes (a media download): the status, the headers and the body as it came. */
  async download(path: string, token: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const response = await fetch(`http://127.0.0.1:${this.gateway.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
  }

  async waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- logs ---\n${this.all.map((app) => `[${app.name}] ${app.output().slice(-3000)}`).join('\n')}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
  }

  /** Creates and starts a session for `tenant`, scans its QR as `phone`, and waits until it is connected. */
  async connectedSession(tenant: TestTenant, phone: string, name = `s-${phone}`): Promise<string> {
    const created = await this.api('/api/v1/sessions', { method: 'POST', token: tenant.apiKey, body: { name, start: true } });
    if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created)}`);
    const sessionId = created.body['id'] as string;
    const qr = await this.waitFor(async () => {
      const response = await this.api(`/api/v1/sessions/${sessionId}/qr`, { token: tenant.apiKey });
      return response.status === 200 ? (response.body['qr'] as string) : undefined;
    }, 'a QR code');
    await this.emulator.scanQr(qr, phone);
    await this.waitFor(async () => (await this.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey })).body['status'] === 'connected' || undefined, 'connected');
    return sessionId;
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.filter((app) => app.child.exitCode === null).map((app) => this.stopApp(app)));
    await this.emulator.stop();
    await this.db.$disconnect();
  }
}
