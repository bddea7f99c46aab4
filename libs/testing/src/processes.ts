import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@wagw/embedded';

export interface RunningProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
}

/** Starts a process the way an operator would, keeping its output for assertions and failure messages. */
export function spawnProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv, options: { detached?: boolean } = {}): RunningProcess {
  let output = '';
  const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves once `url` answers 200; throws with the process output when it does not in time or exits. */
export async function waitUntilServing(url: string, process: RunningProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(url).then((response) => response.status, () => 0)) !== 200) {
    if (Date.now() > deadline || process.child.exitCode !== null) throw new Error(`${url} did not become ready:\n${process.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One free loopback port per name, as environment values: `{PORT: '41234', …}`. */
export async function freePorts<Name extends string>(names: readonly Name[]): Promise<Record<Name, string>> {
  const ports = {} as Record<Name, string>;
  for (const name of names) ports[name] = String(await findFreePort());
  return ports;
}

export interface GatewayProcess extends RunningProcess {
  url: string;
}

/**
 * The api-gateway's built entry point as production runs it, on a free loopback port, against the given
 * stores; resolves once it answers /readyz. `env` adds to (or overrides) the defaults.
 */
export async function startGatewayProcess(stores: { databaseUrl: string; redisUrl: string }, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = String(await findFreePort());
  const entry = fileURLToPath(new URL('../../../apps/api-gateway/dist/main.js', import.meta.url));
  const running = spawnProcess(process.execPath, [entry], {
    PATH: process.env['PATH'] ?? '',
    DATABASE_URL: stores.databaseUrl,
    REDIS_URL: stores.redisUrl,
    HOST: '127.0.0.1',
    PORT: port,
    LOG_LEVEL: 'warn',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilServing(`${url}/readyz`, running);
  return { ...running, url };
}
