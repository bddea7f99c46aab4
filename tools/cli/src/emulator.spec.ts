import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFreePort } from '@wagw/embedded';
import { spawnProcess } from '@wagw/testing';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

describe('npm run emulator', () => {
  it('starts the emulator standalone, prints its URL, root key and control URL, and stops on Ctrl-C', async () => {
    const [port, controlPort] = [await findFreePort(), await findFreePort()];
    const { child, output: current, exited } = spawnProcess(process.execPath, [join(REPO_ROOT, 'tools', 'cli', 'dist', 'emulator.js')], {
      ...process.env,
      WA_EMULATOR_PORT: String(port),
      WA_EMULATOR_CONTROL_PORT: String(controlPort),
    });
    let output = '';
    try {
      await expect.poll(() => (output = current()), { timeout: 15_000 }).toContain('control API');
      expect(output).toContain(`ws://127.0.0.1:${port}/ws/chat`);
      const rootKey = /root key:\s+([0-9a-f]{64})/.exec(output)?.[1];
      expect(rootKey).toBeDefined();
      expect(output).toContain(`WA_WEBSOCKET_URL=ws://127.0.0.1:${port}/ws/chat WA_TRUST_ROOT_KEY=${rootKey}`);
      const health = (await (await fetch(`http://127.0.0.1:${controlPort}/health`)).json()) as { rootPublicKey: string; mediaCaCertificate: string };
      expect(health.rootPublicKey).toBe(rootKey);
      // The media host's authority, in the file the printed command reads.
      const caFile = /WA_MEDIA_CA="\$\(cat ([^)]+)\)"/.exec(output)?.[1] ?? '';
      expect(readFileSync(caFile, 'utf8')).toBe(health.mediaCaCertificate);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
