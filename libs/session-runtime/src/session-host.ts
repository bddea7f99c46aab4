import { Queue, Worker } from 'bullmq';
import { commandJobSchema, commandQueueName, redisKeys, type CommandOutcome, type CommandReply, type SessionStatus } from '@wagw/contracts';

const REPLY_LIST_TTL_MS = 60_000;
const UNCLAIMED_GRACE_MS = 3_000;
/** How long a taken-over session may take to connect before its stranded commands are left alone. */
const STRANDED_CONNECT_WAIT_MS = 30_000;
/**
 * The previous owner's queue is read once the session is connected here, and once more after this
 * long: a gateway that read the old lease just before it moved may still have queued a command there.
 */
const STRANDED_RESCAN_AFTER_MS = 3_000;
/**
 * A stranded command whose caller gave up less than this long ago still runs (its caller was told 504:
 * the outcome may still come, readable by its outboxId); an older one expires, as in any queue.
 */
const STRANDED_RUN_WINDOW_MS = 60_000;
/** Time a stranded command gets to run on the new owner. */
const STRANDED_RUN_MS = 10_000;
import type { OutboxRepository } from '@wagw/db';
import type { SessionPlacementRepository } from '@wagw/db/system';
import { createRedisConnection, closeRedisConnection, type RedisConnection } from '@wagw/queue';
import type { TerminalReason } from '@wagw/whatsapp';
import { CommandExecutor } from './command-executor.js';
import { LeaseClock, leaseTiming, monotonicNow, type LeaseTiming } from './lease-clock.js';
import { LeaseManager } from './lease-manager.js';
import { SessionRunner, type RunnerDependencies } from './session-runner.js';

export interface SessionHostOptions extends RunnerDependencies {
  workerId: string;
  redisUrl: string;
  outbox: OutboxRepository;
  /** Every organization's sessions that should run: what the placement loop looks at. */
  placement: SessionPlacementRepository;
  leaseTtlMs?: number;
  placementIntervalMs?: number;
  commandConcurrency?: number;
  /** Told of each lease this worker acquires, loses or releases (for metrics). */
  onLeaseTransition?: (transition: LeaseTransition) => void;
  /**
   * Whether this worker reaches Postgres within `timeoutMs` (see DatabaseProbe). A worker that cannot
   * write its sessions' keys and messages stops renewing their leases, so that one that can takes them.
   */
  databaseReachable?: (timeoutMs: number) => Promise<boolean>;
}

export type LeaseTransition = 'acquired' | 'lost' | 'released';

/** What one renewal learned: Redis kept the lease, said it is gone, or did not answer (`unknown`). */
export type RenewalOutcome = 'held' | 'lost' | 'unknown';

/**
 * Renews every lease at once. Issued together, the renewals share Redis round trips; one after another,
 * a busy worker with hundreds of sessions took longer than the TTL to reach the last ones. A renewal
 * that fails (Redis unreachable, timed out) proves nothing either way: the LeaseClock decides.
 */
export async function renewAll<Holder>(holders: readonly Holder[], renew: (holder: Holder) => Promise<boolean>): Promise<Map<Holder, RenewalOutcome>> {
  const outcomes = await Promise.all(holders.map((holder) => renew(holder).then((held): RenewalOutcome => (held ? 'held' : 'lost'), (): RenewalOutcome => 'unknown')));
  return new Map(holders.map((holder, index) => [holder, outcomes[index] ?? 'unknown']));
}

/**
 * A worker's share of the sessions: claims sessions that should run and have no owner (when it is the
 * least loaded live worker), keeps their leases alive, runs the commands routed to it, and on shutdown
 * finishes in-flight commands, closes its sockets and releases its leases so others take over at once.
 */
export class SessionHost {
  private readonly runners = new Map<string, SessionRunner>();
  private readonly leases: LeaseManager;
  private readonly timing: LeaseTiming;
  private readonly clock: LeaseClock;
  /** Leases, heartbeats and replies: every call times out (leaseTiming), unlike BullMQ's blocking connections. */
  private readonly leaseRedis: RedisConnection;
  private renewing = false;
  private readonly executor: CommandExecutor;
  private commandWorker: Worker | null = null;
  private subscriber: RedisConnection | null = null;
  private timers: NodeJS.Timeout[] = [];
  private placing: Promise<void> | null = null;
  /** When this worker first saw each session unowned: a session left unclaimed too long is taken regardless of load. */
  private readonly unownedSince = new Map<string, number>();
  private stopping = false;
  private readonly endings = new Set<Promise<void>>();

  constructor(private readonly options: SessionHostOptions) {
    this.timing = leaseTiming(options.leaseTtlMs ?? 15_000);
    this.clock = new LeaseClock(this.timing);
    this.leaseRedis = createRedisConnection(options.redisUrl, `leases-${options.workerId}`, (error) => options.logger.warn({ err: error }, 'redis connection error (leases)'), {
      commandTimeoutMs: this.timing.redisTimeoutMs,
    });
    this.leases = new LeaseManager(this.leaseRedis, options.workerId, this.timing.ttlMs);
    this.executor = new CommandExecutor((sessionId) => this.runners.get(sessionId), options.outbox, options.logger);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  /** This worker's sessions by their last written status. */
  sessionsByStatus(): Map<SessionStatus, number> {
    const counts = new Map<SessionStatus, number>();
    for (const runner of this.runners.values()) {
      const status = runner.status;
      if (status !== null) counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    return counts;
  }

  async start(): Promise<void> {
    const { logger } = this.options;
    // Announced now if Redis answers in time, else by the first renewal round.
    await this.leases.heartbeat(0).catch((error: unknown) => logger.warn({ err: error }, 'first heartbeat failed; the renewal loop retries'));
    // Commands from the gateways: produced by libs/command-client/src/command-dispatcher.ts.
    this.commandWorker = new Worker(
      commandQueueName(this.options.workerId),
      async (job): Promise<CommandOutcome> => {
        const command = commandJobSchema.parse(job.data);
        const outcome = await this.executor.handle(command);
        if (command.replyTo) await this.reply(command.replyTo, { jobId: job.id ?? '', outcome });
        return outcome;
      },
      { connection: createRedisConnection(this.options.redisUrl, `commands-${this.options.workerId}`), concurrency: this.options.commandConcurrency ?? 32 },
    );
    this.commandWorker.on('error', (error) => logger.error({ err: error }, 'command worker error'));
    this.subscriber = createRedisConnection(this.options.redisUrl, `placement-${this.options.workerId}`);
    await this.subscriber.subscribe(redisKeys.sessionChanged);
    this.subscriber.on('message', () => this.schedulePlacement());
    this.timers.push(setInterval(() => void this.renew(), this.timing.renewEveryMs));
    this.timers.push(setInterval(() => this.closeOverdue(), Math.min(250, Math.floor(this.timing.closeMarginMs / 4))));
    this.timers.push(setInterval(() => this.schedulePlacement(), this.options.placementIntervalMs ?? 1_000));
    this.schedulePlacement();
    logger.info({ workerId: this.options.workerId }, 'session host started');
  }

  /** Pushes the outcome to the waiting gateway; the list expires if that gateway died. */
  private async reply(list: string, reply: CommandReply): Promise<void> {
    await this.leaseRedis.multi().lpush(list, JSON.stringify(reply)).pexpire(list, REPLY_LIST_TTL_MS).exec();
  }

  private schedulePlacement(): void {
    if (this.stopping || this.placing) return;
    this.placing = this.place()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'placement failed'))
      .finally(() => (this.placing = null));
  }

  private async place(): Promise<void> {
    const wanted = await this.options.placement.listShouldRun();
    const wantedIds = new Set(wanted.map((session) => session.id));
    for (const runner of [...this.runners.values()]) {
      if (!wantedIds.has(runner.sessionId)) await runner.stop('stopped');
    }
    const others = (await this.leases.liveWorkers()).filter((worker) => worker.workerId !== this.options.workerId);
    let load = this.runners.size;
    const now = Date.now();
    for (const id of this.unownedSince.keys()) if (!wantedIds.has(id)) this.unownedSince.delete(id);
    for (const session of wanted) {
      if (this.stopping) return;
      if (this.runners.has(session.id)) continue;
      const since = this.unownedSince.get(session.id) ?? now;
      this.unownedSince.set(session.id, since);
      // Least-loaded placement: leave the session to a worker with fewer sessions, but only for a while:
      // if that worker does not take it (stuck, overloaded), anyone does.
      if (others.some((worker) => worker.load < load) && now - since < UNCLAIMED_GRACE_MS) continue;
      const sentAt = monotonicNow();
      const lease = await this.leases.acquire(session.id);
      if (!lease) continue;
      this.clock.confirmed(session.id, sentAt);
      this.options.onLeaseTransition?.('acquired');
      this.unownedSince.delete(session.id);
      const runner = new SessionRunner(session.orgId, session.id, lease, this.options, (ended, reason) => this.track(this.onRunnerEnded(ended, reason)));
      this.runners.set(session.id, runner);
      load += 1;
      await this.leases.heartbeat(load);
      const started = await runner.start().then(
        () => true,
        async (error: unknown) => {
          this.options.logger.error({ err: error, sessionId: session.id }, 'session failed to start');
          await runner.stop('stopped');
          return false;
        },
      );
      if (started && runner.previousOwner !== null) this.track(this.takeOverStranded(runner, runner.previousOwner));
    }
  }

  /**
   * Commands the gateway queued for the session's previous owner, which died (kill -9; in Kubernetes a
   * killed pod never comes back under its name) before running or answering them. Once the session is
   * connected here, each is run here under this runner's epoch, exactly once (the executor answers a
   * finished operation from the outbox, and a re-run sends under the same WhatsApp id), its outcome
   * pushed to the gateway that may still be waiting, and the job removed from the dead queue.
   */
  private async takeOverStranded(runner: SessionRunner, previousOwner: string): Promise<void> {
    const { logger } = this.options;
    const connectBy = Date.now() + STRANDED_CONNECT_WAIT_MS;
    while (!runner.isConnected) {
      if (this.stopping || this.runners.get(runner.sessionId) !== runner || Date.now() > connectBy) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const queue = new Queue(commandQueueName(previousOwner), { connection: this.options.redis });
    try {
      for (const pass of [0, 1]) {
        if (pass === 1) await new Promise((resolve) => setTimeout(resolve, STRANDED_RESCAN_AFTER_MS));
        if (this.stopping || this.runners.get(runner.sessionId) !== runner) return;
        const jobs = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized'], 0, 999);
        for (const job of jobs) {
          const parsed = commandJobSchema.safeParse(job.data);
          if (!parsed.success || parsed.data.sessionId !== runner.sessionId || parsed.data.epoch >= runner.lease.epoch) continue;
          const now = Date.now();
          const command = parsed.data;
          const deadline = now - command.deadline < STRANDED_RUN_WINDOW_MS ? Math.max(command.deadline, now + STRANDED_RUN_MS) : command.deadline;
          // Removed first where it can be (an active job of a dead worker stays locked a while): a
          // worker coming back under the old name must not run it a second time.
          await job.remove().catch(() => undefined);
          const outcome = await this.executor.handle({ ...command, epoch: runner.lease.epoch, deadline });
          if (command.replyTo) await this.reply(command.replyTo, { jobId: job.id ?? '', outcome }).catch(() => undefined);
          logger.info({ sessionId: runner.sessionId, commandId: command.commandId, previousOwner, ok: outcome.ok }, 'ran a command stranded on the previous owner');
        }
      }
    } catch (error) {
      logger.warn({ err: error, sessionId: runner.sessionId, previousOwner }, 'could not take over stranded commands');
    } finally {
      await queue.close().catch(() => undefined);
    }
  }

  /** Endings still writing their last status or releasing their lease: shutdown waits for them. */
  private track(ending: Promise<void>): void {
    this.endings.add(ending);
    void ending.finally(() => this.endings.delete(ending));
  }

  private async onRunnerEnded(runner: SessionRunner, reason: TerminalReason): Promise<void> {
    if (this.runners.get(runner.sessionId) === runner) {
      this.runners.delete(runner.sessionId);
      this.clock.forget(runner.sessionId);
    }
    // Released only if still ours (a lease that lapsed may be another's now): the next owner need not
    // wait out the TTL.
    await this.leases.release(runner.sessionId, runner.lease).catch(() => undefined);
    if (reason !== 'lease_lost') this.options.onLeaseTransition?.('released');
    this.options.logger.info({ sessionId: runner.sessionId, reason }, 'session ended on this worker');
  }

  private async renew(): Promise<void> {
    // A round waiting on a stalled Redis: its calls time out well before the next round is due.
    if (this.renewing || this.stopping) return;
    this.renewing = true;
    try {
      const { databaseReachable } = this.options;
      if (databaseReachable && !(await databaseReachable(this.timing.redisTimeoutMs))) {
        // No heartbeat either: no session is placed on a worker that cannot keep it.
        this.options.logger.warn({ workerId: this.options.workerId }, 'postgres unreachable: not renewing leases, the sessions will move');
        return;
      }
      const runners = [...this.runners.values()];
      const sentAt = monotonicNow();
      const [, outcomes] = await Promise.all([
        this.leases.heartbeat(this.runners.size).catch(() => undefined),
        renewAll(runners, (runner) => this.leases.renew(runner.sessionId, runner.lease)),
      ]);
      for (const [runner, outcome] of outcomes) {
        if (outcome === 'held' && this.runners.get(runner.sessionId) === runner) this.clock.confirmed(runner.sessionId, sentAt);
        // The lease expired or moved: close this socket at once (never log it out).
        if (outcome === 'lost') this.letGo(runner, 'lease lost: closing the socket');
      }
    } finally {
      this.renewing = false;
    }
  }

  /** Sessions whose lease this worker could not confirm in time: closed before the lease can pass on. */
  private closeOverdue(): void {
    for (const sessionId of this.clock.overdue()) {
      this.clock.forget(sessionId);
      const runner = this.runners.get(sessionId);
      if (runner) this.letGo(runner, 'lease not confirmed in time: closing the socket before another worker may take the session');
    }
  }

  private letGo(runner: SessionRunner, why: string): void {
    this.options.logger.warn({ sessionId: runner.sessionId, epoch: runner.lease.epoch }, why);
    this.options.onLeaseTransition?.('lost');
    this.track(runner.stop('lease_lost'));
  }

  /** SIGTERM: finish in-flight commands, close sockets, release leases, leave the registry. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.placing;
    await this.commandWorker?.close();
    await Promise.all([...this.runners.values()].map((runner) => runner.stop('released')));
    // The last status is written and each lease released before the process goes: the next worker
    // takes the sessions over at once instead of after the lease TTL.
    await Promise.all([...this.endings]);
    await this.leases.unregister().catch(() => undefined);
    if (this.subscriber) await closeRedisConnection(this.subscriber);
    await closeRedisConnection(this.leaseRedis);
    this.options.logger.info({ workerId: this.options.workerId }, 'session host stopped');
  }
}
