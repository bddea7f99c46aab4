// Runs before `npm start` and `npm test` so both work on a fresh clone: installs dependencies from the
// lockfile when node_modules is missing or was installed from another lockfile. Dependency-free on purpose.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'node_modules', '.wagw-lockfile-hash');
const lockHash = createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lockHash) process.exit(0);

const started = Date.now();
// A fresh clone spends about a minute here, silent otherwise: say so, and say when it is done.
process.stderr.write('installing dependencies from package-lock.json (npm install, about a minute on a fresh clone)...\n');
// `npm ci` can fail where the registry lacks another platform's optional binaries; `npm install` from the
// lockfile installs the same tree.
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(stamp, lockHash);
process.stderr.write(`dependencies installed in ${Math.round((Date.now() - started) / 1000)} s\n`);
