#!/usr/bin/env node
// `npm test` and `npm start` run long steps (a compile, a lint, the tests) that print little or nothing
// while they work: each is announced before it starts and timed when it ends, so a person knows what
// the command is doing and what failed. Arguments that are not step names go to the last step
// (`npm test -- libs/auth` runs only those tests).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** @type {Record<string, {says: string, command: string[]}>} */
export const STEPS = {
  build: { says: 'compiling: Prisma client, then TypeScript (tsc -b)', command: ['npm', 'run', 'build', '--silent'] },
  lint: { says: 'linting: eslint, then the type check of tests and tools', command: ['npm', 'run', 'lint', '--silent'] },
  vitest: { says: 'testing: every spec file, one line each as it finishes', command: [join(ROOT, 'node_modules', '.bin', 'vitest'), 'run'] },
};

/**
 * Runs the steps in order; stops at the first that fails. Resolves to the exit code to leave with.
 * @param {Array<{name: string, says: string, command: string[]}>} steps
 * @param {(line: string) => void} say
 */
export async function runSteps(steps, say) {
  for (const step of steps) {
    say(`▸ ${step.says}`);
    const started = Date.now();
    const [command, ...args] = step.command;
    const code = await new Promise((resolve) => {
      const child = spawn(command, args, { stdio: 'inherit', cwd: ROOT });
      child.once('error', (error) => {
        say(`✗ ${step.name} could not start: ${error.message}`);
        resolve(1);
      });
      child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
    });
    const seconds = Math.round((Date.now() - started) / 1000);
    if (code !== 0) {
      say(`✗ ${step.name} failed after ${seconds} s (exit code ${code})`);
      return code;
    }
    say(`✓ ${step.name} done in ${seconds} s`);
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const requested = process.argv.slice(2);
  const names = requested.filter((arg) => arg in STEPS);
  const passed = requested.filter((arg) => !(arg in STEPS));
  const steps = names.map((name, index) => {
    const step = STEPS[name];
    return { name, says: step.says, command: index === names.length - 1 ? [...step.command, ...passed] : step.command };
  });
  // The terminal's Ctrl-C reaches the running step too (same process group); it decides how to stop,
  // and this runner leaves with its exit code rather than dying first.
  process.on('SIGINT', () => undefined);
  process.exitCode = await runSteps(steps, (line) => process.stdout.write(`${line}\n`));
}
