import { useEffect, useState } from 'preact/hooks';
import { EventStreamError, streamEvents } from '@wagw/sdk';
import { apiBase, queryClient } from './api';
import { storedToken } from './credentials';

interface EventBody {
  data?: { instanceId?: string };
}

/**
 * Keeps what the pages show current from the event stream: a session's status, its messages, the
 * deliveries the event produced. Returns whether the stream is connected, for the header's indicator.
 */
export function useLiveUpdates(enabled: boolean): boolean {
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const token = storedToken();
    if (!enabled || !token) return;
    const abort = new AbortController();
    void (async () => {
      try {
        for await (const event of streamEvents({ baseUrl: apiBase, token, signal: abort.signal, onConnectionChange: setConnected })) {
          const session = (event.data as EventBody).data?.instanceId;
          if (event.type === 'session.status') {
            void queryClient.invalidateQueries({ queryKey: ['sessions'] });
            if (session) void queryClient.invalidateQueries({ queryKey: ['session', session] });
          } else if (session) {
            void queryClient.invalidateQueries({ queryKey: ['messages', session] });
          }
          void queryClient.invalidateQueries({ queryKey: ['deliveries'] });
        }
      } catch (error) {
        // A refused stream (e.g. a key without `read`) leaves the pages as they are, refreshed on focus.
        if (!(error instanceof EventStreamError)) throw error;
      }
    })();
    return () => abort.abort();
  }, [enabled]);
  return connected;
}
