import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { canUnpackDebianPackages, onPath, unpackDebianPackages, unpackedLibraryEnv } from './debian-packages.js';
import { connect } from 'node:net';

export class RedisUnavailableError extends Error {}

const INSTALL_HINT =
  'redis-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL.';

/**
 * Debian's packages that make a working `redis-server` once unpacked: the server is a symlink into
 * redis-tools, which links against liblzf and jemalloc. A base Debian or Ubuntu system has the rest.
 */
const REDIS_DEBIAN_PACKAGES = ['redis-server', 'redis-tools', 'liblzf1', 'libjemalloc2'] as const;

/** A `redis-server` to run, and the environment it needs (the library path of an unpacked copy). */
export interface RedisBinary {
  path: string;
  env: Record<string, string>;
}

function unpackedBinary(cacheDir: string): RedisBinary {
  return { path: join(cacheDir, 'usr', 'bin', 'redis-server'), env: unpackedLibraryEnv(cacheDir) };
}

/** Why `binary` cannot run (its own words, e.g. a missing shared library), or null when it runs. */
export function redisServerProblem(binary: RedisBinary): string | null {
  if (!existsSync(binary.path)) return `${binary.path} does not exist`;
  const run = spawnSync(binary.path, ['--version'], { env: { ...process.env, ...binary.env }, encoding: 'utf8', timeout: 10_000 });
  if (run.status === 0 && /Redis server v=/.test(run.stdout)) return null;
  return (run.stderr || run.stdout || run.error?.message || `exited with ${run.status}`).trim().split('\n')[0] ?? 'did not run';
}

/**
 * Finds a `redis-server` that runs: on PATH, else one unpacked earlier under `cacheDir`, else it unpacks
 * Debian's packages there without installing anything (`apt-get download` + `dpkg -x`), libraries
 * included, run with the library path set for it alone. Each candidate is started with `--version`
 * before it is used; a broken unpacked copy is replaced. Throws one line saying what to install when
 * none of that works.
 */
export function locateRedisServer(cacheDir: string): RedisBinary {
  const fromPath = onPath('redis-server');
  if (fromPath) {
    const onPathBinary = { path: fromPath, env: {} };
    const problem = redisServerProblem(onPathBinary);
    if (problem === null) return onPathBinary;
    throw new RedisUnavailableError(`the redis-server on PATH (${fromPath}) does not run: ${problem}. Reinstall it, or set REDIS_URL.`);
  }
  const earlier = unpackedBinary(cacheDir);
  if (redisServerProblem(earlier) === null) return earlier;
  if (!canUnpackDebianPackages()) throw new RedisUnavailableError(INSTALL_HINT);
  process.stderr.write(`redis-server is not installed: downloading Debian's ${REDIS_DEBIAN_PACKAGES.join(', ')} into ${cacheDir} (once)\n`);
  try {
    unpackDebianPackages(REDIS_DEBIAN_PACKAGES, cacheDir);
  } catch (error) {
    throw new RedisUnavailableError(`${INSTALL_HINT} (${(error as Error).message})`);
  }
  const unpacked = unpackedBinary(cacheDir);
  const problem = redisServerProblem(unpacked);
  if (problem !== null) throw new RedisUnavailableError(`${INSTALL_HINT} (the unpacked redis-server does not run: ${problem})`);
  return unpacked;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  binary: RedisBinary;
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
  // Its own process group: a terminal's Ctrl-C reaches only the supervisor, which stops Redis after the
  // apps that use it.
  const child = spawn(options.binary.path, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.binary.env }, detached: true });
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
        // A child killed by a signal has a signalCode and no exitCode: it is gone all the same.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
