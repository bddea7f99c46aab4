import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tools/cli/dist/*.js → the repository root, wherever the command is run from. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DATA_DIR = process.env['WAGW_DATA_DIR'] ?? join(REPO_ROOT, '.data');
export const SCHEMA_FILE = join(REPO_ROOT, 'prisma', 'schema.prisma');
export const MIGRATIONS_DIR = join(REPO_ROOT, 'prisma', 'migrations');
export const BOOTSTRAP_FILE = join(DATA_DIR, 'bootstrap.json');
export const DEV_JWT_KEY_FILE = join(DATA_DIR, 'dev-jwt-key.json');
