import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { messageIdFor, type CommandJob, type SessionCommand } from '@wagw/contracts';
import { createDbClient, OutboxRepository, SessionsRepository } from '@wagw/db';
import { createLogger } from '@wagw/observability';
import { createTestTenant, type TestTenant } from '@wagw/testing';
import { CommandExecutor } from './command-executor.js';
import type { SessionRunner } from './session-runner.js';

/** A runner stand-in that counts how often WhatsApp would have been asked. */
function countingRunner(orgId: string, sessionId: string, epoch: number): { runner: SessionRunner; calls: Array<{ command: SessionCommand; messageId: string }> } {
  const calls: Array<{ command: SessionCommand; messageId: string }> = [];
  const runner = {
    sessionId,
    lease: { workerId: 'w', epoch },
    fence: { orgId, sessionId, epoch },
    execute: async (command: SessionCommand, messageId: string) => {
      calls.push({ command, messageId });
      return { sent: { waMessageId: messageId, timestamp: 1_800_000_000, message: {} }, outcomeRecorded: false };
    },
  } as unknown as SessionRunner;
  return { runner, calls };
}

describe('CommandExecutor (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const outbox = new OutboxRepository(db);
  let tenant: TestTenant;
  let sessionId: string;

  beforeAll(async () => {
    tenant = await createTestTenant(db);
    const sessions = new SessionsRepository(db);
    sessionId = (await sessions.create(tenant.orgId, { name: 's', createdBy: 'u' })).id;
    // The worker these jobs run on holds the session at epoch 7.
    await sessions.claimAsOwner({ orgId: tenant.orgId, sessionId, epoch: 7 }, 'w', {}, null);
  });
  afterAll(async () => db.$disconnect());

  async function operation(): Promise<string> {
    const created = await outbox.create(tenant.orgId, { sessionId, kind: 'revoke', idempotencyKey: null, requestHash: 'h', request: {}, deadline: new Date(Date.now() + 10_000) });
    return created.operation.id;
  }

  const job = (outboxId: string, overrides: Partial<CommandJob> = {}): CommandJob => ({
    commandId: outboxId,
    orgId: tenant.orgId,
    sessionId,
    epoch: 7,
    deadline: Date.now() + 10_000,
    command: { type: 'revoke', chat: '15550000000@s.whatsapp.net', messageId: '3EB0AAAA' },
    ...overrides,
  });

  it('runs a command once and answers a re-run with the stored result, without acting again', async () => {
    const { runner, calls } = countingRunner(tenant.orgId, sessionId, 7);
    const executor = new CommandExecutor(() => runner, outbox, createLogger('test', 'silent'));
    const outboxId = await operation();
    const first = await executor.handle(job(outboxId));
    const again = await executor.handle(job(outboxId));
    expect(first).toEqual({ ok: true, result: { mode: 'sync', outboxId, replayed: false, status: 'sent', timestamp: 1_800_000_000, waMessageId: calls[0]?.messageId } });
    expect(again).toEqual(first);
    expect(calls).toHaveLength(1);
    expect((await outbox.get(tenant.orgId, outboxId))?.status).toBe('sent');
  });

  it('runs two jobs of one operation arriving at once one after the other: one acts, the other gets its result', async () => {
    const { runner, calls } = countingRunner(tenant.orgId, sessionId, 7);
    const executor = new CommandExecutor(() => runner, outbox, createLogger('test', 'silent'));
    const outboxId = await operation();
    const [first, second] = await Promise.all([executor.handle(job(outboxId)), executor.handle(job(outboxId))]);
    expect(calls).toHaveLength(1);
    expect(second).toEqual(first);
  });

  it('refuses a job for another epoch (session_moved) without acting', async () => {
    const { runner, calls } = countingRunner(tenant.orgId, sessionId, 8);
    const executor = new CommandExecutor(() => runner, outbox, createLogger('test', 'silent'));
    const outcome = await executor.handle(job(await operation(), { epoch: 7 }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'session_moved' } });
    expect(calls).toHaveLength(0);
  });

  it('drops a job past its deadline and marks the operation expired', async () => {
    const { runner, calls } = countingRunner(tenant.orgId, sessionId, 7);
    const executor = new CommandExecutor(() => runner, outbox, createLogger('test', 'silent'));
    const outboxId = await operation();
    const outcome = await executor.handle(job(outboxId, { deadline: Date.now() - 1 }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(calls).toHaveLength(0);
    expect((await outbox.get(tenant.orgId, outboxId))?.status).toBe('expired');
  });

  it('sends with a WhatsApp message id derived from the operation: the same on every run, distinct per operation', async () => {
    const { runner, calls } = countingRunner(tenant.orgId, sessionId, 7);
    const executor = new CommandExecutor(() => runner, outbox, createLogger('test', 'silent'));
    const outboxId = await operation();
    await executor.handle(job(outboxId));
    expect(calls[0]?.messageId).toBe(messageIdFor(outboxId));
    expect(messageIdFor(outboxId)).toMatch(/^3EB0[0-9A-F]{18}$/);
    expect(messageIdFor(outboxId)).toBe(messageIdFor(outboxId));
    expect(messageIdFor(randomUUID())).not.toBe(messageIdFor(outboxId));
  });
});
