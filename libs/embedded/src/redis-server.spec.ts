import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from './free-port.js';
import { processGroupOf } from './test/process-group.js';
import { locateRedisServer, redisServerProblem, RedisUnavailableError, startRedisServer, type RedisBinary } from './redis-server.js';

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
  const aptTools = ['apt-get', 'apt-config', 'dpkg', 'dpkg-deb', 'tar', 'gzip', 'xz', 'zstd', 'rm', 'sh', 'dpkg-split', 'find'];

  /** Runs the real acquisition with a PATH that has apt and dpkg but no redis-server. */
  function unpackWithoutRedisOnPath(): { path: string; cache: string; binary: RedisBinary } {
    const path = pathWith(aptTools);
    cleanup.push(path);
    process.env['PATH'] = path;
    const cache = mkdtempSync(join(tmpdir(), 'wagw-redis-'));
    cleanup.push(cache);
    return { path, cache, binary: locateRedisServer(cache) };
  }

  it('unpacks Debian’s redis-server and the libraries it needs when it is not on PATH, and it runs', { timeout: 120_000 }, async () => {
    const { path, cache, binary } = unpackWithoutRedisOnPath();
    expect(binary.path).toBe(join(cache, 'usr', 'bin', 'redis-server'));
    expect(binary.env['LD_LIBRARY_PATH']).toContain(cache);
    process.env['PATH'] = originalPath;
    const dataDir = join(cache, 'data');
    mkdirSync(dataDir);
    const server = await startRedisServer({ binary, port: await findFreePort(), dataDir, persistent: false });
    try {
      expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      // Its own process group: a terminal's Ctrl-C reaches the supervisor, which stops Redis after the apps.
      const pid = server.process.pid ?? -1;
      expect(processGroupOf(pid)).toBe(pid);
    } finally {
      await server.stop();
    }

    // Every library resolves, either to what was unpacked or to a package of a base Debian system: a
    // machine that never installed redis-server (nor liblzf1 or libjemalloc2) runs it the same way.
    const ldd = spawnSync('ldd', [binary.path], { env: { ...process.env, ...binary.env }, encoding: 'utf8' });
    expect(ldd.status).toBe(0);
    expect(ldd.stdout).not.toMatch(/not found/);
    const resolved = [...ldd.stdout.matchAll(/=> (\S+)/g)].map((match) => match[1] ?? '');
    const unpacked = resolved.filter((library) => library.startsWith(cache)).map((library) => basename(library));
    expect(unpacked.sort()).toEqual(['libjemalloc.so.2', 'liblzf.so.1']);
    for (const library of resolved.filter((candidate) => !candidate.startsWith(cache))) {
      const owner = packageOwning(library);
      expect(BASE_SYSTEM_PACKAGES, `${library} comes from ${owner}`).toContain(owner);
    }

    // Found again without downloading.
    process.env['PATH'] = path;
    expect(locateRedisServer(cache)).toEqual(binary);
  });

  it('replaces an unpacked copy that no longer runs (a library missing)', { timeout: 120_000 }, () => {
    const { path, cache, binary } = unpackWithoutRedisOnPath();
    process.env['PATH'] = originalPath;
    const lzf = resolveLibrary(binary, 'liblzf.so.1');
    rmSync(lzf);
    expect(redisServerProblem(binary)).toMatch(/liblzf\.so\.1/);
    process.env['PATH'] = path;
    const again = locateRedisServer(cache);
    expect(redisServerProblem(again)).toBeNull();
    expect(existsSync(lzf)).toBe(true);
  });

  it('stop() returns at once for a Redis already killed by a signal (kill -9)', { timeout: 30_000 }, async () => {
    const cache = mkdtempSync(join(tmpdir(), 'wagw-redis-'));
    cleanup.push(cache);
    const server = await startRedisServer({ binary: locateRedisServer(join(import.meta.dirname, '..', '..', '..', '.data', 'redis')), port: await findFreePort(), dataDir: cache, persistent: false });
    const exited = new Promise((resolve) => server.process.once('exit', resolve));
    server.process.kill('SIGKILL');
    await exited;
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('refuses a redis-server on PATH that does not run, saying why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wagw-path-'));
    cleanup.push(dir);
    writeFileSync(join(dir, 'redis-server'), '#!/bin/sh\necho "error while loading shared libraries: liblzf.so.1" >&2\nexit 127\n', { mode: 0o755 });
    process.env['PATH'] = dir;
    expect(() => locateRedisServer(dir)).toThrow(/does not run: .*liblzf\.so\.1.*set REDIS_URL/);
  });
});

/** The packages of a base Debian 12 system that the unpacked redis-server links against. */
const BASE_SYSTEM_PACKAGES = [
  'libc6', 'libssl3', 'libsystemd0', 'libatomic1', 'libstdc++6', 'libgcc-s1', 'libcap2', 'libgcrypt20', 'liblzma5', 'libzstd1', 'liblz4-1', 'libgpg-error0',
].flatMap((name) => [name, `${name}:amd64`, `${name}:arm64`]);

function resolveLibrary(binary: RedisBinary, name: string): string {
  const ldd = spawnSync('ldd', [binary.path], { env: { ...process.env, ...binary.env }, encoding: 'utf8' }).stdout;
  const found = new RegExp(`${name.replace(/\./g, '\\.')} => (\\S+)`).exec(ldd)?.[1];
  if (!found) throw new Error(`ldd did not resolve ${name}`);
  return found;
}

/** The Debian package that installed `library` (dpkg knows a path as packaged: `/lib/…` on usrmerged systems). */
function packageOwning(library: string): string {
  const real = realpathSync(library);
  for (const candidate of new Set([library, real, real.replace(/^\/usr\//, '/')])) {
    const search = spawnSync('dpkg', ['-S', candidate], { encoding: 'utf8' });
    if (search.status === 0) return search.stdout.split(':')[0] ?? '';
  }
  return '(no package)';
}
