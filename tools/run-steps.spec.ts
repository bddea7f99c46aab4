import { describe, expect, it } from 'vitest';
import { runSteps } from './run-steps.mjs';

const node = (script: string): string[] => [process.execPath, '-e', script];

describe('npm test and npm start say what they are doing', () => {
  it('announces each step before it runs and times it after', async () => {
    const said: string[] = [];
    const code = await runSteps(
      [
        { name: 'first', says: 'doing the first thing', command: node('') },
        { name: 'second', says: 'doing the second thing', command: node('') },
      ],
      (line) => said.push(line),
    );
    expect(code).toBe(0);
    expect(said).toEqual(['▸ doing the first thing', expect.stringMatching(/^✓ first done in \d+ s$/), '▸ doing the second thing', expect.stringMatching(/^✓ second done in \d+ s$/)]);
  });

  it('stops at the first failing step, names it and leaves with its exit code', async () => {
    const said: string[] = [];
    const code = await runSteps(
      [
        { name: 'lint', says: 'linting', command: node('process.exit(3)') },
        { name: 'vitest', says: 'testing', command: node('') },
      ],
      (line) => said.push(line),
    );
    expect(code).toBe(3);
    expect(said).toEqual(['▸ linting', expect.stringMatching(/^✗ lint failed after \d+ s \(exit code 3\)$/)]);
  });

  it('says when a step cannot even start', async () => {
    const said: string[] = [];
    expect(await runSteps([{ name: 'build', says: 'compiling', command: ['/nonexistent/tsc'] }], (line) => said.push(line))).toBe(1);
    expect(said).toContain('✗ build could not start: spawn /nonexistent/tsc ENOENT');
  });
});
