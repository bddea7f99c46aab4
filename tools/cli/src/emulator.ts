#!/usr/bin/env node
// `npm run emulator`: the WhatsApp emulator on its own, for the local demo and for poking at it with curl.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@wagw/observability';
import { createControlApi, listenControlApi, WaEmulator } from '@wagw/wa-emulator';

const logger = createLogger('wa-emulator', process.env['LOG_LEVEL'] ?? 'info');

function port(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a TCP port`);
  return value;
}

async function main(): Promise<void> {
  const emulator = new WaEmulator();
  emulator.on('log', (entry) => logger.debug(entry, entry.event));
  await emulator.start(port('WA_EMULATOR_PORT', 3020));
  const control = createControlApi(emulator);
  const controlUrl = await listenControlApi(control, port('WA_EMULATOR_CONTROL_PORT', 3021));
  const rootKey = emulator.rootPublicKey.toString('hex');
  // The media host's authority, for a worker to trust (WA_MEDIA_CA) when it sends or downloads media here.
  const mediaCaFile = join(tmpdir(), `wa-emulator-media-ca-${process.pid}.pem`);
  writeFileSync(mediaCaFile, emulator.mediaCaCertificate);
  process.stdout.write(
    [
      '',
      '  WhatsApp emulator (not WhatsApp: for tests and the demo only)',
      `  websocket URL:  ${emulator.url}`,
      `  root key:       ${rootKey}`,
      `  control API:    ${controlUrl}`,
      `  point a session worker at it: WA_WEBSOCKET_URL=${emulator.url} WA_TRUST_ROOT_KEY=${rootKey} WA_MEDIA_CA="$(cat ${mediaCaFile})"`,
      `  create a phone: curl -X POST ${controlUrl}/accounts -H 'content-type: application/json' -d '{"phone":"15550001111"}'`,
      '',
      '',
    ].join('\n'),
  );
  const stop = (): void => {
    control.close();
    emulator.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
