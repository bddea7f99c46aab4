import { initAuthCreds, type AuthenticationCreds, type AuthenticationState, type SignalDataTypeMap, type SignalKeyStore } from '@whiskeysockets/baileys';

export interface MemoryAuthState {
  state: AuthenticationState;
  /** Apply a `creds.update` event, as a persistent store would. */
  applyCredsUpdate(update: Partial<AuthenticationCreds>): void;
}

/**
 * Baileys auth state held in memory: for tests and the demo, where nothing needs to survive the process.
 * `latencyMs` makes every key read and write take that long, as a database round trip does: concurrency
 * bugs in the key store's callers show only when its calls take time.
 */
export function createMemoryAuthState(options: { latencyMs?: number } = {}): MemoryAuthState {
  const creds = initAuthCreds();
  const store = new Map<string, unknown>();
  const latencyMs = options.latencyMs ?? 0;
  const roundTrip = (): Promise<void> | undefined => (latencyMs > 0 ? new Promise((resolve) => setTimeout(resolve, latencyMs)) : undefined);
  const keys: SignalKeyStore = {
    get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
      await roundTrip();
      const found: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const value = store.get(`${type}:${id}`);
        if (value !== undefined) found[id] = value as SignalDataTypeMap[T];
      }
      return found;
    },
    set: async (data) => {
      await roundTrip();
      for (const [type, entries] of Object.entries(data)) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          if (value === null || value === undefined) store.delete(`${type}:${id}`);
          else store.set(`${type}:${id}`, value);
        }
      }
    },
  };
  return {
    state: { creds, keys },
    applyCredsUpdate: (update) => {
      Object.assign(creds, update);
    },
  };
}
