import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDbClient } from '../prisma-client.js';
import { MessagesRepository, type NewStoredMessage } from './messages.repository.js';
import { OrganizationProvisioningRepository } from './system/organization-provisioning.repository.js';
import { SessionsRepository } from './sessions.repository.js';

const PHONE_CHAT = '15551230000@s.whatsapp.net';
const LID_CHAT = '71234567890123@lid';

function message(waMessageId: string, chatJid: string, senderJid: string | null = null): NewStoredMessage {
  return { waMessageId, chatJid, senderJid, fromMe: senderJid === null, messageType: 'conversation', text: 'hi', media: null, timestamp: 1_700_000_000, ack: 1, raw: { key: { id: waMessageId, remoteJid: chatJid } } };
}

describe('SessionsRepository.commandTargetWithMessage (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const sessions = new SessionsRepository(db);
  const messages = new MessagesRepository(db);
  let orgId: string;
  let otherOrgId: string;
  let sessionId: string;

  beforeAll(async () => {
    const provisioning = new OrganizationProvisioningRepository(db);
    orgId = (await provisioning.create('targets')).id;
    otherOrgId = (await provisioning.create('targets-other')).id;
    sessionId = (await sessions.create(orgId, { name: 's', createdBy: 'u' })).id;
    const fence = { orgId, sessionId, epoch: 0 };
    await messages.store(fence, message('IN-BOTH', PHONE_CHAT));
    await messages.store(fence, message('IN-BOTH', LID_CHAT, LID_CHAT));
  });
  afterAll(async () => db.$disconnect());

  it('answers the session with its status and the stored message, in the chat asked for or the first stored', async () => {
    const first = await sessions.commandTargetWithMessage(orgId, sessionId, 'IN-BOTH');
    expect(first?.target).toEqual({ id: sessionId, status: 'stopped' });
    expect(first?.message).toEqual({ chatJid: PHONE_CHAT, senderJid: null, raw: { key: { id: 'IN-BOTH', remoteJid: PHONE_CHAT } } });
    const inLid = await sessions.commandTargetWithMessage(orgId, sessionId, 'IN-BOTH', LID_CHAT);
    expect(inLid?.message?.chatJid).toBe(LID_CHAT);
    expect(inLid?.message?.senderJid).toBe(LID_CHAT);
  });

  it('tells a missing message (the session found) from a session that is not this organization’s', async () => {
    expect(await sessions.commandTargetWithMessage(orgId, sessionId, 'NOT-STORED')).toEqual({ target: { id: sessionId, status: 'stopped' }, message: null });
    expect(await sessions.commandTargetWithMessage(orgId, sessionId, 'IN-BOTH', 'elsewhere@s.whatsapp.net')).toEqual({ target: { id: sessionId, status: 'stopped' }, message: null });
    expect(await sessions.commandTargetWithMessage(otherOrgId, sessionId, 'IN-BOTH')).toBeNull();
    expect(await sessions.commandTargetWithMessage(orgId, 'not-a-uuid', 'IN-BOTH')).toBeNull();
  });
});
