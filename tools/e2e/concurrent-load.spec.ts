import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inParallel, type TestTenant } from '@wagw/testing';
import { deliveryReport, type DeliveryReport } from '@wagw/wa-emulator';
import { E2eSystem } from './harness.js';

/**
 * Several sessions on one worker writing to one recipient at once, through the API, counted per message
 * id at the recipient: every answer `sent` must have arrived, exactly once. (Sessions sharing a process
 * once shared libsignal's per-address job queue in a way that lost about one message in six here.)
 */
describe('concurrent sends and revokes from several sessions of one worker, end to end', { timeout: 240_000 }, () => {
  const system = new E2eSystem();
  const phones = ['15556000001', '15556000002', '15556000003', '15556000004'];
  const peer = '15556000010';
  const members = ['15556000011', '15556000012'];
  let tenant: TestTenant;
  let sessions: string[];

  beforeAll(async () => {
    await system.start({ commandTimeoutMs: 20_000 });
    for (const phone of phones) system.emulator.createAccount({ phone, pushName: `Gateway ${phone.slice(-1)}` });
    for (const phone of [peer, ...members]) system.emulator.createAccount({ phone, pushName: `Peer ${phone.slice(-2)}` });
    tenant = await system.tenant();
    sessions = await Promise.all(phones.map((phone) => system.connectedSession(tenant, phone)));
  }, 120_000);

  afterAll(async () => {
    await system.stop();
  });

  /** `count` sends at concurrency 16, spread over the sessions; the waMessageIds answered `sent`. */
  async function sendAll(chat: string, count: number): Promise<Array<{ session: string; mid: string }>> {
    const sent: Array<{ session: string; mid: string }> = [];
    const failures: unknown[] = [];
    await inParallel(Array.from({ length: count }, (_, n) => n), 16, async (n) => {
      const session = sessions[n % sessions.length] ?? '';
      const response = await system.api(`/api/v1/sessions/${session}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat, text: `load ${n}` } });
      if (response.status === 200 && response.body['status'] === 'sent') sent.push({ session, mid: response.body['waMessageId'] as string });
      else failures.push(response);
    });
    expect(failures).toEqual([]);
    return sent;
  }

  /** Revokes each message at concurrency 16; the waMessageIds of the REVOKEs answered `sent`. */
  async function revokeAll(messages: ReadonlyArray<{ session: string; mid: string }>, chat: string): Promise<string[]> {
    const revokes: string[] = [];
    const failures: unknown[] = [];
    await inParallel(messages, 16, async ({ session, mid }) => {
      const response = await system.api(`/api/v1/sessions/${session}/messages/${mid}`, { method: 'DELETE', token: tenant.apiKey, body: { chat } });
      if (response.status === 200 && response.body['status'] === 'sent') revokes.push(response.body['waMessageId'] as string);
      else failures.push(response);
    });
    expect(failures).toEqual([]);
    return revokes;
  }

  /** Waits until `phone`'s phone has every id (or a few seconds pass), then reports what arrived. */
  async function arrivedAt(phone: string, ids: readonly string[]): Promise<DeliveryReport> {
    const report = (): DeliveryReport => deliveryReport(ids, system.emulator.received(phone), system.emulator.undecryptable(phone), { phone, deviceId: 0 });
    await system.waitFor(async () => report().lost === 0 || undefined, `${phone} to decrypt every message`, 10_000).catch(() => undefined);
    // A moment longer, so that a duplicate arriving late is counted too.
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    return report();
  }

  const once = (count: number) => ({ sent: count, received: count, lost: 0, duplicated: 0, undecryptable: 0, lostIds: [], duplicatedIds: [] });

  it('200 texts and their 200 revokes to one peer at concurrency 16: each arrives exactly once', async () => {
    const chat = `${peer}@s.whatsapp.net`;
    const texts = await sendAll(chat, 200);
    expect(await arrivedAt(peer, texts.map(({ mid }) => mid))).toEqual(once(200));
    const revokes = await revokeAll(texts, chat);
    expect(await arrivedAt(peer, revokes)).toEqual(once(200));
  });

  it('100 texts and their 100 revokes to one group at concurrency 16: every member gets each exactly once', async () => {
    const group = system.emulator.createGroup({ subject: 'Load', members: [...phones, ...members], admins: [phones[0] ?? ''] });
    const texts = await sendAll(group.jid, 100);
    for (const member of members) expect(await arrivedAt(member, texts.map(({ mid }) => mid)), member).toEqual(once(100));
    const revokes = await revokeAll(texts, group.jid);
    for (const member of members) expect(await arrivedAt(member, revokes), member).toEqual(once(100));
  });
});
