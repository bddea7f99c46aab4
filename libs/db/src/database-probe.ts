import pg from 'pg';

/**
 * Whether this process can reach Postgres right now, on a connection of its own: a busy pool (every
 * connection in use by sends) must not read as an outage. One probe at a time: while a probe hangs (a
 * stalled network holds its packets), later calls answer false without opening more connections.
 */
export class DatabaseProbe {
  private client: pg.Client | null = null;
  private pending: Promise<boolean> | null = null;

  constructor(private readonly databaseUrl: string) {}

  async reachable(timeoutMs: number): Promise<boolean> {
    if (this.pending) return false;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const probe = this.select().finally(() => (this.pending = null));
    this.pending = probe;
    try {
      return await Promise.race([probe, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async select(): Promise<boolean> {
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'wagw-probe' });
        // A connection that breaks later is replaced on the next probe.
        client.on('error', () => this.drop(client));
        this.client = client;
        await client.connect();
      }
      await this.client.query('SELECT 1');
      return true;
    } catch {
      if (this.client) this.drop(this.client);
      return false;
    }
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = null;
    void client.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await Promise.race([client?.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }
}
