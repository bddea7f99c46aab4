import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * How the proxy treats traffic: `forward` passes it; `blackhole` stops reading in both directions and
 * keeps every connection open, so bytes wait in the kernel's buffers as on a stalled network, and flow
 * on when forwarding resumes (new connections are accepted and held too); `reset` resets every
 * connection and each new one at once.
 */
export type FaultMode = 'forward' | 'blackhole' | 'reset';

/**
 * A TCP proxy on 127.0.0.1 in front of one server, for tests that cut one process off from Redis or
 * Postgres while everything else still reaches it.
 */
export class TcpFaultProxy {
  private server: Server | null = null;
  private mode: FaultMode = 'forward';
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** A URL like `url` (redis://, postgres://) that goes through this proxy. */
  static async inFrontOf(url: string): Promise<{ proxy: TcpFaultProxy; url: string }> {
    const parsed = new URL(url);
    const proxy = new TcpFaultProxy({ host: parsed.hostname, port: Number(parsed.port) });
    await proxy.start();
    parsed.hostname = '127.0.0.1';
    parsed.port = String(proxy.port);
    return { proxy, url: parsed.toString() };
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  private accept(client: Socket): void {
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (this.mode === 'blackhole') this.hold(pair);
  }

  private hold(pair: { client: Socket; upstream: Socket }): void {
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
  }

  setMode(mode: FaultMode): void {
    const previous = this.mode;
    this.mode = mode;
    for (const pair of [...this.pairs]) {
      if (mode === 'reset') {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      } else if (mode === 'blackhole' && previous !== 'blackhole') {
        this.hold(pair);
      } else if (mode === 'forward' && previous === 'blackhole') {
        pair.client.pipe(pair.upstream);
        pair.upstream.pipe(pair.client);
      }
    }
  }

  /** Connections open through the proxy now. */
  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
