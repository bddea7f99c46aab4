import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, type Stats } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { basename, dirname, join, parse, resolve } from 'node:path';

/**
 * Where root keeps what the unprivileged `postgres` user must reach when the repository sits in a folder
 * nobody else may enter (a clone in /root, mode 0700): a copy of the binaries and the cluster's data.
 */
export const DEFAULT_POSTGRES_SYSTEM_DIR = '/var/lib/wa-gateway';

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

/**
 * The first directory on `path` (from `/` down, `path` itself included when it exists) that a user who
 * is neither its owner nor in its group cannot enter. The `postgres` user is neither for a root-owned
 * clone, so this is what stands between it and a file.
 */
export function firstClosedDirectory(path: string): string | null {
  const absolute = resolve(path);
  const { root } = parse(absolute);
  let current = root;
  for (const part of absolute.slice(root.length).split('/').filter(Boolean)) {
    if (!existsSync(current)) return null;
    if ((statSync(current).mode & 0o001) === 0) return current;
    current = join(current, part);
  }
  if (existsSync(current) && statSync(current).isDirectory() && (statSync(current).mode & 0o001) === 0) return current;
  return null;
}

export class PostgresUnreachableError extends Error {
  constructor(closed: string, cause: unknown) {
    super(
      `embedded Postgres runs as the unprivileged user "postgres", which cannot enter ${closed}, and its binaries and data could not be moved where it can (${cause instanceof Error ? cause.message : String(cause)}): ` +
        `clone the repository into a folder others may enter (e.g. /srv or /opt), run as a non-root user, or set DATABASE_URL`,
    );
  }
}

/**
 * The package's binaries, or when `postgres` cannot reach them, a copy under `systemDir` (made once per
 * binaries version, atomically: a half-written copy is never used).
 */
export function reachableBinaries(binaries: PostgresBinaries, systemDir: string): PostgresBinaries {
  const closed = firstClosedDirectory(binaries.postgres);
  if (closed === null) return binaries;
  const nativeDir = dirname(dirname(binaries.postgres));
  const version = binariesVersion(nativeDir);
  const target = join(systemDir, `postgres-${version}`);
  try {
    if (!existsSync(join(target, 'bin', 'postgres'))) {
      mkdirSync(systemDir, { recursive: true, mode: 0o755 });
      const partial = `${target}.partial-${process.pid}`;
      rmSync(partial, { recursive: true, force: true });
      cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
      renameSync(partial, target);
    }
    const stillClosed = firstClosedDirectory(join(target, 'bin', 'postgres'));
    if (stillClosed !== null) throw new Error(`${stillClosed} is closed to other users too`);
  } catch (error) {
    throw new PostgresUnreachableError(closed, error);
  }
  const inTarget = (file: string): string => join(target, 'bin', basename(file));
  return { postgres: inTarget(binaries.postgres), initdb: inTarget(binaries.initdb), pg_ctl: inTarget(binaries.pg_ctl) };
}

/** The platform package's version (its package.json sits beside `native/`), so an upgrade gets a new copy. */
function binariesVersion(nativeDir: string): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(join(dirname(nativeDir), 'package.json'), 'utf8'));
    if (manifest && typeof manifest === 'object' && 'version' in manifest && typeof manifest.version === 'string') return manifest.version;
  } catch {
    // fall through: an unversioned copy is still a correct copy
  }
  return 'unversioned';
}

/**
 * The directory Postgres should keep `dataDir`'s cluster in. When `postgres` cannot reach `dataDir`, the
 * cluster lives under `systemDir/clusters/` and `dataDir` becomes a symbolic link to it, so the data is
 * still found from the repository (and a later run follows the link). A real cluster already at an
 * unreachable `dataDir` cannot be moved safely by us: that is an error that says so.
 */
export function reachableDataDir(dataDir: string, systemDir: string): string {
  const closed = firstClosedDirectory(dirname(dataDir));
  if (closed === null) return dataDir;
  const entry = lstatOrNull(dataDir);
  if (entry?.isSymbolicLink()) return resolve(dirname(dataDir), readlinkSync(dataDir));
  if (entry) {
    throw new PostgresUnreachableError(closed, new Error(`a cluster already exists at ${dataDir}; move it to a folder others may enter and link ${dataDir} to it`));
  }
  const target = join(systemDir, 'clusters', `${basename(dataDir)}-${randomUUID().slice(0, 8)}`);
  try {
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    const stillClosed = firstClosedDirectory(dirname(target));
    if (stillClosed !== null) throw new Error(`${stillClosed} is closed to other users too`);
    mkdirSync(dirname(dataDir), { recursive: true });
    symlinkSync(target, dataDir);
  } catch (error) {
    throw new PostgresUnreachableError(closed, error);
  }
  return target;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
