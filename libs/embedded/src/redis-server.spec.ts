import { mkdirSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from './free-port.js';
import { locateRedisServer, RedisUnavailableError, startRedisServer } from './redis-server.js';

/** A PATH holding only the named tools, so redis-server is not on it. */
function pathWith(tools: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'wagw-path-'));
  for (const tool of tools) {
    const source = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((base) => join(base, tool)).find((candidate) => existsSync(candidate));
    if (source) symlinkSync(source, join(dir, tool));
  }
  return dir;
}

describe('locateRedisServer', () => {
  const originalPath = process.env['PATH'];
  const cleanup: string[] = [];

  afterEach(() => {
    process.env['PATH'] = originalPath;
    for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('names the install command when redis-server is missing and apt is not available', () => {
    const path = pathWith([]);
    cleanup.push(path);
    process.env['PATH'] = path;
    const cache = mkdtempSync(join(tmpdir(), 'wagw-redis-'));
    cleanup.push(cache);
    expect(() => locateRedisServer(cache)).toThrow(RedisUnavailableError);
    expect(() => locateRedisServer(cache)).toThrow(/apt-get install redis-server.*or set REDIS_URL/);
  });

  // This machine kind is Debian: apt-get and dpkg are always there, and CI runs on the same kind.
  it('unpacks Debian’s redis-server package without root when it is not on PATH, and it runs', { timeout: 120_000 }, async () => {
    const path = pathWith(['apt-get', 'apt-config', 'dpkg', 'dpkg-deb', 'tar', 'gzip', 'xz', 'zstd', 'rm', 'sh', 'dpkg-split', 'find']);
    cleanup.push(path);
    process.env['PATH'] = path;
    const cache = mkdtempSync(join(tmpdir(), 'wagw-redis-'));
    cleanup.push(cache);
    const binary = locateRedisServer(cache);
    expect(binary).toBe(join(cache, 'usr', 'bin', 'redis-server'));
    process.env['PATH'] = originalPath;
    const dataDir = join(cache, 'data');
    mkdirSync(dataDir);
    const server = await startRedisServer({ binary, port: await findFreePort(), dataDir, persistent: false });
    try {
      expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await server.stop();
    }
    // Found again without downloading.
    process.env['PATH'] = path;
    expect(locateRedisServer(cache)).toBe(binary);
  });
});
