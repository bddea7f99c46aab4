/**
 * Gathers calls (reads or writes) that arrive while one is in flight and sends them together: one
 * round trip for many under load, no added wait when idle (a call that finds nothing in flight goes
 * out on the next tick). Each caller's promise settles with its own result once its batch is done, or
 * with the batch's error.
 */
export class Batcher<Item, Result> {
  private pending: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | null = null;

  constructor(
    /** Runs a batch; returns one result per item, in order. */
    private readonly run: (items: Item[]) => Promise<Result[]>,
    private readonly maxBatch = 256,
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Resolves once everything added so far is done. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    // Let the calls of this tick join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        const results = await this.run(batch.map((entry) => entry.item));
        batch.forEach((entry, index) => entry.resolve(results[index] as Result));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.flushing = null;
  }
}
