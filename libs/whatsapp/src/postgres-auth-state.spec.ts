import { describe, expect, it } from 'vitest';
import type { AuthStateRepository, KeyWrite } from '@wagw/db';
import { loadPostgresAuthState, type BaileysLogger } from './postgres-auth-state.js';

type KeyRepository = Pick<AuthStateRepository, 'loadCreds' | 'saveCreds' | 'getKeys' | 'setKeys'>;

/** An in-memory key table that records every read it is asked for. */
function recordingRepository(): KeyRepository & { reads: string[][]; rows: Map<string, string> } {
  const rows = new Map<string, string>();
  const reads: string[][] = [];
  return {
    rows,
    reads,
    loadCreds: () => Promise.resolve(null),
    saveCreds: () => Promise.resolve(true),
    getKeys: (_orgId: string, _sessionId: string, type: string, ids: readonly string[]) => {
      reads.push([...ids]);
      return Promise.resolve(new Map(ids.filter((id) => rows.has(`${type}/${id}`)).map((id) => [id, rows.get(`${type}/${id}`) ?? ''])));
    },
    setKeys: (_orgId: string, _sessionId: string, _epoch: number, writes: readonly KeyWrite[]) => {
      for (const write of writes) {
        if (write.json === null) rows.delete(`${write.type}/${write.id}`);
        else rows.set(`${write.type}/${write.id}`, write.json);
      }
      return Promise.resolve(true);
    },
  };
}

const silent = { level: 'silent', child: () => silent, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as BaileysLogger;
const scope = { orgId: 'org', sessionId: 'session', epoch: 1 };

describe('the Postgres auth state', () => {
  it('reads a key the session does not have once, not on every send', async () => {
    const repository = recordingRepository();
    const { state } = await loadPostgresAuthState(repository, scope, silent);
    expect(await state.keys.get('tctoken', ['peer@lid'])).toEqual({});
    expect(await state.keys.get('tctoken', ['peer@lid'])).toEqual({});
    expect(await state.keys.get('tctoken', ['peer@lid', 'other@lid'])).toEqual({});
    expect(repository.reads).toEqual([['peer@lid'], ['other@lid']]);
  });

  it('finds a key written after it was known absent, and forgets a deleted one', async () => {
    const repository = recordingRepository();
    const { state } = await loadPostgresAuthState(repository, scope, silent);
    expect(await state.keys.get('session', ['peer.0'])).toEqual({});
    await state.keys.set({ session: { 'peer.0': Buffer.from('record') } });
    expect(await state.keys.get('session', ['peer.0'])).toEqual({ 'peer.0': Buffer.from('record') });
    await state.keys.set({ session: { 'peer.0': null } });
    const readsBefore = repository.reads.length;
    expect((await state.keys.get('session', ['peer.0']))['peer.0'] ?? null).toBeNull();
    expect(repository.rows.size).toBe(0);
    // Known absent again after the delete: not read.
    expect(repository.reads.length).toBe(readsBefore);
  });
});
