import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// libsignal serializes the Signal work for one address in a process-wide queue (`src/queue_job.js`),
// shared by every session of the process. Baileys keeps each send's key-store transaction in an
// AsyncLocalStorage: a job must run in the async context of the call that queued it, or it reads and
// writes another call's (possibly finished) transaction. `patches/libsignal+*.patch` makes it so.
const queueJob = createRequire(import.meta.url)('libsignal/src/queue_job.js') as <T>(bucket: string, job: () => Promise<T>) => Promise<T>;

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

describe("libsignal's job queue (patched)", () => {
  it('runs each queued job in the async context of the call that queued it', async () => {
    const transaction = new AsyncLocalStorage<string>();
    const seen: Array<{ caller: string; store: string | undefined }> = [];
    const enqueue = (caller: string): Promise<void> =>
      transaction.run(caller, () =>
        queueJob('15550002222.0', async () => {
          await tick();
          seen.push({ caller, store: transaction.getStore() });
        }),
      );
    // Two sessions sending to one recipient at once: the queue stays busy, so one executor runs them all.
    await Promise.all(['session A, send 1', 'session B, send 1', 'session A, send 2', 'session B, send 2'].map(enqueue));
    expect(seen).toHaveLength(4);
    for (const { caller, store } of seen) expect(store, `the job queued by ${caller}`).toBe(caller);
  });

  it('still runs the jobs of one address one at a time, in order', async () => {
    const order: number[] = [];
    let running = 0;
    let overlapped = false;
    await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        queueJob('15550003333.0', async () => {
          running += 1;
          overlapped ||= running > 1;
          await tick();
          order.push(n);
          running -= 1;
        }),
      ),
    );
    expect(overlapped).toBe(false);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });
});
