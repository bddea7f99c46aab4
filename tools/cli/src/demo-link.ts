#!/usr/bin/env node
// `eval "$(npm run -s demo:link)"`: against a running `npm start -- --demo`, the session "demo" (created
// once, reused after), started and linked by the emulator's phone scanning its QR, then shell variables
// for the README's walk-through: KEY, API, EMU, SINK, S. Safe to run again: a linked session is reused.
import { readBootstrap } from './bootstrap.js';
import { DEMO_PHONE } from './demo.js';

const SESSION_NAME = 'demo';
const LINK_TIMEOUT_MS = 60_000;

type Json = Record<string, unknown>;

async function main(): Promise<void> {
  const bootstrap = readBootstrap();
  if (!bootstrap.demo) throw new Error('the gateway is not running in demo mode: start it with `npm start -- --demo`');
  const { emulatorControlUrl, webhookSinkUrl } = bootstrap.demo;
  const api = `${bootstrap.apiUrl}/api/v1`;
  const call = async (path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${bootstrap.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Json };
  };

  const listed = await call('/sessions?limit=100');
  if (listed.status !== 200) throw new Error(`listing sessions answered ${listed.status}: is the gateway running? (${JSON.stringify(listed.body)})`);
  let session = ((listed.body['data'] as Json[] | undefined) ?? []).find((candidate) => candidate['name'] === SESSION_NAME);
  if (!session) {
    const created = await call('/sessions', 'POST', { name: SESSION_NAME, start: true });
    if (created.status !== 201) throw new Error(`creating the demo session answered ${created.status}: ${JSON.stringify(created.body)}`);
    session = created.body;
    process.stderr.write(`demo:link: created the session "${SESSION_NAME}" (${String(session['id'])})\n`);
  } else if (['stopped', 'logged_out'].includes(String(session['status']))) {
    if (String(session['lastError'] ?? '').startsWith('linked with ')) {
      // Linked with an earlier run's emulator (each demo run has its own): that device is gone, link anew.
      await call(`/sessions/${String(session['id'])}/logout`, 'POST');
      process.stderr.write(`demo:link: the session "${SESSION_NAME}" was linked with an earlier demo's emulator: linking it again\n`);
    }
    await call(`/sessions/${String(session['id'])}/start`, 'POST');
  }
  const id = String(session['id']);

  const deadline = Date.now() + LINK_TIMEOUT_MS;
  let scanned = '';
  for (;;) {
    const status = String((await call(`/sessions/${id}`)).body['status']);
    if (status === 'connected') break;
    if (Date.now() > deadline) throw new Error(`the demo session did not connect within ${LINK_TIMEOUT_MS / 1000} s (status ${status})`);
    const qr = await call(`/sessions/${id}/qr`);
    const code = qr.status === 200 ? String(qr.body['qr']) : '';
    if (code && code !== scanned) {
      // "The phone scans the QR": the emulator's phone links this session as a new device.
      const scan = await fetch(`${emulatorControlUrl}/accounts/${DEMO_PHONE}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ qr: code }) });
      if (scan.ok) {
        scanned = code;
        process.stderr.write(`demo:link: the emulator's phone ${DEMO_PHONE} scanned the QR\n`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  process.stderr.write(`demo:link: the session "${SESSION_NAME}" is connected\n`);
  const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;
  process.stdout.write(
    `${[`KEY=${quote(bootstrap.apiKey)}`, `API=${quote(api)}`, `EMU=${quote(emulatorControlUrl)}`, `SINK=${quote(webhookSinkUrl)}`, `S=${quote(id)}`].join('; ')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`demo:link: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
