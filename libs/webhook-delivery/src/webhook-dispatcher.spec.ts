import { randomUUID } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deliveryJobId, messageRevokedWebhookSchema, webhookDeliveryHeadersSchema, type DeliveryJobData } from '@wagw/contracts';
import { createDbClient, WebhookDeliveriesRepository, WebhookEndpointsRepository, type DbClient } from '@wagw/db';
import { DeliveryAttemptsRepository, EventFanOutRepository } from '@wagw/db/system';
import { createLogger } from '@wagw/observability';
import { closeRedisConnection, createRedisConnection, WebhookQueues, type RedisConnection } from '@wagw/queue';
import { createIsolatedDatabase, createIsolatedRedisUrl, createTestTenant, WebhookSink, type ReceivedWebhook } from '@wagw/testing';
import { generateSecretKey, generateWebhookSecret, parseSecretKey, sealSecret } from '@wagw/webhooks';
import { buildMessageRevokedWebhook } from '@wagw/whatsapp';
import { WebhookDispatcher, type DispatcherSettings } from './webhook-dispatcher.js';

const validateBody = new Ajv2020({ strict: false }).compile(messageRevokedWebhookSchema);
const validateHeaders = new Ajv2020({ strict: false }).compile(webhookDeliveryHeadersSchema);

const session = { id: randomUUID(), createdBy: 'user-7', metadata: { team: 'eu' }, meJid: '15550001111@s.whatsapp.net', mePushName: 'Shop' };
const original = { key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'ORIGINAL1' }, message: { conversation: 'the original text' }, messageTimestamp: 1_800_000_000 };
const revoke = {
  key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'REVOKE1' },
  message: { protocolMessage: { key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: true, id: 'ORIGINAL1' }, type: 0 } },
  messageTimestamp: 1_800_000_100,
};

/** A delivery as a subscriber validates it: the seed's body and the headers, both required. */
function conformsToSeed(hit: ReceivedWebhook): boolean {
  return validateHeaders(hit.headers) && validateBody(JSON.parse(hit.body));
}

describe('WebhookDispatcher (real Postgres, Redis and BullMQ; a local sink)', { timeout: 60_000 }, () => {
  const secretKey = parseSecretKey(generateSecretKey());
  const sink = new WebhookSink();
  let db: DbClient;
  let redis: RedisConnection;
  let redisUrl: string;
  let events: EventFanOutRepository;
  let deliveries: DeliveryAttemptsRepository;
  let endpoints: WebhookEndpointsRepository;
  let queues: WebhookQueues;
  const running: WebhookDispatcher[] = [];

  const settings: DispatcherSettings = {
    retryScheduleMs: [0, 30, 30, 30],
    retryJitter: 0,
    timeoutMs: 3_000,
    endpointConcurrency: 2,
    concurrency: 8,
    disableAfterMs: 86_400_000,
    relayDelayMs: 500,
    destinationPolicy: { allow: ['127.0.0.1'] },
  };

  function startDispatcher(overrides: Partial<DispatcherSettings> = {}, fanOut: Pick<EventFanOutRepository, 'fanOutNext'> = events): WebhookDispatcher {
    const dispatcher = new WebhookDispatcher({ redisUrl, redis, events: fanOut, deliveries, endpoints, secretKey, logger: createLogger('dispatcher-test', 'silent') }, { ...settings, ...overrides });
    dispatcher.start();
    running.push(dispatcher);
    return dispatcher;
  }

  async function stopAll(): Promise<void> {
    await Promise.all(running.splice(0).map((dispatcher) => dispatcher.stop()));
  }

  async function endpoint(orgId: string, url: string, eventTypes: string[] = ['message.revoked']): Promise<{ id: string; secret: string }> {
    const secret = generateWebhookSecret();
    const row = await endpoints.create(orgId, { url, events: eventTypes, sessionIds: [], description: null, secretCiphertext: sealSecret(secret, secretKey) });
    return { id: row.id, secret };
  }

  /** A committed `message.revoked` event, announced as a session worker announces it (unless `announce` is false). */
  async function revokedEvent(orgId: string, options: { announce?: boolean; publishedAt?: Date } = {}): Promise<string> {
    const id = randomUUID();
    const payload = buildMessageRevokedWebhook({ eventId: id, session, revoke: { raw: revoke, ack: 2 }, original: { raw: original, ack: 2 } });
    await db.domainEvent.create({ data: { id, orgId, type: 'message.revoked', payload: JSON.parse(JSON.stringify(payload)) as object, publishedAt: options.publishedAt ?? null } });
    if (options.announce !== false) await queues.announceEvents();
    return id;
  }

  /** Whether the fan-out cursor has passed the event. */
  async function fannedOut(eventId: string): Promise<boolean> {
    const [row] = await db.$queryRaw<Array<{ passed: boolean }>>`
      SELECT (event.tx_id, event.id) <= (cursor.tx_id, cursor.event_id) AS passed FROM domain_events event, event_fan_out_cursor cursor WHERE event.id = ${eventId}::uuid`;
    return row?.passed ?? false;
  }

  async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const deliveryOf = async (endpointId: string, eventId: string) => db.webhookDelivery.findUnique({ where: { endpointId_eventId: { endpointId, eventId } } });

  beforeAll(async () => {
    db = createDbClient({ databaseUrl: await createIsolatedDatabase('dispatch'), poolSize: 4 });
    redisUrl = await createIsolatedRedisUrl();
    redis = createRedisConnection(redisUrl, 'dispatcher-test');
    events = new EventFanOutRepository(db);
    deliveries = new DeliveryAttemptsRepository(db);
    endpoints = new WebhookEndpointsRepository(db);
    queues = new WebhookQueues(redis);
    await sink.start();
  });
  afterEach(stopAll);
  afterAll(async () => {
    await queues.close();
    await closeRedisConnection(redis);
    await sink.stop();
    await db.$disconnect();
  });

  it('delivers the seed body with x-userId, x-instanceId and a signature an independent verifier accepts', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/signed'));
    startDispatcher();
    const eventId = await revokedEvent(tenant.orgId);
    const [hit] = await waitFor(() => sink.hits('/signed').length === 1 && sink.hits('/signed'), 'the delivery');
    if (!hit) throw new Error('no delivery');
    expect(conformsToSeed(hit), JSON.stringify([validateHeaders.errors, validateBody.errors])).toBe(true);
    expect(hit.headers).toMatchObject({ 'x-userid': 'user-7', 'x-instanceid': session.id, 'webhook-id': eventId, 'content-type': 'application/json' });
    const verified = new Webhook(target.secret).verify(hit.body, {
      'webhook-id': String(hit.headers['webhook-id']),
      'webhook-timestamp': String(hit.headers['webhook-timestamp']),
      'webhook-signature': String(hit.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({ event: 'message.revoked', data: { id: eventId, payload: { before: { body: 'the original text' } } } });
    // The body goes out in the reference's key order, whatever order Postgres keeps it in.
    expect(Object.keys(JSON.parse(hit.body) as object)).toEqual(['event', 'data']);
    expect(Object.keys((JSON.parse(hit.body) as { data: object }).data)).toEqual(['id', 'event', 'metadata', 'me', 'payload', 'instanceId', 'userId']);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered status');
    expect(await deliveryOf(target.id, eventId)).toMatchObject({ attempts: 1, lastStatusCode: 200, nextAttemptAt: null });
  });

  it('the seed check itself fails on a delivery missing x-userId, x-instanceId or payload.before', () => {
    const body = buildMessageRevokedWebhook({ eventId: 'e', session, revoke: { raw: revoke, ack: 2 }, original: { raw: original, ack: 2 } });
    const headers = { 'content-type': 'application/json', 'x-userid': 'u', 'x-instanceid': 'i', 'webhook-id': 'e', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' };
    const hit = (h: object, b: object): ReceivedWebhook => ({ path: '/', headers: h as ReceivedWebhook['headers'], body: JSON.stringify(b), receivedAt: 0 });
    expect(conformsToSeed(hit(headers, body))).toBe(true);
    const { 'x-userid': _user, ...withoutUser } = headers;
    const { 'x-instanceid': _instance, ...withoutInstance } = headers;
    expect(conformsToSeed(hit(withoutUser, body))).toBe(false);
    expect(conformsToSeed(hit(withoutInstance, body))).toBe(false);
    const { before: _before, ...payloadWithoutBefore } = body.data.payload;
    expect(conformsToSeed(hit(headers, { ...body, data: { ...body.data, payload: payloadWithoutBefore } }))).toBe(false);
  });

  it('retries a failing endpoint: fails twice, then 200 → three attempts under one webhook-id', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/flaky'));
    sink.answer = (path, previous) => (path === '/flaky' && previous < 2 ? { status: 500 } : { status: 200 });
    startDispatcher();
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered after retries');
    const hits = sink.hits('/flaky');
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((hit) => hit.headers['webhook-id']))).toEqual(new Set([eventId]));
    expect(await deliveryOf(target.id, eventId)).toMatchObject({ attempts: 3, status: 'delivered', lastStatusCode: 200 });
    // The failures marked the endpoint failing; the success cleared it.
    expect((await db.webhookEndpoint.findUnique({ where: { id: target.id } }))?.failingSince).toBeNull();
  });

  it('marks a delivery exhausted when the schedule runs out, and keeps it replayable', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/down'));
    sink.answer = (path) => (path === '/down' ? { status: 500 } : { status: 200 });
    startDispatcher();
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'exhausted', 'exhausted');
    expect(await deliveryOf(target.id, eventId)).toMatchObject({ attempts: 4, lastStatusCode: 500, lastError: 'answered 500', nextAttemptAt: null });
    expect(sink.hits('/down')).toHaveLength(4);
    sink.answer = () => ({ status: 200 });
    const replayed = await new WebhookDeliveriesRepository(db).replay(tenant.orgId, target.id, (await deliveryOf(target.id, eventId))?.id ?? '');
    if (!replayed) throw new Error('replay found nothing');
    await queues.scheduleDelivery(replayed.id, replayed.attempts);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered after replay');
    expect(sink.hits('/down')).toHaveLength(5);
  });

  it('410 Gone disables the endpoint: no further attempts, later events skip it', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/gone'));
    sink.answer = (path) => (path === '/gone' ? { status: 410 } : { status: 200 });
    startDispatcher();
    const first = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, first))?.status === 'failed', 'failed delivery');
    const row = await endpoints.findById(tenant.orgId, target.id);
    expect(row).toMatchObject({ enabled: false });
    expect(row?.disabledReason).toMatch(/410 Gone/);
    const second = await revokedEvent(tenant.orgId);
    await waitFor(() => fannedOut(second), 'second event fanned out');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await deliveryOf(target.id, second)).toBeNull();
    expect(sink.hits('/gone')).toHaveLength(1);
  });

  it('honours Retry-After on 429 and 503 instead of the (much shorter) schedule', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/busy'));
    sink.answer = (path, previous) => (path === '/busy' && previous === 0 ? { status: 429, headers: { 'retry-after': '1' } } : path === '/busy' && previous === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 });
    startDispatcher();
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered after Retry-After', 20_000);
    const [a, b, c] = sink.hits('/busy').map((hit) => hit.receivedAt);
    // Without Retry-After the schedule would retry after 30 ms.
    expect((b ?? 0) - (a ?? 0)).toBeGreaterThanOrEqual(950);
    expect((c ?? 0) - (b ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('treats a redirect as a failure and does not follow it', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/moved'));
    sink.answer = (path) => (path === '/moved' ? { status: 302, headers: { location: sink.url('/elsewhere') } } : { status: 200 });
    startDispatcher({ retryScheduleMs: [0] });
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'exhausted', 'exhausted');
    expect((await deliveryOf(target.id, eventId))?.lastError).toMatch(/302.*redirects are not followed/);
    expect(sink.hits('/elsewhere')).toHaveLength(0);
  });

  it('gives up on an attempt that takes longer than the timeout', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/slow-once'));
    sink.answer = (path, previous) => (path === '/slow-once' && previous === 0 ? 'hang' : { status: 200 });
    startDispatcher({ timeoutMs: 300 });
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered on the second attempt');
    expect(await deliveryOf(target.id, eventId)).toMatchObject({ attempts: 2 });
    expect(sink.hits('/slow-once')).toHaveLength(2);
  });

  it('refuses every SSRF destination at connect time and records why on the delivery', async () => {
    const tenant = await createTestTenant(db);
    const port = sink.port;
    const matrix: Array<[string, RegExp]> = [
      [`http://localhost:${port}/x`, /loopback/], // a name that resolves to loopback
      [`http://127.0.0.2:${port}/x`, /loopback/],
      [`http://0.0.0.0:${port}/x`, /reserved/],
      ['http://10.1.2.3/x', /private/],
      ['http://172.16.5.4/x', /private/],
      ['http://192.168.1.1/x', /private/],
      ['http://169.254.169.254/latest/meta-data/', /link-local/],
      ['http://100.64.0.1/x', /carrier-grade NAT/],
      ['http://224.0.0.1/x', /multicast/],
      ['http://240.0.0.1/x', /reserved/],
      [`http://[::1]:${port}/x`, /loopback/],
      ['http://[fc00::1]/x', /unique local/],
      ['http://[fe80::1]/x', /link-local/],
      [`http://[::ffff:127.0.0.1]:${port}/x`, /loopback/],
      ['http://[::ffff:a9fe:a9fe]/x', /link-local/],
      // Numeric forms (the allowed 127.0.0.1 is not used for these: they normalise to it).
      ['http://167772161/x', /private/], // decimal 10.0.0.1
      ['http://012.0.0.1/x', /private/], // octal 10.0.0.1
      ['http://0xa9.0xfe.0xa9.0xfe/x', /link-local/], // hex 169.254.169.254
      ['http://2852039166/x', /link-local/], // decimal 169.254.169.254
    ];
    const targets = await Promise.all(matrix.map(async ([url, reason]) => ({ url, reason, endpoint: await endpoint(tenant.orgId, url) })));
    startDispatcher();
    const eventId = await revokedEvent(tenant.orgId);
    for (const target of targets) {
      const delivery = await waitFor(async () => {
        const row = await deliveryOf(target.endpoint.id, eventId);
        return row?.status === 'failed' ? row : undefined;
      }, `refusal of ${target.url}`);
      expect(delivery.lastError, target.url).toMatch(target.reason);
      expect(delivery.lastError, target.url).toMatch(/refused to connect/);
      expect(delivery.attempts).toBe(1);
    }
    expect(sink.hits('/x')).toHaveLength(0);
  });

  it('one endpoint that hangs does not delay another tenant', async () => {
    const [slowTenant, otherTenant] = [await createTestTenant(db), await createTestTenant(db)];
    await endpoint(slowTenant.orgId, sink.url('/hang'));
    const fast = await endpoint(otherTenant.orgId, sink.url('/fast'));
    sink.answer = (path) => (path === '/hang' ? 'hang' : { status: 200 });
    // 8 dispatch slots in all; the hanging endpoint may hold 2 of them.
    startDispatcher({ timeoutMs: 4_000, concurrency: 8, endpointConcurrency: 2 });
    for (let i = 0; i < 20; i += 1) await revokedEvent(slowTenant.orgId);
    await waitFor(() => sink.hits('/hang').length === 2 && true, 'the slow endpoint holding its two slots');
    const published = Date.now();
    const eventId = await revokedEvent(otherTenant.orgId);
    await waitFor(async () => (await deliveryOf(fast.id, eventId))?.status === 'delivered', 'the other tenant delivered', 3_000);
    // Delivered while the slow endpoint's attempts are still hanging (they end only at the 4 s timeout).
    expect(Date.now() - published).toBeLessThan(3_000);
    expect(sink.hits('/hang')).toHaveLength(2);
  });

  it('drops a malformed job without retrying it, and goes on with the next', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/after-malformed'));
    startDispatcher();
    const keep = { removeOnFail: false, attempts: 3 } as const;
    // Written as a broken or foreign producer would: the types are bypassed on purpose.
    await queues.deliveries.add('attempt', { deliveryId: tenant.orgId, attempt: -1 } as unknown as DeliveryJobData, { ...keep, jobId: `malformed-d-${tenant.orgId}` });
    const jobId = `malformed-d-${tenant.orgId}`;
    const failed = await waitFor(async () => {
      const job = await queues.deliveries.getJob(jobId);
      // Read again once failed: the copy read before the state may predate the failure (no attempt counted yet).
      return (await job?.getState()) === 'failed' ? queues.deliveries.getJob(jobId) : undefined;
    }, 'the malformed job failed');
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/^malformed job/);
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'the next event delivered');
  });

  it('survives a dispatcher restart between attempts', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/restart'));
    sink.answer = (path, previous) => (path === '/restart' && previous === 0 ? { status: 500 } : { status: 200 });
    const first = startDispatcher({ retryScheduleMs: [0, 1_500] });
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.attempts === 1, 'the first attempt');
    await first.stop();
    running.splice(running.indexOf(first), 1);
    expect(await deliveryOf(target.id, eventId)).toMatchObject({ status: 'pending' });
    startDispatcher({ retryScheduleMs: [0, 1_500] });
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered by the new dispatcher');
    expect(sink.hits('/restart').map((hit) => hit.headers['webhook-id'])).toEqual([eventId, eventId]);
  });

  it('delivers events nobody announced (read periodically), and the relay attempts whose job was lost', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/relayed'));
    startDispatcher();
    // Past the dispatcher's first read at start, so only the periodic read can find it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const eventId = await revokedEvent(tenant.orgId, { announce: false });
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered through the periodic read');
    // A pending delivery with no job at all (a dispatcher died between fan-out and enqueue); its event
    // was delivered outside the fan-out, as a test ping is, so only the relay attempts it.
    const orphan = await revokedEvent(tenant.orgId, { announce: false, publishedAt: new Date() });
    await db.webhookDelivery.create({ data: { orgId: tenant.orgId, endpointId: target.id, eventId: orphan, nextAttemptAt: new Date() } });
    await waitFor(async () => (await deliveryOf(target.id, orphan))?.status === 'delivered', 'the orphaned attempt delivered');
    expect(sink.hits('/relayed')).toHaveLength(2);
  });

  it('signs with the old and the new secret during a rotation', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/rotated'));
    const newSecret = generateWebhookSecret();
    await endpoints.rotateSecret(tenant.orgId, target.id, sealSecret(newSecret, secretKey), new Date(Date.now() + 60_000));
    startDispatcher();
    await revokedEvent(tenant.orgId);
    const [hit] = await waitFor(() => sink.hits('/rotated').length === 1 && sink.hits('/rotated'), 'the delivery');
    if (!hit) throw new Error('no delivery');
    const headers = { 'webhook-id': String(hit.headers['webhook-id']), 'webhook-timestamp': String(hit.headers['webhook-timestamp']), 'webhook-signature': String(hit.headers['webhook-signature']) };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(target.secret).verify(hit.body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(hit.body, headers)).not.toThrow();
  });

  it('disables an endpoint that keeps failing past the limit, with the reason', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/always-failing'));
    sink.answer = (path) => (path === '/always-failing' ? { status: 500 } : { status: 200 });
    startDispatcher({ disableAfterMs: 1_000, retryScheduleMs: [0, 700, 700, 700, 700] });
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(async () => (await endpoints.findById(tenant.orgId, target.id))?.enabled === false, 'endpoint disabled');
    expect((await endpoints.findById(tenant.orgId, target.id))?.disabledReason).toMatch(/failing without a success since/);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'failed', 'the pending delivery abandoned');
    expect((await deliveryOf(target.id, eventId))?.lastError).toMatch(/endpoint disabled/);
  });

  it('makes the first attempt straight from the fan-out, without a queued job', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/direct'));
    // No dispatcher takes attempt jobs while the queue is paused: only a first attempt made at fan-out arrives.
    await queues.deliveries.pause();
    try {
      startDispatcher();
      const eventId = await revokedEvent(tenant.orgId);
      await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered with the attempt queue paused', 5_000);
      expect(await deliveryOf(target.id, eventId)).toMatchObject({ attempts: 1, nextAttemptAt: null, lastStatusCode: 200 });
      expect(await queues.deliveries.getJobCounts('wait', 'delayed', 'active')).toEqual({ wait: 0, delayed: 0, active: 0 });
    } finally {
      await queues.deliveries.resume();
    }
  });

  it('queues a first attempt whose endpoint has no free slot, and makes it once one frees', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/crowded'));
    // Another dispatcher holds both of the endpoint's slots.
    const slotsKey = `wagw:webhook-inflight:${target.id}`;
    await redis.zadd(slotsKey, Date.now(), 'elsewhere-1', Date.now(), 'elsewhere-2');
    startDispatcher();
    const eventId = await revokedEvent(tenant.orgId);
    const delivery = await waitFor(() => deliveryOf(target.id, eventId).then((row) => row ?? undefined), 'the delivery');
    await waitFor(async () => (await queues.deliveries.getJob(deliveryJobId(delivery.id, 0))) !== undefined, 'the first attempt queued', 3_000);
    expect(sink.hits('/crowded')).toHaveLength(0);
    await redis.del(slotsKey);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered once a slot freed');
    expect(sink.hits('/crowded')).toHaveLength(1);
  });

  it('never has more attempts in flight than its concurrency, first attempts included', async () => {
    const tenant = await createTestTenant(db);
    await endpoint(tenant.orgId, sink.url('/many-hang'));
    sink.answer = (path) => (path === '/many-hang' ? 'hang' : { status: 200 });
    startDispatcher({ concurrency: 3, endpointConcurrency: 10, timeoutMs: 2_000 });
    for (let i = 0; i < 8; i += 1) await revokedEvent(tenant.orgId);
    await waitFor(() => sink.hits('/many-hang').length === 3 && true, 'three attempts in flight');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sink.hits('/many-hang')).toHaveLength(3);
  });

  it('two dispatchers under a burst of events committed side by side deliver each event exactly once', async () => {
    const tenant = await createTestTenant(db);
    await endpoint(tenant.orgId, sink.url('/burst'));
    startDispatcher({ concurrency: 32, endpointConcurrency: 16 });
    startDispatcher({ concurrency: 32, endpointConcurrency: 16 });
    const ids = (await Promise.all(Array.from({ length: 8 }, async () => {
      const lane: string[] = [];
      for (let i = 0; i < 25; i += 1) lane.push(await revokedEvent(tenant.orgId));
      return lane;
    }))).flat();
    await waitFor(() => new Set(sink.hits('/burst').map((hit) => hit.headers['webhook-id'])).size === ids.length && true, 'every event delivered', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const delivered = sink.hits('/burst').map((hit) => hit.headers['webhook-id']);
    expect(delivered).toHaveLength(ids.length);
    expect(new Set(delivered)).toEqual(new Set(ids));
  });

  it('leaves a first attempt in flight to its dispatcher: the relay takes over only when its lease is over', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/slow-first'));
    sink.answer = (path) => (path === '/slow-first' ? 'hang' : { status: 200 });
    // The relay runs every 250 ms and re-publishes what is 500 ms overdue; the attempt hangs for 3 s.
    startDispatcher({ timeoutMs: 3_000, relayDelayMs: 500 });
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(() => sink.hits('/slow-first').length === 1 && true, 'the first attempt');
    const pending = await deliveryOf(target.id, eventId);
    expect(pending?.status).toBe('pending');
    expect(pending?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now() + 2_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(sink.hits('/slow-first')).toHaveLength(1);
  });

  it('a dispatcher that died with first attempts unmade leaves them to the relay once their lease is over', async () => {
    const tenant = await createTestTenant(db);
    const target = await endpoint(tenant.orgId, sink.url('/orphaned-first'));
    // Fanned out by a dispatcher that died before it attempted anything: leased for 1.5 s.
    const eventId = await revokedEvent(tenant.orgId, { announce: false });
    const now = new Date();
    expect((await events.fanOutNext(100, { now, firstAttemptAt: new Date(now.getTime() + 1_500) })).events.map((event) => event.eventId)).toContain(eventId);
    startDispatcher({ relayDelayMs: 500 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(sink.hits('/orphaned-first')).toHaveLength(0);
    await waitFor(async () => (await deliveryOf(target.id, eventId))?.status === 'delivered', 'delivered through the relay');
    expect(Date.now() - now.getTime()).toBeGreaterThanOrEqual(2_000);
  });

  it('reads events twice for an announcement (a second look) and once for each periodic read', async () => {
    const tenant = await createTestTenant(db);
    await endpoint(tenant.orgId, sink.url('/passes'));
    let passes = 0;
    const counted = { fanOutNext: (...args: Parameters<EventFanOutRepository['fanOutNext']>) => ((passes += 1), events.fanOutNext(...args)) };
    // The periodic read every 1 s; starting is an announcement of its own.
    startDispatcher({ relayDelayMs: 2_000 }, counted);
    await waitFor(() => passes === 2 && true, 'the start-up read and its second look');
    await waitFor(() => passes === 3 && true, 'the first periodic read', 3_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(passes).toBe(3);
    const eventId = await revokedEvent(tenant.orgId);
    await waitFor(() => passes === 5 && true, 'the announced read and its second look', 900);
    await waitFor(async () => fannedOut(eventId), 'the announced event fanned out');
  });
});
