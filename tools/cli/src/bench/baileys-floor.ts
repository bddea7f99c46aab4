#!/usr/bin/env node
// The bare-Baileys floor for the revoke path, as its own process: one genuine Baileys socket per
// session (through our thin connection wrapper, which waits for the server's ack as the worker does),
// revoking against the same emulator, with the session's auth state in Postgres: the same fenced key
// write, one prepared statement sent through `pg` directly. No HTTP, no gateway, no queue, no outbox,
// no message store: what a revoke costs when it is only a WhatsApp send with durable keys.
// Driven over IPC by revoke-path.ts: `{ type: 'pair', sessions }`, then `{ type: 'run', ... }`.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { authStateStatements, POOL_IDLE_TIMEOUT_MS, type AuthStateStore } from '@wagw/db';
import { createLogger } from '@wagw/observability';
import { whatsAppEndpointOptions } from '@wagw/wa-emulator';
import { loadPostgresAuthState, WhatsAppConnection, type BaileysLogger } from '@wagw/whatsapp';

export type FloorRequest =
  | { type: 'pair'; sessions: Array<{ orgId: string; sessionId: string; epoch: number }> }
  | { type: 'run'; concurrency: number; total: number; chat: string };

export type FloorReply =
  | { type: 'ready' }
  | { type: 'qr'; index: number; qr: string }
  | { type: 'paired' }
  | { type: 'ran'; latenciesMs: number[]; wallMs: number; errors: number; sentIds: string[] };

const [databaseUrl, websocketUrl, trustRootKeyHex] = process.argv.slice(2);
if (!databaseUrl || !websocketUrl || !trustRootKeyHex) throw new Error('usage: baileys-floor <databaseUrl> <websocketUrl> <trustRootKeyHex>');

// Idle connections kept as the apps keep them (see floor-server.ts).
const pool = new pg.Pool({ connectionString: databaseUrl, max: 8, idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS });
const logger = createLogger('baileys-floor', 'silent') as unknown as BaileysLogger;
const socketOptions = whatsAppEndpointOptions({ websocketUrl, trustRootKeyHex }, () => undefined);
const send = (reply: FloorReply): void => void process.send?.(reply);

/** Each statement runs prepared under a name of its own: parsed and planned once per connection. */
async function rows<Row extends object>(name: string, statement: { text: string; values: unknown[] }): Promise<Row[]> {
  return (await pool.query<Row>({ name, text: statement.text, values: statement.values })).rows;
}

const store: AuthStateStore = {
  loadCreds: async (orgId, sessionId) => (await rows<{ creds: string }>('floor_load_creds', authStateStatements.loadCreds(orgId, sessionId)))[0]?.creds ?? null,
  saveCreds: async (orgId, sessionId, epoch, json) => {
    const statement = authStateStatements.saveCreds(orgId, sessionId, epoch, json);
    return (await pool.query({ name: 'floor_save_creds', text: statement.text, values: statement.values })).rowCount === 1;
  },
  getKeys: async (orgId, sessionId, type, ids) =>
    ids.length === 0 ? new Map() : new Map((await rows<{ key_id: string; value: string }>('floor_get_keys', authStateStatements.getKeys(orgId, sessionId, type, ids))).map((row) => [row.key_id, row.value])),
  setKeys: async (orgId, sessionId, epoch, writes) =>
    writes.length === 0 || (await rows<{ fenced: boolean }>('floor_set_keys', authStateStatements.setKeys(orgId, sessionId, epoch, writes)))[0]?.fenced === true,
};

const connections: WhatsAppConnection[] = [];

async function pair(sessions: Array<{ orgId: string; sessionId: string; epoch: number }>): Promise<void> {
  await Promise.all(
    sessions.map(async (scope, index) => {
      const auth = await loadPostgresAuthState(store, scope, logger);
      await new Promise<void>((resolve) => {
        const connection = new WhatsAppConnection({
          auth,
          logger,
          socketOptions,
          storedRaw: async () => undefined,
          callbacks: {
            onQr: (qr) => send({ type: 'qr', index, qr }),
            onOpen: () => resolve(),
            onPushName: () => undefined,
            onDisconnected: () => undefined,
            onTerminated: () => undefined,
            onInbound: () => undefined,
          },
        });
        connections[index] = connection;
        connection.start();
      });
    }),
  );
}

/** `total` revokes of made-up ids of our own, `concurrency` in flight, spread over the sockets. */
async function run(concurrency: number, total: number, chat: string): Promise<FloorReply> {
  const latenciesMs: number[] = [];
  const sentIds: string[] = [];
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (issued < total) {
      const connection = connections[issued % connections.length];
      issued += 1;
      if (!connection) throw new Error('not paired');
      const begin = performance.now();
      const messageId = `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
      try {
        // The target need not exist: WhatsApp relays a revoke of any id of ours, as it does the gateway's.
        const sent = await connection.revoke(chat, { messageId: `3EB0${randomBytes(8).toString('hex').toUpperCase()}` }, messageId);
        latenciesMs.push(performance.now() - begin);
        sentIds.push(sent.waMessageId);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { type: 'ran', latenciesMs, wallMs: performance.now() - started, errors, sentIds };
}

process.on('message', (request: FloorRequest) => {
  if (request.type === 'pair') void pair(request.sessions).then(() => send({ type: 'paired' }));
  else void run(request.concurrency, request.total, request.chat).then(send);
});
process.on('SIGTERM', () => {
  void Promise.all(connections.map((connection) => connection.stop('stopped'))).then(async () => {
    await pool.end();
    process.exit(0);
  });
});
send({ type: 'ready' });
