import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPortFree } from '@wagw/embedded';
import { freePorts, spawnProcess, type RunningProcess } from '@wagw/testing';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const START = join(REPO_ROOT, 'tools', 'cli', 'dist', 'start.js');
const TOKEN = join(REPO_ROOT, 'tools', 'cli', 'dist', 'token.js');

type Launch = RunningProcess;

/** What `npm start` wrote to its log file under `dataDir` (its own JSON lines and the apps'). */
function logFileOf(dataDir: string): string {
  const file = join(dataDir, 'logs', 'gateway.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** The README's "Try it without a phone" block: the lines pasted in the second terminal, as written there. */
function readmeDemoBlock(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Try it without a phone'));
  const block = /```sh\nnpm start -- --demo\n# in another terminal:\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no "Try it without a phone" block');
  return block;
}

/** `npm start` as a terminal runs it: its own process group, so Ctrl-C (SIGINT) reaches every process in it. */
function launch(env: Record<string, string>, args: string[] = []): Launch {
  return spawnProcess(process.execPath, [START, ...args], { ...process.env, ...env }, { detached: true });
}

const RUNTIME_PORTS = ['PORT', 'WORKER_HEALTH_PORT', 'DISPATCHER_HEALTH_PORT', 'DEV_JWKS_PORT', 'EMBEDDED_PG_PORT', 'EMBEDDED_REDIS_PORT'] as const;

function appPids(output: string, app: string): number[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; app?: string; pid?: number })
    .filter((entry) => entry.msg === 'app started' && entry.app === app && typeof entry.pid === 'number')
    .map((entry) => entry.pid as number);
}

describe('npm start (embedded runtime)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wagw-start-'));
  const running: Launch[] = [];

  afterAll(() => {
    for (const launched of running) if (launched.child.exitCode === null && launched.child.pid) process.kill(-launched.child.pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts everything, bootstraps once, supervises the apps and stops cleanly on Ctrl-C', { timeout: 180_000 }, async () => {
    const ports = await freePorts(RUNTIME_PORTS);
    const env = { WAGW_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...ports };
    // Nothing from the outer environment may point it at another database.
    delete process.env['DATABASE_URL'];
    delete process.env['REDIS_URL'];

    const first = launch(env);
    running.push(first);
    await expect.poll(() => first.output(), { timeout: 90_000, interval: 250 }).toContain('Ctrl-C stops everything.');
    expect(first.output()).toContain('owner API key (shown once');
    // The terminal shows the banner, last, and no app's JSON log lines: those are in the log file.
    const terminal = first.output();
    expect(terminal.trimEnd().endsWith('Ctrl-C stops everything.'), terminal).toBe(true);
    expect(terminal).not.toMatch(/"service":"(api-gateway|session-worker|webhook-dispatcher)"/);
    expect(terminal).toContain(`logs: ${join(dataDir, 'logs', 'gateway.log')}`);
    expect(logFileOf(dataDir)).toMatch(/"service":"api-gateway"/);
    const logs = (): string => first.output() + logFileOf(dataDir);

    const bootstrapFile = join(dataDir, 'bootstrap.json');
    expect(statSync(bootstrapFile).mode & 0o777).toBe(0o600);
    const bootstrap = JSON.parse(readFileSync(bootstrapFile, 'utf8')) as { apiUrl: string; orgId: string; apiKey: string };
    expect(bootstrap.apiUrl).toBe(`http://127.0.0.1:${ports.PORT}`);
    expect(first.output()).toContain(bootstrap.apiKey);

    const withKey = await fetch(`${bootstrap.apiUrl}/api/v1/sessions`, { headers: { authorization: `Bearer ${bootstrap.apiKey}` } });
    expect(withKey.status).toBe(200);

    // The dashboard's sign-in link: the page is served, and the key in its fragment works.
    const dashboardLink = /dashboard \(this link signs you in[^:]*\): (\S+)/.exec(first.output())?.[1] ?? '';
    expect(dashboardLink.startsWith(`${bootstrap.apiUrl}/dashboard/#key=`), first.output()).toBe(true);
    const dashboardPage = await fetch(dashboardLink.split('#')[0] ?? '');
    expect(dashboardPage.status).toBe(200);
    expect(await dashboardPage.text()).toContain('<div id="app">');
    const linkKey = decodeURIComponent(dashboardLink.split('#key=')[1] ?? '');
    expect((await fetch(`${bootstrap.apiUrl}/api/v1/org`, { headers: { authorization: `Bearer ${linkKey}` } })).status).toBe(200);

    const token = spawnSync(process.execPath, [TOKEN, '--role', 'admin'], { env: { ...process.env, WAGW_DATA_DIR: dataDir }, encoding: 'utf8' });
    expect(token.status, token.stderr).toBe(0);
    const withJwt = await fetch(`${bootstrap.apiUrl}/api/v1/sessions`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
    expect(withJwt.status).toBe(200);

    // A crashed app is restarted by the supervisor.
    const [workerPid] = appPids(logs(), 'session-worker');
    expect(workerPid).toBeDefined();
    process.kill(workerPid as number, 'SIGKILL');
    await expect.poll(() => appPids(logs(), 'session-worker').length, { timeout: 20_000 }).toBe(2);
    // A crash is an error: on the terminal too, not only in the log file.
    expect(first.output()).toMatch(/"app":"session-worker".*"msg":"app exited: restarting"/);
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${ports.WORKER_HEALTH_PORT}/readyz`).catch(() => null))?.status ?? 0, { timeout: 20_000 })
      .toBe(200);

    // Ctrl-C: the whole group gets SIGINT, as a terminal sends it. The stores run in process groups of
    // their own, so the supervisor stops the apps first and the stores last: within a few seconds, every
    // app exiting 0, with no stack trace of an app that lost its store under it.
    const [fileBefore, terminalBefore] = [logFileOf(dataDir).length, first.output().length];
    const ctrlCAt = Date.now();
    process.kill(-(first.child.pid as number), 'SIGINT');
    expect(await first.exited, first.output()).toBe(0);
    expect(Date.now() - ctrlCAt).toBeLessThan(5_000);
    const shutdown = logFileOf(dataDir).slice(fileBefore) + first.output().slice(terminalBefore);
    expect(shutdown).not.toMatch(/ECONNREFUSED|Connection terminated|\n\s+at /);
    const stopped = shutdown.split('\n').filter((line) => line.includes('"msg":"app stopped"')).map((line) => JSON.parse(line) as { app: string; code: number | null });
    expect(stopped.map(({ app, code }) => ({ app, code })).sort((a, b) => a.app.localeCompare(b.app))).toEqual(
      ['api-gateway', 'session-worker', 'webhook-dispatcher'].map((app) => ({ app, code: 0 })),
    );
    for (const port of Object.values(ports)) expect(await isPortFree(Number(port)), `port ${port}`).toBe(true);
    expect(logs()).not.toMatch(/signal repeated/);

    // The second run keeps the data and does not print the key again.
    const second = launch(env);
    running.push(second);
    await expect.poll(() => second.output(), { timeout: 90_000, interval: 250 }).toContain('WhatsApp gateway is up');
    expect(second.output()).not.toContain(bootstrap.apiKey);
    expect(second.output()).toContain(bootstrap.orgId);
    const again = await fetch(`${bootstrap.apiUrl}/api/v1/sessions`, { headers: { authorization: `Bearer ${bootstrap.apiKey}` } });
    expect(again.status).toBe(200);
    // Each start makes a new sign-in link and retires the previous one.
    expect(second.output()).not.toContain(dashboardLink);
    expect((await fetch(`${bootstrap.apiUrl}/api/v1/org`, { headers: { authorization: `Bearer ${linkKey}` } })).status).toBe(401);
    process.kill(-(second.child.pid as number), 'SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('--demo: pairs, sends and revokes against the emulator without a phone, as the README walks through', { timeout: 180_000 }, async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'wagw-demo-'));
    const ports = await freePorts([...RUNTIME_PORTS, 'WA_EMULATOR_PORT', 'WA_EMULATOR_CONTROL_PORT', 'DEMO_WEBHOOK_SINK_PORT']);
    const env = { WAGW_DATA_DIR: demoDir, LOG_LEVEL: 'warn', ...ports };
    const demo = launch(env, ['--demo']);
    running.push(demo);
    try {
      await expect.poll(() => demo.output(), { timeout: 90_000, interval: 250 }).toContain('WhatsApp gateway is up');
      expect(demo.output()).toContain('DEMO: WhatsApp emulator control API');
      const { apiUrl, apiKey } = JSON.parse(readFileSync(join(demoDir, 'bootstrap.json'), 'utf8')) as { apiUrl: string; apiKey: string };
      const control = `http://127.0.0.1:${ports.WA_EMULATOR_CONTROL_PORT}`;
      const api = async (path: string, method = 'GET', body?: unknown): Promise<Record<string, unknown>> => {
        const response = await fetch(`${apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return (await response.json()) as Record<string, unknown>;
      };

      const sink = `http://127.0.0.1:${ports.DEMO_WEBHOOK_SINK_PORT}`;
      const subscribed = await api('/api/v1/webhooks', 'POST', { url: `${sink}/`, events: ['message.revoked'] });
      expect(subscribed).toMatchObject({ secret: expect.stringMatching(/^whsec_/) });
      // The API path a script takes (the README block below does the same through `npm run demo:link`).
      const session = await api('/api/v1/sessions', 'POST', { name: 'scripted', start: true });
      let qr: unknown;
      await expect
        .poll(async () => (qr = (await api(`/api/v1/sessions/${String(session['id'])}/qr`))['qr']), { timeout: 30_000 })
        .toEqual(expect.any(String));
      const scanned = await fetch(`${control}/accounts/15550001111/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ qr }) });
      expect(scanned.status).toBe(201);
      await expect.poll(async () => (await api(`/api/v1/sessions/${String(session['id'])}`))['status'], { timeout: 30_000 }).toBe('connected');

      const sent = await api(`/api/v1/sessions/${String(session['id'])}/messages`, 'POST', { chat: '15550002222@s.whatsapp.net', text: 'hello from the demo' });
      expect(sent).toMatchObject({ status: 'sent', waMessageId: expect.any(String) });
      const received = async (): Promise<Array<{ id: string; message: { conversation?: string; extendedTextMessage?: { text?: string }; protocolMessage?: { key?: { id?: string } } } }>> =>
        ((await (await fetch(`${control}/accounts/15550002222/received`)).json()) as { messages: [] }).messages;
      await expect.poll(async () => (await received()).some((message) => message.id === sent['waMessageId'])).toBe(true);

      const revoked = await api(`/api/v1/sessions/${String(session['id'])}/messages/${String(sent['waMessageId'])}`, 'DELETE', {});
      expect(revoked).toMatchObject({ mode: 'sync', status: 'sent', replayed: false });
      await expect.poll(async () => (await received()).some((message) => message.message.protocolMessage?.key?.id === sent['waMessageId'])).toBe(true);
      // The sink got the signed message.revoked, `before` from our store.
      const sinkSaw = async (): Promise<Array<{ body: { event?: string; data?: { payload?: { before?: { id?: string; body?: string } } } } }>> =>
        ((await (await fetch(`${sink}/`)).json()) as { received: [] }).received;
      await expect.poll(async () => (await sinkSaw()).find((entry) => entry.body.event === 'message.revoked')?.body.data?.payload?.before, { timeout: 15_000 }).toMatchObject({
        id: sent['waMessageId'],
        body: 'hello from the demo',
      });

      // The README's block, pasted as it is into a shell, twice: both times it links (or reuses) the
      // session, sends, and revokes, and the friend decrypts the text and gets the REVOKE.
      const block = readmeDemoBlock();
      for (const paste of [1, 2]) {
        const revokesBefore = (await received()).filter((message) => message.message.protocolMessage).length;
        const shell = spawnSync('bash', ['-euo', 'pipefail', '-c', block], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 90_000 });
        expect(shell.status, `paste ${paste}: ${shell.stderr}`).toBe(0);
        expect(shell.stdout, `paste ${paste}`).toContain('"status":"connected"');
        expect(shell.stderr, `paste ${paste}`).toContain('the session "demo" is connected');
        // The first paste creates and links the session; the second reuses it.
        expect(shell.stderr.includes('created the session "demo"'), `paste ${paste}: ${shell.stderr}`).toBe(paste === 1);
        await expect.poll(async () => (await received()).filter((message) => message.message.protocolMessage).length, { timeout: 15_000 }).toBe(revokesBefore + 1);
      }
    } finally {
      process.kill(-(demo.child.pid as number), 'SIGINT');
    }
    expect(await demo.exited, demo.output()).toBe(0);
    rmSync(demoDir, { recursive: true, force: true });
  });
});
