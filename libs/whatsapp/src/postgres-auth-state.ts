import {
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import type { AuthStateRepository, KeyWrite } from '@wagw/db';

/** Raised when a write is refused because another worker now owns the session (a newer epoch). */
export class LeaseLostError extends Error {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} is owned by another worker now`);
    this.name = 'LeaseLostError';
  }
}

export interface SessionAuthState {
  state: AuthenticationState;
  saveCreds(): Promise<void>;
}

/** Baileys' logger interface (not exported from its root). */
export type BaileysLogger = NonNullable<Parameters<typeof makeCacheableSignalKeyStore>[1]>;

const serialize = (value: unknown): string => JSON.stringify(value, BufferJSON.replacer);
const deserialize = <T>(json: string): T => JSON.parse(json, BufferJSON.reviver) as T;

/**
 * Baileys auth state in Postgres, for the worker holding the session at `epoch`. Reads go through
 * Baileys' in-memory key cache; every write is fenced on the epoch.
 */
export async function loadPostgresAuthState(
  repository: AuthStateRepository,
  scope: { orgId: string; sessionId: string; epoch: number },
  logger: BaileysLogger,
): Promise<SessionAuthState> {
  const { orgId, sessionId, epoch } = scope;
  const stored = await repository.loadCreds(orgId, sessionId);
  const creds: AuthenticationCreds = stored === null ? initAuthCreds() : deserialize<AuthenticationCreds>(stored);
  const keys = {
    get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> => {
      const found = await repository.getKeys(orgId, sessionId, type, ids);
      const result: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const [id, json] of found) {
        const value = deserialize<unknown>(json);
        result[id] = (type === 'app-state-sync-key' ? proto.Message.AppStateSyncKeyData.fromObject(value as object) : value) as SignalDataTypeMap[T];
      }
      return result;
    },
    set: async (data: SignalDataSet): Promise<void> => {
      const writes: KeyWrite[] = [];
      for (const [type, entries] of Object.entries(data)) {
        for (const [id, value] of Object.entries(entries ?? {})) writes.push({ type, id, json: value === null || value === undefined ? null : serialize(value) });
      }
      if (!(await repository.setKeys(orgId, sessionId, epoch, writes))) throw new LeaseLostError(sessionId);
    },
  };
  return {
    state: { creds, keys: makeCacheableSignalKeyStore(keys, logger) },
    saveCreds: async () => {
      if (!(await repository.saveCreds(orgId, sessionId, epoch, serialize(creds)))) throw new LeaseLostError(sessionId);
    },
  };
}
