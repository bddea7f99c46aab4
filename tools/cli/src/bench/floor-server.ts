#!/usr/bin/env node
// The floor for the revoke path: a bare Fastify route doing the same Postgres lookups as the gateway
// (API key by prefix, session by org and id, message by session and id) plus one raw Redis round trip,
// and nothing else. Run as its own process, like the gateway. Args: databaseUrl redisUrl port.
import Fastify from 'fastify';
import pg from 'pg';
import { POOL_IDLE_TIMEOUT_MS } from '@wagw/db';
import { createRedisConnection } from '@wagw/queue';

const [databaseUrl, redisUrl, port] = process.argv.slice(2);
if (!databaseUrl || !redisUrl || !port) throw new Error('usage: floor-server <databaseUrl> <redisUrl> <port>');

// Idle connections kept as the apps keep them: a phase of the benchmark must not pay for the pause before it.
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS });
const redis = createRedisConnection(redisUrl, 'bench-floor');
const app = Fastify({ logger: false });

app.delete<{ Params: { session: string; mid: string } }>('/api/v1/sessions/:session/messages/:mid', async (request, reply) => {
  const prefix = (request.headers.authorization ?? '').slice('Bearer '.length).split('_').slice(0, 2).join('_');
  const key = await pool.query<{ org_id: string }>('SELECT org_id FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL', [prefix]);
  const orgId = key.rows[0]?.org_id;
  if (!orgId) return reply.status(401).send({ error: { code: 'unauthorized', message: 'unknown key', details: {} } });
  const session = await pool.query('SELECT id FROM whatsapp_sessions WHERE org_id = $1 AND id = $2', [orgId, request.params.session]);
  const message = await pool.query('SELECT id FROM messages WHERE org_id = $1 AND session_id = $2 AND wa_message_id = $3 LIMIT 1', [orgId, request.params.session, request.params.mid]);
  if (session.rowCount === 0 || message.rowCount === 0) return reply.status(404).send({ error: { code: 'not_found', message: 'not found', details: {} } });
  await redis.ping();
  return { mode: 'sync', outboxId: '', replayed: false, status: 'sent', timestamp: Math.floor(Date.now() / 1000), waMessageId: request.params.mid };
});

await app.listen({ port: Number(port), host: '127.0.0.1' });
process.send?.('ready');
process.on('SIGTERM', () => {
  void app.close().then(async () => {
    await pool.end();
    redis.disconnect();
    process.exit(0);
  });
});
