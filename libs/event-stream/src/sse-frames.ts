import type { StreamedEvent } from '@wagw/db';

/** How long an `EventSource` waits before reconnecting after the stream drops. */
export const RECONNECT_DELAY_MS = 2_000;

/** The stream's first bytes: the reconnect delay, and a comment that flushes the headers to the client. */
export function streamPreamble(): string {
  return `retry: ${RECONNECT_DELAY_MS}\n: connected\n\n`;
}

/** A comment line: keeps proxies from closing an idle stream and shows the client it is alive. */
export function keepAliveFrame(): string {
  return ': keep-alive\n\n';
}

/**
 * One event as Server-Sent Events: `id` (sent back as `Last-Event-ID` on reconnect), `event` (the type)
 * and `data` (the webhook body). JSON.stringify escapes newlines, so `data` is always one line.
 */
export function eventFrame(event: Pick<StreamedEvent, 'id' | 'type' | 'payload'>): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.payload)}\n\n`;
}
