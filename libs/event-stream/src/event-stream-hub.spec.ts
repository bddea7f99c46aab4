import { describe, expect, it } from 'vitest';
import { compareStreamPositions, MAX_EVENT_ID, type EventStreamCursor, type EventStreamRepository, type StreamedEvent } from '@wagw/db';
import { EventStreamHub, type StreamSubscription } from './event-stream-hub.js';

/** Committed events in stream order, read as the repository reads them (a unit test's stand-in for Postgres). */
class CommittedEvents implements Pick<EventStreamRepository, 'head' | 'readAfter'> {
  readonly events: Array<StreamedEvent & { orgId: string }> = [];
  reads = 0;

  add(orgId: string, id: string, type = 'session.status', sessionId: string | null = 's1', payload: unknown = { id }): void {
    this.events.push({ orgId, id, txId: String(this.events.length + 1), sessionId, type, payload });
  }

  async head(): Promise<EventStreamCursor> {
    return { txId: String(this.events.length), eventId: MAX_EVENT_ID };
  }

  async readAfter(orgId: string, cursor: EventStreamCursor, limit: number): Promise<StreamedEvent[]> {
    this.reads++;
    return this.events
      .filter((event) => event.orgId === orgId && compareStreamPositions({ txId: event.txId, eventId: event.id }, cursor) > 0)
      .slice(0, limit)
      .map(({ orgId: _orgId, ...event }) => event);
  }
}

function subscriber(orgId: string, options: Partial<StreamSubscription> = {}) {
  const received: string[] = [];
  const ended: string[] = [];
  const subscription: StreamSubscription = {
    orgId,
    types: new Set(),
    sessionIds: new Set(),
    deliver: (events) => received.push(...events.map((event) => event.id)),
    end: (reason) => ended.push(reason),
    pendingBytes: () => 0,
    ...options,
  };
  return { subscription, received, ended };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
const quiet = { warn: () => undefined };

describe('EventStreamHub', () => {
  it('hands each subscriber what follows its own position, filtered by type and session', async () => {
    const store = new CommittedEvents();
    const hub = new EventStreamHub(store as unknown as EventStreamRepository, quiet, { pollIntervalMs: 10, batchSize: 2, maxBatchesPerPoll: 20, maxPendingBytes: 1_000 });
    store.add('a', 'e1');
    const everything = subscriber('a');
    const revokedOnly = subscriber('a', { types: new Set(['message.revoked']) });
    const otherSession = subscriber('a', { sessionIds: new Set(['s2']) });
    const otherOrg = subscriber('b');
    hub.subscribe(everything.subscription, { txId: '0', eventId: MAX_EVENT_ID });
    for (const { subscription } of [revokedOnly, otherSession, otherOrg]) hub.subscribe(subscription, await hub.head());
    store.add('a', 'e2', 'message.revoked');
    store.add('a', 'e3', 'session.status', 's2');
    store.add('a', 'e4', 'message.received', null);
    store.add('b', 'e5');
    await settle();
    expect(everything.received).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(revokedOnly.received).toEqual(['e2']);
    expect(otherSession.received).toEqual(['e3']);
    expect(otherOrg.received).toEqual(['e5']);
    await hub.close();
    expect(everything.ended).toEqual(['shutdown']);
  });

  it('drops a subscriber that stops reading, and no one else', async () => {
    const store = new CommittedEvents();
    const hub = new EventStreamHub(store as unknown as EventStreamRepository, quiet, { pollIntervalMs: 10, batchSize: 100, maxBatchesPerPoll: 1, maxPendingBytes: 100 });
    let unread = 0;
    const stuck = subscriber('a', { deliver: () => (unread += 80), pendingBytes: () => unread });
    const reading = subscriber('a');
    hub.subscribe(stuck.subscription, await hub.head());
    hub.subscribe(reading.subscription, await hub.head());
    store.add('a', 'e1');
    await settle();
    expect(stuck.ended).toEqual([]);
    store.add('a', 'e2');
    await settle();
    expect(stuck.ended).toEqual(['slow_consumer']);
    expect(hub.count('a')).toBe(1);
    store.add('a', 'e3');
    await settle();
    expect(reading.received).toEqual(['e1', 'e2', 'e3']);
    await hub.close();
  });

  it('reads nothing while nobody is subscribed', async () => {
    const store = new CommittedEvents();
    const hub = new EventStreamHub(store as unknown as EventStreamRepository, quiet, { pollIntervalMs: 5, batchSize: 10, maxBatchesPerPoll: 1, maxPendingBytes: 100 });
    const unsubscribe = hub.subscribe(subscriber('a').subscription, await hub.head());
    await settle();
    expect(store.reads).toBeGreaterThan(0);
    unsubscribe();
    const reads = store.reads;
    await settle();
    expect(store.reads).toBe(reads);
    await hub.close();
  });
});
