import { compareStreamPositions, type EventStreamCursor, type EventStreamRepository, type StreamedEvent } from '@wagw/db';

/** What one subscriber wants, and where it has got to. */
export interface StreamSubscription {
  orgId: string;
  /** Event types to receive; empty: every type. */
  types: ReadonlySet<string>;
  /** Session ids to receive events of; empty: every session (and events of no session). */
  sessionIds: ReadonlySet<string>;
  /** Receives the events after its cursor that pass its filters, oldest first. */
  deliver(events: readonly StreamedEvent[]): void;
  /** Told once when the hub gives up on it (it stopped reading, or the gateway is closing). */
  end(reason: 'slow_consumer' | 'shutdown'): void;
  /** Bytes written to it that its client has not read yet: past the hub's limit it is dropped. */
  pendingBytes(): number;
}

interface Subscriber {
  subscription: StreamSubscription;
  cursor: EventStreamCursor;
}

export interface EventStreamHubSettings {
  /** How often each organization with subscribers is read while they are connected. */
  pollIntervalMs: number;
  /** Events read per query; a full batch is followed at once by the next. */
  batchSize: number;
  /** Batches read per organization per poll: a subscriber far behind catches up over several polls. */
  maxBatchesPerPoll: number;
  /** A subscriber whose client has this much unread is closed; it resumes with `Last-Event-ID`. */
  maxPendingBytes: number;
}

export const EVENT_STREAM_DEFAULTS: EventStreamHubSettings = { pollIntervalMs: 250, batchSize: 500, maxBatchesPerPoll: 20, maxPendingBytes: 1 << 20 };

export interface EventStreamHubLogger {
  warn(fields: object, message: string): void;
}

function wanted(subscription: StreamSubscription, event: StreamedEvent): boolean {
  if (subscription.types.size > 0 && !subscription.types.has(event.type)) return false;
  if (subscription.sessionIds.size > 0 && (event.sessionId === null || !subscription.sessionIds.has(event.sessionId))) return false;
  return true;
}

function positionOf(event: StreamedEvent): EventStreamCursor {
  return { txId: event.txId, eventId: event.id };
}

/**
 * One gateway replica's readers of the event stream. Every replica reads the domain-event table itself,
 * so a subscriber receives an event whichever worker wrote it and whichever replica it is connected to.
 * One query per organization with subscribers per poll: subscribers at the same position share it, and
 * nothing is read while nobody is subscribed.
 */
export class EventStreamHub {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly events: EventStreamRepository,
    private readonly logger: EventStreamHubLogger,
    private readonly settings: EventStreamHubSettings = EVENT_STREAM_DEFAULTS,
  ) {}

  /** Subscribers connected to this replica for `orgId`. */
  count(orgId: string): number {
    return this.subscribers.get(orgId)?.size ?? 0;
  }

  /**
   * Where a new subscriber starts, to be taken before it is told it is subscribed: an event committed
   * after the client heard back always follows it.
   */
  head(): Promise<EventStreamCursor> {
    return this.events.head();
  }

  /** Starts delivering what follows `from` (see `head`, or the position after a `Last-Event-ID`); returns the unsubscribe. */
  subscribe(subscription: StreamSubscription, from: EventStreamCursor): () => void {
    const subscriber: Subscriber = { subscription, cursor: from };
    const forOrg = this.subscribers.get(subscription.orgId) ?? new Set<Subscriber>();
    forOrg.add(subscriber);
    this.subscribers.set(subscription.orgId, forOrg);
    this.timer ??= setInterval(() => this.poll(), this.settings.pollIntervalMs);
    this.poll();
    return () => this.remove(subscriber);
  }

  /** Ends every subscription (telling each) and stops reading. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
    for (const forOrg of this.subscribers.values()) for (const subscriber of forOrg) subscriber.subscription.end('shutdown');
    this.subscribers.clear();
  }

  private remove(subscriber: Subscriber): void {
    const forOrg = this.subscribers.get(subscriber.subscription.orgId);
    if (!forOrg?.delete(subscriber)) return;
    if (forOrg.size === 0) this.subscribers.delete(subscriber.subscription.orgId);
    if (this.subscribers.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** One poll at a time: a slow one delays the next instead of overlapping it. */
  private poll(): void {
    if (this.closed || this.polling) return;
    this.polling = this.pollOrganizations()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'event stream read failed; retried at the next poll'))
      .finally(() => (this.polling = null));
  }

  private async pollOrganizations(): Promise<void> {
    await Promise.all([...this.subscribers.keys()].map((orgId) => this.pollOrganization(orgId)));
  }

  private async pollOrganization(orgId: string): Promise<void> {
    for (let batch = 0; batch < this.settings.maxBatchesPerPoll; batch++) {
      const forOrg = this.subscribers.get(orgId);
      if (!forOrg || forOrg.size === 0 || this.closed) return;
      const readers = [...forOrg];
      const from = readers.map((subscriber) => subscriber.cursor).reduce((a, b) => (compareStreamPositions(a, b) <= 0 ? a : b));
      const events = await this.events.readAfter(orgId, from, this.settings.batchSize);
      if (events.length === 0) return;
      for (const subscriber of readers) this.hand(subscriber, events);
      if (events.length < this.settings.batchSize) return;
    }
  }

  private hand(subscriber: Subscriber, events: readonly StreamedEvent[]): void {
    // Still subscribed? It may have left while the batch was read.
    if (!this.subscribers.get(subscriber.subscription.orgId)?.has(subscriber)) return;
    const unseen = events.filter((event) => compareStreamPositions(positionOf(event), subscriber.cursor) > 0);
    const last = unseen.at(-1);
    if (!last) return;
    subscriber.cursor = positionOf(last);
    const delivered = unseen.filter((event) => wanted(subscriber.subscription, event));
    if (delivered.length > 0) subscriber.subscription.deliver(delivered);
    if (subscriber.subscription.pendingBytes() > this.settings.maxPendingBytes) {
      this.logger.warn({ orgId: subscriber.subscription.orgId, pendingBytes: subscriber.subscription.pendingBytes() }, 'event stream subscriber is not reading; closed (it resumes with Last-Event-ID)');
      this.remove(subscriber);
      subscriber.subscription.end('slow_consumer');
    }
  }
}
