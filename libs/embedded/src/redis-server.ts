import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { connect } from 'node:net';

export class RedisUnavailableError extends Error {}

const INSTALL_HINT =
  'redis-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL.';

function onPath(binary: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * Finds a `redis-server` binary: on PATH, else one unpacked earlier under `cacheDir`, else it unpacks
 * Debian's package there without root (`apt-get download` + `dpkg -x`). Throws with the install command
 * when none of that works.
 */
export function locateRedisServer(cacheDir: string): string {
  const fromPath = onPath('redis-server');
  if (fromPath) return fromPath;
  const unpacked = join(cacheDir, 'usr', 'bin', 'redis-server');
  if (existsSync(unpacked)) return unpacked;
  if (!onPath('apt-get') || !onPath('dpkg')) throw new RedisUnavailableError(INSTALL_HINT);
  const downloadDir = join(cacheDir, 'debs');
  mkdirSync(downloadDir, { recursive: true });
  const download = spawnSync('apt-get', ['download', 'redis-server', 'redis-tools'], { cwd: downloadDir, encoding: 'utf8' });
  if (download.status !== 0) throw new RedisUnavailableError(`${INSTALL_HINT} (apt-get download failed: ${download.stderr.trim()})`);
  for (const deb of readdirSync(downloadDir).filter((file) => file.endsWith('.deb'))) {
    const unpack = spawnSync('dpkg', ['-x', join(downloadDir, deb), cacheDir], { encoding: 'utf8' });
    if (unpack.status !== 0) throw new RedisUnavailableError(`${INSTALL_HINT} (dpkg -x failed: ${unpack.stderr.trim()})`);
  }
  rmSync(downloadDir, { recursive: true, force: true });
  // redis-server is a symlink to redis-check-rdb in recent packages; both come from redis-tools.
  if (!existsSync(unpacked)) throw new RedisUnavailableError(`${INSTALL_HINT} (the unpacked package has no redis-server)`);
  return unpacked;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  binary: string;
  port: number;
  dataDir: string;
  /** Append-only file on: queued jobs survive a restart (the `npm start` default). */
  persistent: boolean;
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  mkdirSync(options.dataDir, { recursive: true });
  const args = [
    '--port', String(options.port),
    '--bind', '127.0.0.1',
    '--dir', options.dataDir,
    '--save', '',
    '--appendonly', options.persistent ? 'yes' : 'no',
    // BullMQ needs every key it wrote: never evict.
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
  ];
  const child = spawn(options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${stderr.trim()}`)));
  });
  await Promise.race([waitForPort(options.port, 10_000), exited]);
  exited.catch(() => undefined);
  return {
    url: `redis://127.0.0.1:${options.port}`,
    port: options.port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
