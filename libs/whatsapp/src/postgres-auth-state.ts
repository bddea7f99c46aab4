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
import type { AuthStateStore, KeyWrite } from '@wagw/db';
import { RecentIds } from './recent-ids.js';

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
 * Baileys' in-memory key cache and our record of absent keys; every write is fenced on the epoch.
 */
export async function loadPostgresAuthState(
  repository: AuthStateStore,
  scope: { orgId: string; sessionId: string; epoch: number },
  logger: BaileysLogger,
): Promise<SessionAuthState> {
  const { orgId, sessionId, epoch } = scope;
  const stored = await repository.loadCreds(orgId, sessionId);
  const creds: AuthenticationCreds = stored === null ? initAuthCreds() : deserialize<AuthenticationCreds>(stored);
  // Keys the session's store is known not to hold. Baileys asks for some keys on every send that a
  // session may never have (a contact's `tctoken`), and its cache keeps only keys that exist, so each
  // send would cost a database read. Only the worker holding the lease writes the session's keys, and
  // every write goes through this store, so remembering absences is exact while it holds it.
  const absent = new RecentIds(10_000);
  const entry = (type: string, id: string): string => `${type}\u0000${id}`;
  const keys = {
    get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> => {
      const unknown = ids.filter((id) => !absent.has(entry(type, id)));
      if (unknown.length === 0) return {};
      const found = await repository.getKeys(orgId, sessionId, type, unknown);
      for (const id of unknown) if (!found.has(id)) absent.add(entry(type, id));
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
      // Forgotten before the write: a read racing it must not be answered "absent" from here.
      for (const write of writes) absent.delete(entry(write.type, write.id));
      if (!(await repository.setKeys(orgId, sessionId, epoch, writes))) throw new LeaseLostError(sessionId);
      for (const write of writes) if (write.json === null) absent.add(entry(write.type, write.id));
    },
  };
  return {
    state: { creds, keys: makeCacheableSignalKeyStore(keys, logger) },
    saveCreds: async () => {
      if (!(await repository.saveCreds(orgId, sessionId, epoch, serialize(creds)))) throw new LeaseLostError(sessionId);
    },
  };
}
