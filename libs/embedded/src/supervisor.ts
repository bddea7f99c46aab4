import { spawn, type ChildProcess } from 'node:child_process';

export interface SupervisedProcess {
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
}

export type SupervisorEvent =
  | { type: 'started'; name: string; pid: number | undefined }
  | { type: 'exited'; name: string; code: number | null; signal: NodeJS.Signals | null; restartInMs: number | null }
  | { type: 'output'; name: string; line: string; stream: 'stdout' | 'stderr' };

/** A crash loop backs off up to this; a process that stayed up for a minute starts again from the floor. */
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

/**
 * Keeps child processes running: one that exits is logged and restarted with backoff. `stop()` sends
 * SIGTERM to all and waits (each app drains on SIGTERM), then SIGKILLs what is left after `graceMs`.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly backoff = new Map<string, number>();
  private stopping = false;

  constructor(private readonly onEvent: (event: SupervisorEvent) => void) {}

  start(spec: SupervisedProcess): void {
    if (this.stopping) return;
    const startedAt = Date.now();
    const child = spawn(spec.command, [...spec.args], { env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(spec.name, child);
    this.onEvent({ type: 'started', name: spec.name, pid: child.pid });
    for (const stream of ['stdout', 'stderr'] as const) {
      let buffered = '';
      child[stream]?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.length > 0) this.onEvent({ type: 'output', name: spec.name, line, stream });
      });
    }
    child.once('exit', (code, signal) => {
      this.children.delete(spec.name);
      if (this.stopping) {
        this.onEvent({ type: 'exited', name: spec.name, code, signal, restartInMs: null });
        return;
      }
      const previous = Date.now() - startedAt > STABLE_AFTER_MS ? 0 : (this.backoff.get(spec.name) ?? 0);
      const delay = Math.min(MAX_BACKOFF_MS, previous === 0 ? MIN_BACKOFF_MS : previous * 2);
      this.backoff.set(spec.name, delay);
      this.onEvent({ type: 'exited', name: spec.name, code, signal, restartInMs: delay });
      setTimeout(() => this.start(spec), delay).unref();
    });
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.pid;
  }

  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    const exits = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
        }),
    );
    await Promise.all(exits);
  }
}
