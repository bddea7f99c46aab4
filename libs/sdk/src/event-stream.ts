import { createParser } from 'eventsource-parser';

/** One event of `GET /api/v1/events`: its id (to resume after), its type, and its webhook body. */
export interface GatewayEvent {
  id: string;
  type: string;
  data: unknown;
}

export interface EventStreamOptions {
  baseUrl: string;
  token: string;
  /** Only these event types (default: all). */
  types?: readonly string[];
  /** Only events of these session ids (default: every session). */
  sessions?: readonly string[];
  /** Resume after this event id. */
  lastEventId?: string;
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
  /** Told each time the stream connects (true) or drops (false), e.g. to show it is live. */
  onConnectionChange?: (connected: boolean) => void;
}

/** The stream answered with an error that reconnecting will not cure (400, 401, 403, 404). */
export class EventStreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`event stream refused: HTTP ${status}`);
  }
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * The organization's events as they happen, across reconnects: after a drop it reconnects with
 * `Last-Event-ID` (backing off up to 30 s), so no event is missed or repeated. Ends when `signal` aborts;
 * throws `EventStreamError` when the gateway refuses the stream for good. Works where `EventSource`
 * cannot: it sends the token in the `Authorization` header.
 */
export async function* streamEvents(options: EventStreamOptions): AsyncGenerator<GatewayEvent> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const query = new URLSearchParams();
  if (options.types?.length) query.set('types', options.types.join(','));
  if (options.sessions?.length) query.set('sessions', options.sessions.join(','));
  const url = `${options.baseUrl.replace(/\/+$/, '')}/api/v1/events${query.size > 0 ? `?${query}` : ''}`;
  let lastEventId = options.lastEventId;
  let retryMs = RETRY_MIN_MS;
  while (!options.signal?.aborted) {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch {
      if (options.signal?.aborted) return;
      await sleep(retryMs, options.signal);
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
      continue;
    }
    if (response.status !== 200 || !response.body) {
      const body: unknown = await response.json().catch(() => null);
      if (response.status === 429 || response.status >= 500) {
        await sleep(retryMs, options.signal);
        retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
        continue;
      }
      throw new EventStreamError(response.status, body);
    }
    options.onConnectionChange?.(true);
    retryMs = RETRY_MIN_MS;
    const pending: GatewayEvent[] = [];
    const parser = createParser({
      onEvent: (message) => pending.push({ id: message.id ?? '', type: message.event ?? 'message', data: JSON.parse(message.data) as unknown }),
      onRetry: (ms) => (retryMs = Math.max(RETRY_MIN_MS, ms)),
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
        for (const event of pending.splice(0)) {
          lastEventId = event.id;
          yield event;
        }
      }
    } catch {
      // Dropped (or aborted): reconnect below unless aborted.
    } finally {
      // Also when the caller stops iterating: the connection is closed, not left open unread.
      void reader.cancel().catch(() => undefined);
      options.onConnectionChange?.(false);
    }
    if (options.signal?.aborted) return;
    await sleep(retryMs, options.signal);
  }
}
