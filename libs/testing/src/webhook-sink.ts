import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

/** How the sink answers a request: a status (and headers), or `hang` to never answer. */
export type SinkAnswer = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A webhook subscriber on 127.0.0.1 that records every request and answers as the test says, per
 * path: `answer(path, n)` gets the path and how many requests that path had before this one.
 */
export class WebhookSink {
  readonly received: ReceivedWebhook[] = [];
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();
  answer: (path: string, previous: number) => SinkAnswer = () => ({ status: 200 });

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const previous = this.received.filter((hit) => hit.path === path).length;
        this.received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() });
        const answer = this.answer(path, previous);
        if (answer === 'hang') {
          this.hanging.add(response);
          return;
        }
        response.writeHead(answer.status, answer.headers ?? {});
        response.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  hits(path: string): ReceivedWebhook[] {
    return this.received.filter((hit) => hit.path === path);
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
