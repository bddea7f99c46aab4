import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function onPath(binary: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/** Whether this machine can fetch and unpack Debian packages without installing them. */
export function canUnpackDebianPackages(): boolean {
  return onPath('apt-get') !== null && onPath('dpkg') !== null;
}

/** Folders under an unpacked tree's `usr/lib` that hold shared libraries (the multiarch one on Debian). */
export function libraryDirs(root: string): string[] {
  const base = join(root, 'usr', 'lib');
  if (!existsSync(base)) return [];
  const dirs: string[] = [];
  const visit = (dir: string): void => {
    const entries = readdirSync(dir);
    if (entries.some((entry) => /\.so(\.\d+)*$/.test(entry))) dirs.push(dir);
    for (const entry of entries) {
      const path = join(dir, entry);
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) visit(path);
    }
  };
  visit(base);
  return dirs;
}

/** The environment a binary unpacked under `root` runs with: its libraries first on the library path. */
export function unpackedLibraryEnv(root: string): Record<string, string> {
  const libraries = libraryDirs(root);
  const inherited = process.env['LD_LIBRARY_PATH'];
  return libraries.length === 0 ? {} : { LD_LIBRARY_PATH: [...libraries, ...(inherited ? [inherited] : [])].join(delimiter) };
}

/**
 * The packages `apt-get` would install for `packages` (without recommends) that this machine lacks:
 * what an unpacked copy needs beside it.
 */
export function missingDebianPackages(packages: readonly string[]): string[] {
  const plan = spawnSync('apt-get', ['install', '--simulate', '--no-install-recommends', ...packages], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (plan.status !== 0) throw new Error(`apt-get could not plan ${packages.join(', ')}: ${plan.stderr.trim().split('\n').filter((line) => !line.startsWith('W:')).join(' ')}`);
  return plan.stdout
    .split('\n')
    .map((line) => /^Inst (\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/**
 * Downloads Debian's `packages` and unpacks them under `cacheDir` (`apt-get download` + `dpkg -x`):
 * nothing is installed, nothing outside `cacheDir` changes. Throws with apt's or dpkg's own words.
 */
export function unpackDebianPackages(packages: readonly string[], cacheDir: string): void {
  rmSync(cacheDir, { recursive: true, force: true });
  const downloadDir = join(cacheDir, 'debs');
  mkdirSync(downloadDir, { recursive: true });
  const download = spawnSync('apt-get', ['download', ...packages], { cwd: downloadDir, encoding: 'utf8' });
  if (download.status !== 0) {
    const why = download.stderr.trim().split('\n').filter((line) => !line.startsWith('W:')).join(' ');
    throw new Error(`apt-get download failed: ${why}; if it cannot find the packages, run \`apt-get update\` first`);
  }
  for (const deb of readdirSync(downloadDir).filter((file) => file.endsWith('.deb'))) {
    const unpack = spawnSync('dpkg', ['-x', join(downloadDir, deb), cacheDir], { encoding: 'utf8' });
    if (unpack.status !== 0) throw new Error(`dpkg -x failed: ${unpack.stderr.trim()}`);
  }
  rmSync(downloadDir, { recursive: true, force: true });
}
