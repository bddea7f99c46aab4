import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface ReceivedEvent {
  id: string;
  type: string;
  data: unknown;
}

/** An open `GET /api/v1/events` read as a client would: events in arrival order, waited on by count. */
export interface OpenEventStream {
  status: number;
  received: ReceivedEvent[];
  /** Resolves once `count` events have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  close(): void;
}

/** Opens the stream; a non-200 answer is returned with its status and nothing read. */
export async function openEventStream(url: string, token: string, lastEventId?: string): Promise<OpenEventStream & { body?: unknown }> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
    signal: controller.signal,
  });
  const received: ReceivedEvent[] = [];
  const waiters: Array<() => void> = [];
  const close = () => controller.abort();
  if (response.status !== 200 || !response.body) {
    return { status: response.status, body: await response.json(), received, waitFor: () => Promise.reject(new Error(`stream answered ${response.status}`)), close };
  }
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      received.push({ id: message.id ?? '', type: message.event ?? 'message', data: JSON.parse(message.data) });
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // Aborted by close().
    }
  })();
  const waitFor = async (count: number, timeoutMs = 10_000): Promise<ReceivedEvent[]> => {
    const deadline = Date.now() + timeoutMs;
    while (received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`waited ${timeoutMs} ms for ${count} events, got ${received.length}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
    return received.slice(0, count);
  };
  return { status: 200, received, waitFor, close };
}
