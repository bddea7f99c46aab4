import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import { deliveryJobSchema, EVENTS_COMMITTED_CHANNEL, WEBHOOK_DELIVERIES_QUEUE, type DeliveryJobData } from '@wagw/contracts';
import type { WebhookEndpointsRepository } from '@wagw/db';
import type { DeliveredAttempt, DeliveryAttemptsRepository, DeliveryForAttempt, EventFanOutRepository } from '@wagw/db/system';
import type { Logger } from '@wagw/observability';
import { closeRedisConnection, createRedisConnection, WebhookQueues, type RedisConnection } from '@wagw/queue';
import { openSecret, signWebhook, type DestinationPolicy } from '@wagw/webhooks';
import { AttemptPermits } from './attempt-permits.js';
import { EndpointSlots } from './endpoint-slots.js';
import { WebhookHttpClient } from './http-delivery.js';
import { Batcher } from './batcher.js';
import { judgeAttempt, nextRetryDelay, type AttemptOutcome } from './retry-policy.js';

export interface DispatcherSettings {
  /** Delay before attempt 1, 2, … (attempt 1 is normally immediate); past the end the delivery is exhausted. */
  retryScheduleMs: readonly number[];
  /** ±fraction of each step, so failures of one burst do not retry in lockstep. */
  retryJitter: number;
  timeoutMs: number;
  /** Attempts in flight per endpoint, across all dispatchers. */
  endpointConcurrency: number;
  /** Attempts in flight per dispatcher process (first attempts made at fan-out and queued ones alike). */
  concurrency: number;
  /** An endpoint failing without a single success for this long is disabled. */
  disableAfterMs: number;
  /** Attempts this overdue are re-published by the relay (their job was lost); the fan-out also reads this often without being woken. */
  relayDelayMs: number;
  destinationPolicy: DestinationPolicy;
}

export interface DispatcherDependencies {
  redisUrl: string;
  redis: RedisConnection;
  events: Pick<EventFanOutRepository, 'fanOutNext'>;
  deliveries: DeliveryAttemptsRepository;
  endpoints: WebhookEndpointsRepository;
  /** Opens the endpoints' signing secrets (stored encrypted). */
  secretKey: Buffer;
  logger: Logger;
  random?: () => number;
  observer?: DispatcherObserver;
}

/** What the dispatcher reports for metrics. */
export interface DispatcherObserver {
  /** An attempt's recorded outcome and its number (1 = first). */
  attempt(outcome: 'delivered' | 'gone' | 'refused' | 'retry' | 'exhausted', attempt: number, latencyMs: number): void;
  /** An event fanned out, `lagSeconds` after it was committed. */
  fannedOut(lagSeconds: number, deliveries: number): void;
  /** Attempts the relay re-published because their job was lost. */
  relayed(kind: 'delivery', count: number): void;
}

const RELAY_BATCH = 500;

/** Events one fan-out pass reads (one transaction); a full pass is followed by the next at once. */
const FAN_OUT_BATCH = 200;

/**
 * A woken fan-out reads once more this long after its last pass. An event is read only once every
 * transaction older than its own has finished, and the commit that unblocks it may announce nothing
 * (a key write, an outbox insert): the second look finds it without waiting for the periodic one.
 */
const FAN_OUT_SECOND_LOOK_MS = 40;

/**
 * How long an attempt waits in the process for its endpoint's slot before its job is put back with a
 * delay. Under a burst a slot comes free within milliseconds; putting the job back at once made
 * attempts cycle through the queue while slots stood idle. A hanging endpoint holds a job this long.
 */
const SLOT_WAIT_MS = 100;

/**
 * How long a first attempt waits for one of the process's attempt permits before it is queued as a
 * job instead. Under a burst permits come free within milliseconds.
 */
const PERMIT_WAIT_MS = 1_000;

/** A looked-up delivery, ready for its attempt with one of its endpoint's slots held; or why not. */
type Prepared = { kind: 'ready'; delivery: DeliveryForAttempt; slot: string } | { kind: 'nothing-to-do' } | { kind: 'endpoint-busy' };

/**
 * Turns committed domain events into signed webhook deliveries. Everything it needs to go on after a
 * crash is in Postgres (events, deliveries, attempt counts, next attempt times) and Redis (queued
 * attempts): the relay re-publishes events and attempts whose enqueue was lost.
 */
export class WebhookDispatcher {
  private readonly queues: WebhookQueues;
  private readonly slots: EndpointSlots;
  private readonly http: WebhookHttpClient;
  private readonly workers: Worker[] = [];
  private readonly workerConnections: RedisConnection[] = [];
  /** A fan-out was asked for while one ran: run another after it. */
  private fanOutWanted = false;
  /** Whether a pass wanted now should be followed by a second look (announcements want one, the periodic read not). */
  private secondLookWanted = false;
  private fanningOut: Promise<void> | null = null;
  private stopping = false;
  private relayTimer: NodeJS.Timeout | null = null;
  private relaying: Promise<void> | null = null;
  private readonly random: () => number;
  /** Concurrent attempts look their deliveries up, and record their successes, together. */
  private readonly lookups: Batcher<string, DeliveryForAttempt | null>;
  private readonly delivered: Batcher<DeliveredAttempt, boolean>;
  private readonly permits: AttemptPermits;
  /** First attempts this process started after a fan-out and has not finished. */
  private readonly firstAttempts = new Set<Promise<void>>();
  /**
   * How long a first attempt belongs to the dispatcher that fanned its event out: the delivery's next
   * attempt time is set this far ahead, so the relay takes it over only if that dispatcher died. It
   * covers the waits for a permit and a slot and the request, twice over.
   */
  private readonly firstAttemptLeaseMs: number;

  constructor(
    private readonly deps: DispatcherDependencies,
    private readonly settings: DispatcherSettings,
  ) {
    this.queues = new WebhookQueues(deps.redis);
    this.slots = new EndpointSlots(deps.redis, settings.endpointConcurrency, settings.timeoutMs * 2);
    this.http = new WebhookHttpClient(settings.destinationPolicy);
    this.random = deps.random ?? Math.random;
    this.lookups = new Batcher(async (deliveryIds) => {
      const found = await deps.deliveries.findForAttempts(deliveryIds);
      return deliveryIds.map((deliveryId) => found.get(deliveryId) ?? null);
    });
    this.delivered = new Batcher((entries) => deps.deliveries.recordDelivered(entries));
    this.permits = new AttemptPermits(settings.concurrency);
    this.firstAttemptLeaseMs = 2 * (PERMIT_WAIT_MS + SLOT_WAIT_MS + settings.timeoutMs);
  }

  start(): void {
    const connection = (name: string): RedisConnection => {
      const redis = createRedisConnection(this.deps.redisUrl, name);
      this.workerConnections.push(redis);
      return redis;
    };
    // Announced by libs/queue/src/webhook-queues.ts after each commit of events (workers and gateways);
    // attempts are scheduled there too. An announcement lost (Redis down, a crash after the commit) only
    // delays the events until the periodic read below.
    const announcements = connection('webhook-events');
    announcements.on('message', () => this.requestFanOut());
    void announcements.subscribe(EVENTS_COMMITTED_CHANNEL).catch((error: unknown) => this.deps.logger.error({ err: error }, 'cannot subscribe to event announcements; reading events periodically only'));
    const deliveries = new Worker<DeliveryJobData>(WEBHOOK_DELIVERIES_QUEUE, (job, token) => this.attempt(job, token), {
      connection: connection('webhook-deliveries'),
      concurrency: this.settings.concurrency,
      // An attempt on a dispatcher that died is taken over within about 15 s (the lock is renewed
      // while the process lives, so attempts may run longer than the lock).
      lockDuration: 10_000,
      stalledInterval: 5_000,
    });
    for (const worker of [deliveries]) {
      worker.on('error', (error) => this.deps.logger.error({ err: error }, 'webhook queue worker error'));
      worker.on('failed', (job, error) =>
        error instanceof UnrecoverableError ? this.deps.logger.error({ err: error, jobId: job?.id }, 'webhook job dropped') : this.deps.logger.warn({ err: error, jobId: job?.id }, 'webhook job failed; it will be retried'),
      );
      this.workers.push(worker);
    }
    const every = Math.max(250, Math.floor(this.settings.relayDelayMs / 2));
    this.requestFanOut();
    this.relayTimer = setInterval(() => {
      // The periodic read is itself the second look of whatever it misses: the next one finds it.
      this.requestFanOut({ secondLook: false });
      this.relaying ??= this.relay()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'webhook relay failed'))
        .finally(() => (this.relaying = null));
    }, every);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.relayTimer) clearInterval(this.relayTimer);
    await this.relaying;
    await this.fanningOut;
    // Close waits for attempts in flight (each bounded by the timeout), the first attempts too.
    await Promise.all(this.workers.map((worker) => worker.close()));
    await Promise.all([...this.firstAttempts]);
    await this.queues.close();
    await Promise.all(this.workerConnections.map((redis) => closeRedisConnection(redis)));
    this.http.close();
  }

  /** Re-publishes attempts whose job was lost (a process died between a commit and an enqueue). */
  async relay(now: Date = new Date()): Promise<void> {
    const before = new Date(now.getTime() - this.settings.relayDelayMs);
    const overdue = await this.deps.deliveries.listOverdue(before, RELAY_BATCH);
    for (const delivery of overdue) await this.queues.scheduleDelivery(delivery.id, delivery.attempts);
    this.deps.observer?.relayed('delivery', overdue.length);
    if (overdue.length > 0) this.deps.logger.info({ deliveries: overdue.length }, 'relay re-published attempts that were left behind');
  }

  /** Reads the committed events now (or right after the read in progress), and once more a moment later unless told not to. */
  private requestFanOut({ secondLook = true }: { secondLook?: boolean } = {}): void {
    if (this.stopping) return;
    this.fanOutWanted = true;
    this.secondLookWanted ||= secondLook;
    this.fanningOut ??= this.fanOutWhileWanted()
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'webhook fan-out failed; the next announcement or periodic read retries it'))
      .finally(() => (this.fanningOut = null));
  }

  private async fanOutWhileWanted(): Promise<void> {
    let secondLook = false;
    while (!this.stopping && (this.fanOutWanted || secondLook)) {
      secondLook = this.fanOutWanted && this.secondLookWanted;
      this.fanOutWanted = false;
      this.secondLookWanted = false;
      // Another dispatcher holding the pass heard the same announcement and reads after it.
      while (!this.stopping && (await this.fanOutPass()) === 'more') continue;
      if (secondLook) await new Promise((resolve) => setTimeout(resolve, FAN_OUT_SECOND_LOOK_MS));
    }
  }

  /**
   * Creates the deliveries of the next committed events and makes their first attempts from here, without
   * a queued job each (a job costs about thirty Redis commands). The pass ends once every first attempt
   * has started or been queued, so a burst of events waits in Postgres rather than in memory.
   */
  private async fanOutPass(): Promise<'more' | 'done'> {
    const now = new Date();
    const pass = await this.deps.events.fanOutNext(FAN_OUT_BATCH, { now, firstAttemptAt: new Date(now.getTime() + this.firstAttemptLeaseMs) });
    for (const event of pass.events) this.deps.observer?.fannedOut((now.getTime() - event.createdAt.getTime()) / 1000, event.deliveryIds.length);
    const deliveryIds = pass.events.flatMap((event) => event.deliveryIds);
    const started = await Promise.all(deliveryIds.map((deliveryId) => this.startFirstAttempt(deliveryId)));
    await this.queues.scheduleFirstAttempts(deliveryIds.filter((_, index) => !started[index]));
    return pass.events.length === FAN_OUT_BATCH ? 'more' : 'done';
  }

  /**
   * Starts a delivery's first attempt when a permit and a slot of its endpoint come free in time, and
   * lets it run on; false when it should be queued instead. Should this process die meanwhile, the
   * relay re-publishes the attempt once its lease is over.
   */
  private async startFirstAttempt(deliveryId: string): Promise<boolean> {
    if (!(await this.permits.acquire(PERMIT_WAIT_MS))) return false;
    let prepared: Prepared;
    try {
      prepared = await this.prepare(deliveryId, 0);
    } catch (error) {
      this.permits.release();
      this.deps.logger.warn({ err: error, deliveryId }, 'first attempt could not start; queued instead');
      return false;
    }
    if (prepared.kind !== 'ready') {
      this.permits.release();
      return prepared.kind === 'nothing-to-do';
    }
    const running: Promise<void> = this.make(prepared.delivery, 0, prepared.slot)
      .catch((error: unknown) => this.deps.logger.error({ err: error, deliveryId }, 'first attempt failed; the relay re-publishes it when its lease is over'))
      .finally(() => {
        this.permits.release();
        this.firstAttempts.delete(running);
      });
    this.firstAttempts.add(running);
    return true;
  }

  /** A queued attempt: a retry, a replay, a first attempt that could not start at fan-out. */
  private async attempt(job: Job<DeliveryJobData>, token: string | undefined): Promise<void> {
    const { deliveryId, attempt } = parseJob(deliveryJobSchema, job.data);
    await this.permits.acquire();
    try {
      const prepared = await this.prepare(deliveryId, attempt);
      if (prepared.kind === 'endpoint-busy') {
        // The endpoint still has its share in flight: wait without holding one of the dispatch slots.
        await job.moveToDelayed(Date.now() + 50 + Math.floor(this.random() * 200), token);
        throw new DelayedError();
      }
      if (prepared.kind === 'ready') await this.make(prepared.delivery, attempt, prepared.slot);
    } finally {
      this.permits.release();
    }
  }

  /** Looks the delivery up and takes one of its endpoint's slots, waiting a little for one. */
  private async prepare(deliveryId: string, attempt: number): Promise<Prepared> {
    const delivery = await this.lookups.add(deliveryId);
    // Gone (endpoint deleted), finished, or this attempt was made already: a stale or duplicate job.
    if (!delivery || delivery.status !== 'pending' || delivery.attempts !== attempt) return { kind: 'nothing-to-do' };
    if (!delivery.endpoint.enabled) {
      await this.deps.deliveries.abandon(deliveryId, attempt, `endpoint disabled: ${delivery.endpoint.disabledReason ?? 'by a user'}`);
      return { kind: 'nothing-to-do' };
    }
    const slot = await this.slots.acquireWithin(delivery.endpointId, SLOT_WAIT_MS);
    return slot === null ? { kind: 'endpoint-busy' } : { kind: 'ready', delivery, slot };
  }

  /** Sends the attempt, frees the endpoint's slot, and records the outcome. */
  private async make(delivery: DeliveryForAttempt, attempt: number, slot: string): Promise<void> {
    let outcome: AttemptOutcome;
    try {
      outcome = await this.send(delivery);
    } finally {
      await this.slots.release(delivery.endpointId, slot);
    }
    await this.record(delivery, attempt, outcome);
  }

  private secretsOf(delivery: DeliveryForAttempt, now: Date): string[] {
    const { endpoint } = delivery;
    const secrets = [openSecret(endpoint.secretCiphertext, this.deps.secretKey)];
    if (endpoint.previousSecretCiphertext && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
      secrets.push(openSecret(endpoint.previousSecretCiphertext, this.deps.secretKey));
    }
    return secrets;
  }

  private async send(delivery: DeliveryForAttempt): Promise<AttemptOutcome> {
    const now = new Date();
    const envelope = inSeedOrder(delivery.event.payload);
    const body = JSON.stringify(envelope);
    const signed = signWebhook({ id: delivery.event.id, timestamp: Math.floor(now.getTime() / 1000), body, secrets: this.secretsOf(delivery, now) });
    const data = envelope['data'] as Record<string, unknown> | undefined;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'wagw-webhooks/1',
      ...signed,
      ...headerIfSet('x-userId', data?.['userId']),
      ...headerIfSet('x-instanceId', data?.['instanceId']),
    };
    return this.http.post({ url: delivery.endpoint.url, headers, body, timeoutMs: this.settings.timeoutMs });
  }

  private async record(delivery: DeliveryForAttempt, attempt: number, outcome: AttemptOutcome): Promise<void> {
    const { deliveries, endpoints, logger } = this.deps;
    const now = new Date();
    const verdict = judgeAttempt(outcome);
    const statusCode = outcome.kind === 'response' ? outcome.statusCode : null;
    const log = logger.child({ orgId: delivery.orgId, endpointId: delivery.endpointId, deliveryId: delivery.id, eventId: delivery.eventId, attempt: attempt + 1 });
    const base = { lastStatusCode: statusCode, lastLatencyMs: outcome.latencyMs };
    const observe = (result: Parameters<DispatcherObserver['attempt']>[0]) => this.deps.observer?.attempt(result, attempt + 1, outcome.latencyMs);
    switch (verdict.result) {
      case 'delivered':
        // The common case, written together with other successes that finish meanwhile.
        await this.delivered.add({ deliveryId: delivery.id, attempt, statusCode: statusCode ?? 0, latencyMs: outcome.latencyMs, deliveredAt: now });
        // One query fewer per delivery in the common case: only an endpoint seen failing needs clearing
        // (a failure recorded meanwhile is cleared by the next success that sees it).
        if (delivery.endpoint.failingSince !== null) await endpoints.clearFailing(delivery.orgId, delivery.endpointId);
        observe('delivered');
        log.debug({ statusCode, latencyMs: outcome.latencyMs }, 'webhook delivered');
        return;
      case 'gone':
        await deliveries.recordAttempt(delivery.id, attempt, { ...base, status: 'failed', nextAttemptAt: null, lastError: 'answered 410 Gone: the endpoint was disabled' });
        await endpoints.disable(delivery.orgId, delivery.endpointId, `answered 410 Gone at ${now.toISOString()}`);
        observe('gone');
        log.info('endpoint answered 410 Gone; disabled');
        return;
      case 'refused':
        await deliveries.recordAttempt(delivery.id, attempt, { ...base, status: 'failed', nextAttemptAt: null, lastError: verdict.reason });
        await this.noteFailure(delivery, now);
        observe('refused');
        log.warn({ reason: verdict.reason }, 'webhook destination refused');
        return;
      case 'retry': {
        await this.noteFailure(delivery, now);
        const delay = nextRetryDelay(this.settings.retryScheduleMs, attempt + 1, this.settings.retryJitter, this.random);
        if (delay === null) {
          await deliveries.recordAttempt(delivery.id, attempt, { ...base, status: 'exhausted', nextAttemptAt: null, lastError: verdict.reason });
          observe('exhausted');
          log.warn({ reason: verdict.reason }, 'webhook delivery exhausted its retries');
          return;
        }
        const nextAttemptAt = new Date(now.getTime() + (verdict.retryAfterMs ?? delay));
        const recorded = await deliveries.recordAttempt(delivery.id, attempt, { ...base, status: 'pending', nextAttemptAt, lastError: verdict.reason });
        if (recorded) await this.queues.scheduleDelivery(delivery.id, attempt + 1, nextAttemptAt);
        observe('retry');
        log.info({ reason: verdict.reason, nextAttemptAt }, 'webhook attempt failed; retry scheduled');
        return;
      }
    }
  }

  /** A failing run that has lasted too long turns the endpoint off, with the reason shown to its owner. */
  private async noteFailure(delivery: DeliveryForAttempt, now: Date): Promise<void> {
    const since = await this.deps.endpoints.markFailing(delivery.orgId, delivery.endpointId, now);
    if (now.getTime() - since.getTime() >= this.settings.disableAfterMs) {
      await this.deps.endpoints.disable(delivery.orgId, delivery.endpointId, `failing without a success since ${since.toISOString()}`);
      this.deps.logger.warn({ orgId: delivery.orgId, endpointId: delivery.endpointId, since }, 'endpoint disabled after failing for too long');
    }
  }
}

function headerIfSet(name: string, value: unknown): Record<string, string> {
  return typeof value === 'string' && value !== '' ? { [name]: value } : {};
}

const ENVELOPE_ORDER = ['event', 'data'];
const DATA_ORDER = ['id', 'event', 'metadata', 'me', 'payload', 'instanceId', 'userId'];

/** Postgres' jsonb keeps keys in its own order; the envelope goes out in the order the reference shows. */
function inSeedOrder(payload: unknown): Record<string, unknown> {
  const envelope = (payload ?? {}) as Record<string, unknown>;
  const ordered = reorder(envelope, ENVELOPE_ORDER);
  const data = envelope['data'];
  if (data && typeof data === 'object' && !Array.isArray(data)) ordered['data'] = reorder(data as Record<string, unknown>, DATA_ORDER);
  return ordered;
}

function reorder(object: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of order) if (key in object) result[key] = object[key];
  for (const [key, value] of Object.entries(object)) if (!(key in result)) result[key] = value;
  return result;
}

/** A job's data as its schema says, or a failure BullMQ does not retry: a malformed job never becomes valid. */
function parseJob<T>(schema: z.ZodType<T>, data: unknown): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new UnrecoverableError(`malformed job: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
