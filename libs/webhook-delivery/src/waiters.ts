/**
 * Callers parked in this process until woken or until their wait runs out, woken first come, first
 * served: the in-process half of the dispatcher's two limits (attempt permits and endpoint slots).
 */
export class Waiters {
  private readonly queue: Array<() => void> = [];

  get size(): number {
    return this.queue.length;
  }

  /** True when woken by `wakeOne`, false when `waitMs` ran out first (no bound when omitted). */
  wait(waitMs?: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      this.queue.push(wake);
      if (waitMs !== undefined) {
        timer = setTimeout(() => {
          const index = this.queue.indexOf(wake);
          if (index >= 0) this.queue.splice(index, 1);
          resolve(false);
        }, waitMs);
      }
    });
  }

  /** Wakes the longest waiter; false when nobody waits. */
  wakeOne(): boolean {
    const next = this.queue.shift();
    next?.();
    return next !== undefined;
  }
}
