// Runs `prisma generate` without letting the CLI download its native schema engine: generation needs only
// the WASM bits bundled in the CLI, but the CLI insists on a binary path, so we point it at a dummy file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const dummyDir = join(tmpdir(), 'wagw-prisma');
const dummy = join(dummyDir, 'schema-engine-placeholder');
if (!existsSync(dummy)) {
  mkdirSync(dummyDir, { recursive: true });
  writeFileSync(dummy, '#!/bin/sh\necho "schema engine placeholder: use npm run db:migrate" >&2\nexit 1\n', { mode: 0o755 });
}
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate', ...process.argv.slice(2)], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: dummy, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
});
process.exit(result.status ?? 1);
