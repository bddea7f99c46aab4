import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { findFreePort } from '@wagw/embedded';
import { spawnProcess, waitUntilServing } from '@wagw/testing';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const APPS = ['api-gateway', 'session-worker', 'webhook-dispatcher'] as const;

/** The built entry points, as `node apps/<app>/dist/main.js` runs them in production (npm test builds first). */
function runApp(app: string, env: Record<string, string>): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'apps', app, 'dist', 'main.js')], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('bad configuration stops each app with one line naming the variable', () => {
  it.each(APPS)('%s: missing DATABASE_URL', (app) => {
    const { status, stderr } = runApp(app, { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(status).toBe(78);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^invalid configuration: DATABASE_URL is required/);
  });

  it.each(APPS)('%s: malformed REDIS_URL, password not echoed', (app) => {
    const { status, stderr } = runApp(app, { DATABASE_URL: 'postgresql://u:topsecret@127.0.0.1:1/db', REDIS_URL: 'http://not-redis' });
    expect(status).toBe(78);
    expect(stderr).toMatch(/REDIS_URL must be a URL/);
    expect(stderr).not.toContain('topsecret');
  });

  it('api-gateway: a port out of range', () => {
    const { status, stderr } = runApp('api-gateway', { DATABASE_URL: 'postgresql://127.0.0.1/db', REDIS_URL: 'redis://127.0.0.1:1', PORT: '70000' });
    expect(status).toBe(78);
    expect(stderr).toMatch(/PORT/);
  });
});

describe('each app boots as a real process, answers health checks and exits cleanly on SIGTERM', () => {
  it.each(APPS)('%s', async (app) => {
    const port = await findFreePort();
    const running = spawnProcess(process.execPath, [join(REPO_ROOT, 'apps', app, 'dist', 'main.js')], {
      PATH: process.env['PATH'] ?? '',
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      HOST: '127.0.0.1',
      PORT: String(port),
      HEALTH_PORT: String(port),
      LOG_LEVEL: 'warn',
      WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    try {
      await waitUntilServing(`http://127.0.0.1:${port}/readyz`, running, 15_000);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      running.child.kill('SIGTERM');
    }
    expect(await running.exited, running.output()).toBe(0);
  });
});
