import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { canUnpackDebianPackages, missingDebianPackages, onPath, unpackDebianPackages, unpackedLibraryEnv } from './debian-packages.js';

export class ChromiumUnavailableError extends Error {}

const INSTALL_HINT = 'Chromium was not found. Install it (Debian/Ubuntu: `sudo apt-get install chromium`) or set CHROMIUM_PATH to a Chromium or Chrome binary.';

/** A Chromium to drive (with playwright-core), and the environment it needs. */
export interface ChromiumBinary {
  path: string;
  env: Record<string, string>;
}

/** Why `binary` cannot run (its own words, e.g. a missing shared library), or null when it runs. */
export function chromiumProblem(binary: ChromiumBinary): string | null {
  if (!existsSync(binary.path)) return `${binary.path} does not exist`;
  const run = spawnSync(binary.path, ['--headless', '--no-sandbox', '--version'], { env: { ...process.env, ...binary.env }, encoding: 'utf8', timeout: 30_000 });
  if (run.status === 0 && /Chrom(e|ium) \d+/.test(run.stdout)) return null;
  return (run.stderr || run.stdout || run.error?.message || `exited with ${run.status}`).trim().split('\n')[0] ?? 'did not run';
}

function unpackedBinary(cacheDir: string): ChromiumBinary {
  // The package's /usr/bin/chromium is a shell wrapper; the browser itself lives beside its resources.
  return { path: join(cacheDir, 'usr', 'lib', 'chromium', 'chromium'), env: unpackedLibraryEnv(cacheDir) };
}

/**
 * Finds a Chromium that runs, the way the tests find Redis: `CHROMIUM_PATH`, else `chromium` on PATH,
 * else one unpacked earlier under `cacheDir`, else Debian's `chromium` and the libraries this machine
 * lacks for it, downloaded and unpacked there without installing anything (`apt-get download` +
 * `dpkg -x`). Throws one line saying what to install when none of that works.
 */
export function locateChromium(cacheDir: string): ChromiumBinary {
  const given = process.env['CHROMIUM_PATH'];
  const fromPath = given ?? onPath('chromium') ?? onPath('chromium-browser');
  if (fromPath) {
    const binary = { path: fromPath, env: {} };
    const problem = chromiumProblem(binary);
    if (problem === null) return binary;
    throw new ChromiumUnavailableError(`the Chromium at ${fromPath} does not run: ${problem}. Reinstall it, or set CHROMIUM_PATH.`);
  }
  const earlier = unpackedBinary(cacheDir);
  if (chromiumProblem(earlier) === null) return earlier;
  if (!canUnpackDebianPackages()) throw new ChromiumUnavailableError(INSTALL_HINT);
  try {
    const packages = missingDebianPackages(['chromium']);
    process.stderr.write(`chromium is not installed: downloading Debian's chromium and ${packages.length - 1} libraries it needs into ${cacheDir} (once, about 100 MB)\n`);
    unpackDebianPackages(packages, cacheDir);
  } catch (error) {
    throw new ChromiumUnavailableError(`${INSTALL_HINT} (${(error as Error).message})`);
  }
  const unpacked = unpackedBinary(cacheDir);
  const problem = chromiumProblem(unpacked);
  if (problem !== null) throw new ChromiumUnavailableError(`${INSTALL_HINT} (the unpacked Chromium does not run: ${problem})`);
  return unpacked;
}
