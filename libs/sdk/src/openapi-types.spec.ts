import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

describe('the typed client', () => {
  it('has types generated from the checked-in OpenAPI document (`npm run sdk:generate` after an API change)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wagw-sdk-'));
    try {
      const out = join(dir, 'openapi-types.ts');
      const run = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'openapi-typescript'), [join(REPO_ROOT, 'docs', 'openapi.json'), '-o', out], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(join(REPO_ROOT, 'libs', 'sdk', 'src', 'openapi-types.ts'), 'utf8')).toBe(readFileSync(out, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
