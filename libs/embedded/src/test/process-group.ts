import { spawnSync } from 'node:child_process';

/** The process group a process is in, as `ps` reports it (for tests). */
export function processGroupOf(pid: number): number {
  return Number(spawnSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim());
}
