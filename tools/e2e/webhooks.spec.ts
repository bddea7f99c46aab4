import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageRevokedWebhookSchema, webhookDeliveryHeadersSchema } from '@wagw/contracts';
import { WebhookSink, type ReceivedWebhook, type TestTenant } from '@wagw/testing';
import { E2eSystem } from './harness.js';

const validateBody = new Ajv2020({ strict: false }).compile(messageRevokedWebhookSchema);
const validateHeaders = new Ajv2020({ strict: false }).compile(webhookDeliveryHeadersSchema);

interface Envelope {
  event: string;
  data: { id: string; instanceId: string; userId: string; me: { id: string; pushName: string }; payload: Record<string, unknown> & { before?: { id?: string; body?: string }; after?: { id?: string }; status?: string; body?: string } };
}

const parsed = (hit: ReceivedWebhook): Envelope => JSON.parse(hit.body) as Envelope;

/** A real 1×1 PNG. */
const ONE_PIXEL_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

/**
 * A local HTTP server handing out `files` by path (a `status` instead answers with it and `location`),
 * where media URLs point; `close` ends it.
 */
async function serveFiles(files: Record<string, { type?: string; bytes?: Buffer; status?: number; location?: string }>): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const file = files[request.url ?? ''];
    if (!file) return void response.writeHead(404).end();
    if (file.status !== undefined) return void response.writeHead(file.status, file.location ? { location: file.location } : {}).end();
    response.writeHead(200, { 'content-type': file.type ?? 'application/octet-stream' }).end(file.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function verifiedBy(secret: string, hit: ReceivedWebhook): boolean {
  try {
    new Webhook(secret).verify(hit.body, {
      'webhook-id': String(hit.headers['webhook-id']),
      'webhook-timestamp': String(hit.headers['webhook-timestamp']),
      'webhook-signature': String(hit.headers['webhook-signature']),
    });
    return true;
  } catch {
    return false;
  }
}

async function subscribe(system: E2eSystem, tenant: TestTenant, url: string): Promise<{ id: string; secret: string }> {
  const created = await system.api('/api/v1/webhooks', { method: 'POST', token: tenant.apiKey, body: { url, events: ['message.revoked', 'message.received', 'message.ack', 'message.reaction', 'message.edited', 'session.status'] } });
  if (created.status !== 201) throw new Error(`subscribing failed: ${JSON.stringify(created.body)}`);
  return { id: created.body['id'] as string, secret: created.body['secret'] as string };
}

describe('webhooks end to end: worker → Postgres → dispatcher → subscriber (real processes)', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const sink = new WebhookSink();
  const phone = '15553000001';
  const peer = '15553000002';
  let tenant: TestTenant;
  let sessionId: string;
  let subscription: { id: string; secret: string };

  beforeAll(async () => {
    await sink.start();
    await system.start({ dispatcherEnv: { WEBHOOK_RETRY_SCHEDULE_MS: '0,3000,200' }, workerEnv: { MEDIA_URL_ALLOW_PRIVATE_HOSTS: '127.0.0.1', MEDIA_MAX_BYTES: String(1024 * 1024) } });
    system.emulator.createAccount({ phone, pushName: 'Gateway Phone' });
    system.emulator.createAccount({ phone: peer, pushName: 'Peer' });
    tenant = await system.tenant();
    subscription = await subscribe(system, tenant, sink.url('/hook'));
    sessionId = await system.connectedSession(tenant, phone);
  }, 60_000);

  afterAll(async () => {
    await system.stop();
    await sink.stop();
  });

  /** `POST …/messages` to the peer's chat, with `body` beside `chat`. */
  const send = (body: Record<string, unknown>) => system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, ...body } });

  const events = (type: string): Array<{ hit: ReceivedWebhook; body: Envelope }> =>
    sink
      .hits('/hook')
      .map((hit) => ({ hit, body: parsed(hit) }))
      .filter((entry) => entry.body.event === type);

  it('delivers session.status as the session connects, signed', async () => {
    const connected = await system.waitFor(async () => events('session.status').find((entry) => entry.body.data.payload.status === 'connected'), 'session.status connected');
    expect(connected.body.data.instanceId).toBe(sessionId);
    expect(verifiedBy(subscription.secret, connected.hit)).toBe(true);
  });

  it("fills me.pushName from the account's own name as the phone syncs it, in the session and the events after; a rename follows", async () => {
    const session = async () => (await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey })).body as { me: { id: string; pushName: string | null } | null };
    await system.waitFor(async () => ((await session()).me?.pushName === 'Gateway Phone' ? true : undefined), "the session's push name");
    const original = await system.emulator.peerSendText({ from: peer, to: phone, text: 'who is this?' });
    const received = await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === original), 'message.received');
    expect(received.body.data.me).toEqual({ id: `${phone}@s.whatsapp.net`, pushName: 'Gateway Phone' });

    const statusEvents = events('session.status').length;
    await system.emulator.setPushName(phone, 'Front Desk');
    await system.waitFor(async () => ((await session()).me?.pushName === 'Front Desk' ? true : undefined), 'the renamed push name');
    // A rename is no change of status: no session.status for it.
    expect(events('session.status')).toHaveLength(statusEvents);
  });

  it("a peer's revoke of a received message reaches the subscriber as message.revoked with before.body = the original text", async () => {
    const original = await system.emulator.peerSendText({ from: peer, to: phone, text: 'I take this back' });
    const received = await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === original), 'message.received');
    expect(received.body.data.payload.body).toBe('I take this back');
    await system.emulator.peerRevoke({ from: peer, to: phone, messageId: original });
    const revoked = await system.waitFor(async () => events('message.revoked').find((entry) => entry.body.data.payload.before?.id === original), 'message.revoked');
    expect(validateHeaders(revoked.hit.headers), JSON.stringify(validateHeaders.errors)).toBe(true);
    expect(validateBody(revoked.body), JSON.stringify(validateBody.errors)).toBe(true);
    expect(revoked.body.data.payload.before?.body).toBe('I take this back');
    expect(revoked.hit.headers).toMatchObject({ 'x-instanceid': sessionId, 'x-userid': tenant.apiKeyId, 'webhook-id': revoked.body.data.id });
    expect(verifiedBy(subscription.secret, revoked.hit)).toBe(true);
  });

  it('our own revoke through the API produces exactly one message.revoked', async () => {
    const sent = await send({ text: 'sent by mistake' });
    const mid = sent.body['waMessageId'] as string;
    const revoke = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'DELETE', token: tenant.apiKey, body: {} });
    expect(revoke.status).toBe(200);
    const mine = () => events('message.revoked').filter((entry) => entry.body.data.payload.before?.id === mid);
    const delivered = await system.waitFor(async () => mine()[0], 'message.revoked for our revoke');
    expect(delivered.body.data.payload.before?.body).toBe('sent by mistake');
    // Its ack from our store: the server took it, nobody receipted it.
    expect(delivered.body.data.payload.before).toMatchObject({ ack: 1, ackName: 'SERVER' });
    expect(validateBody(delivered.body), JSON.stringify(validateBody.errors)).toBe(true);
    // One event, one delivery, however the revoke is reported back. Give a duplicate time to show.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(mine()).toHaveLength(1);
    // The dispatcher's metrics count first attempts delivered and each event's publish lag.
    expect(await system.metric(system.webhookDispatcher, 'wagw_webhook_attempts_total', { app: 'webhook-dispatcher', outcome: 'delivered', attempt: '1' })).toBeGreaterThanOrEqual(3);
    expect(await system.metric(system.webhookDispatcher, 'wagw_webhook_publish_lag_seconds_count')).toBeGreaterThanOrEqual(3);
  });

  it("a peer's delivery and read receipts become one signed message.ack each and the stored ack; a late or repeated receipt adds none", async () => {
    const sent = await send({ text: 'your order shipped' });
    const mid = sent.body['waMessageId'] as string;
    await system.waitFor(async () => system.emulator.received(peer).find((message) => message.id === mid), 'the peer to get the message');
    const acks = () => events('message.ack').filter((entry) => entry.body.data.payload['id'] === mid);
    system.emulator.peerReceipt({ from: peer, to: phone, messageIds: [mid], type: 'delivery' });
    await system.waitFor(async () => acks()[0], 'message.ack DEVICE');
    system.emulator.peerReceipt({ from: peer, to: phone, messageIds: [mid], type: 'read' });
    system.emulator.peerReceipt({ from: peer, to: phone, messageIds: [mid], type: 'delivery' });
    system.emulator.peerReceipt({ from: peer, to: phone, messageIds: [mid], type: 'read' });
    await system.waitFor(async () => acks()[1], 'message.ack READ');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(acks().map((entry) => [entry.body.data.payload['ack'], entry.body.data.payload['ackName']])).toEqual([[2, 'DEVICE'], [3, 'READ']]);
    const read = acks()[1];
    expect(read?.body.data.payload).toMatchObject({ fromMe: true, body: 'your order shipped', to: `${peer}@s.whatsapp.net` });
    expect(read && verifiedBy(subscription.secret, read.hit)).toBe(true);
    expect(read?.hit.headers).toMatchObject({ 'x-instanceid': sessionId, 'webhook-id': read?.body.data.id });
    const stored = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { token: tenant.apiKey });
    expect(stored.body).toMatchObject({ ack: 3, ackName: 'READ' });
  });

  it("marking a peer's message read sends its author a read receipt and stores READ; an unknown message, our own or a bad body is refused", async () => {
    const id = await system.emulator.peerSendText({ from: peer, to: phone, text: 'please confirm' });
    await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === id), 'message.received');
    const marked = await system.api(`/api/v1/sessions/${sessionId}/messages/${id}/read`, { method: 'POST', token: tenant.apiKey });
    expect(marked).toMatchObject({ status: 200, body: { chat: `${peer}@s.whatsapp.net`, read: [id] } });
    const receipt = await system.waitFor(async () => system.emulator.receiptsFor(peer).find((entry) => entry.type === 'read' && entry.messageIds.includes(id)), 'the read receipt at the peer');
    expect(receipt.by).toBe(phone);
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/${id}`, { token: tenant.apiKey })).body).toMatchObject({ ack: 3, ackName: 'READ' });

    const unknown = await system.api(`/api/v1/sessions/${sessionId}/messages/3EB0000000000000000000/read`, { method: 'POST', token: tenant.apiKey });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const sent = await send({ text: 'mine' });
    const own = await system.api(`/api/v1/sessions/${sessionId}/messages/${sent.body['waMessageId'] as string}/read`, { method: 'POST', token: tenant.apiKey });
    expect(own).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    const bad = await system.api(`/api/v1/sessions/${sessionId}/messages/${id}/read`, { method: 'POST', token: tenant.apiKey, body: { chat: 5 } });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    // Nothing else was receipted as read.
    expect(system.emulator.receiptsFor(peer).filter((entry) => entry.type === 'read').flatMap((entry) => entry.messageIds)).toEqual([id]);
  });

  it('marks a chat read: one read receipt for every unread message someone sent in it, and nothing the second time', async () => {
    const first = await system.emulator.peerSendText({ from: peer, to: phone, text: 'one more thing' });
    const second = await system.emulator.peerSendText({ from: peer, to: phone, text: 'and another' });
    await system.waitFor(async () => (events('message.received').filter((entry) => [first, second].includes(entry.body.data.payload['id'] as string)).length === 2 ? true : undefined), 'both received');
    const chat = `${peer}@s.whatsapp.net`;
    const marked = await system.api(`/api/v1/sessions/${sessionId}/chats/${chat}/read`, { method: 'POST', token: tenant.apiKey });
    expect(marked.status).toBe(200);
    expect(marked.body['read']).toEqual(expect.arrayContaining([first, second]));
    const readAtPeer = () => system.emulator.receiptsFor(peer).filter((entry) => entry.type === 'read').flatMap((entry) => entry.messageIds);
    await system.waitFor(async () => ([first, second].every((id) => readAtPeer().includes(id)) ? true : undefined), 'the read receipts at the peer');
    expect(await system.api(`/api/v1/sessions/${sessionId}/chats/${chat}/read`, { method: 'POST', token: tenant.apiKey })).toMatchObject({ status: 200, body: { chat, read: [] } });
    expect((await system.api(`/api/v1/sessions/${sessionId}/chats/not-a-jid/read`, { method: 'POST', token: tenant.apiKey })).status).toBe(400);
  });

  it("reacts through the API and takes the reaction back, each seen by the peer; the peer's reaction to our message is one message.reaction", async () => {
    const sent = await send({ text: 'rate us' });
    const mid = sent.body['waMessageId'] as string;
    const reactionsAtPeer = () => system.emulator.received(peer).flatMap((entry) => (entry.message.reactionMessage?.key?.id === mid ? [entry.message.reactionMessage.text ?? ''] : []));
    const reacted = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}/reaction`, { method: 'PUT', token: tenant.apiKey, body: { emoji: '👍' } });
    expect(reacted).toMatchObject({ status: 200, body: { status: 'sent', mode: 'sync' } });
    await system.waitFor(async () => (reactionsAtPeer().includes('👍') ? true : undefined), 'the peer to see the reaction');
    const removed = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}/reaction`, { method: 'PUT', token: tenant.apiKey, body: { emoji: '' } });
    expect(removed.status).toBe(200);
    await system.waitFor(async () => (reactionsAtPeer().at(-1) === '' ? true : undefined), 'the peer to see it taken back');
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}/reaction`, { method: 'PUT', token: tenant.apiKey, body: { emoji: 'x'.repeat(17) } })).status).toBe(400);
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/3EB0000000000000000001/reaction`, { method: 'PUT', token: tenant.apiKey, body: { emoji: '👍' } })).status).toBe(404);

    await system.emulator.peerReact({ from: peer, to: phone, messageId: mid, emoji: '❤️' });
    const mine = () => events('message.reaction').filter((entry) => (entry.body.data.payload['reaction'] as { messageId?: string } | undefined)?.messageId === mid);
    const delivered = await system.waitFor(async () => mine()[0], 'message.reaction');
    expect(delivered.body.data.payload).toMatchObject({ fromMe: false, from: `${peer}@s.whatsapp.net`, reaction: { text: '❤️', messageId: mid } });
    expect(verifiedBy(subscription.secret, delivered.hit)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(mine()).toHaveLength(1);
    // A reaction is no message of its own.
    expect(events('message.received').filter((entry) => entry.body.data.payload['id'] === delivered.body.data.payload['id'])).toEqual([]);
  });

  it('edits our text through the API (the peer sees the edit, our store the new text, one message.edited); a replay sends nothing; a peer\'s edit arrives once', async () => {
    const sent = await send({ text: 'teh order shipped' });
    const mid = sent.body['waMessageId'] as string;
    const editsAtPeer = () => system.emulator.received(peer).filter((entry) => entry.message.protocolMessage?.key?.id === mid && entry.edit === '1');
    const edited = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'PATCH', token: tenant.apiKey, body: { text: 'the order shipped' }, headers: { 'idempotency-key': `edit-${mid}` } });
    expect(edited).toMatchObject({ status: 200, body: { status: 'sent', replayed: false } });
    const atPeer = await system.waitFor(async () => editsAtPeer()[0], 'the peer to get the edit');
    const newText = atPeer.message.protocolMessage?.editedMessage;
    expect(newText?.conversation ?? newText?.extendedTextMessage?.text).toBe('the order shipped');
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { token: tenant.apiKey })).body).toMatchObject({ text: 'the order shipped' });
    const ours = await system.waitFor(async () => events('message.edited').find((entry) => entry.body.data.payload['editedMessageId'] === mid), 'message.edited for our edit');
    expect(ours.body.data.payload).toMatchObject({ fromMe: true, body: 'the order shipped' });

    const replayed = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'PATCH', token: tenant.apiKey, body: { text: 'the order shipped' }, headers: { 'idempotency-key': `edit-${mid}` } });
    expect(replayed).toMatchObject({ status: 200, body: { replayed: true, waMessageId: edited.body['waMessageId'] } });

    const theirs = await system.emulator.peerSendText({ from: peer, to: phone, text: 'see you at 5' });
    await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === theirs), 'message.received');
    expect(await system.api(`/api/v1/sessions/${sessionId}/messages/${theirs}`, { method: 'PATCH', token: tenant.apiKey, body: { text: 'nope' } })).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    await system.emulator.peerEdit({ from: peer, to: phone, messageId: theirs, text: 'see you at 6' });
    const peerEdit = await system.waitFor(async () => events('message.edited').find((entry) => entry.body.data.payload['editedMessageId'] === theirs), 'message.edited for the peer\'s edit');
    expect(peerEdit.body.data.payload).toMatchObject({ fromMe: false, body: 'see you at 6' });
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/${theirs}`, { token: tenant.apiKey })).body).toMatchObject({ text: 'see you at 6' });
    // Revoked after the edit: `before` shows the text as edited.
    await system.emulator.peerRevoke({ from: peer, to: phone, messageId: theirs });
    const revoked = await system.waitFor(async () => events('message.revoked').find((entry) => entry.body.data.payload.before?.id === theirs), 'message.revoked for the edited message');
    expect(revoked.body.data.payload.before?.body).toBe('see you at 6');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(editsAtPeer()).toHaveLength(1);
    expect(events('message.edited').filter((entry) => [mid, theirs].includes(entry.body.data.payload['editedMessageId'] as string))).toHaveLength(2);
  });

  it("receives a peer's image: stored with its metadata, announced with our media URL, downloaded once from WhatsApp and served byte for byte; another org gets 404", async () => {
    // The PNG with 2 KiB of trailing bytes, so that it spans many AES blocks.
    const png = Buffer.concat([ONE_PIXEL_PNG, Buffer.alloc(2048, 7)]);
    const sent = await system.emulator.peerSendMedia({ from: peer, to: phone, kind: 'image', bytes: png, mimetype: 'image/png', caption: 'the damage' });
    const url = `/api/v1/sessions/${sessionId}/messages/${sent.id}/media`;
    const received = await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === sent.id), 'message.received for the image');
    expect(received.body.data.payload).toMatchObject({ hasMedia: true, body: 'the damage', media: { url, mimetype: 'image/png', filename: null } });
    const view = await system.api(`/api/v1/sessions/${sessionId}/messages/${sent.id}`, { token: tenant.apiKey });
    expect(view.body).toMatchObject({
      type: 'imageMessage',
      media: { kind: 'image', mimetype: 'image/png', size: png.length, fileName: null, caption: 'the damage', sha256: createHash('sha256').update(png).digest('hex'), url },
    });
    expect(system.emulator.mediaDownloads(sent.directPath)).toBe(0);

    const first = await system.download(url, tenant.apiKey);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/png');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.bytes.equals(png)).toBe(true);
    expect(system.emulator.mediaDownloads(sent.directPath)).toBe(1);
    // From the cache now: WhatsApp's host is not asked again, even once it has forgotten the file.
    system.emulator.expireMedia(sent.directPath);
    const again = await system.download(url, tenant.apiKey);
    expect(again.status).toBe(200);
    expect(again.bytes.equals(png)).toBe(true);
    expect(system.emulator.mediaDownloads(sent.directPath)).toBe(1);

    const stranger = await system.tenant();
    expect(await system.api(url, { token: stranger.apiKey })).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const text = await system.emulator.peerSendText({ from: peer, to: phone, text: 'no attachment here' });
    await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === text), 'message.received for the text');
    expect(await system.api(`/api/v1/sessions/${sessionId}/messages/${text}/media`, { token: tenant.apiKey })).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: 'the message carries no attachment' } } });
  });

  it("answers 502 media_unavailable for an attachment WhatsApp no longer has, and 409 once its sender revoked it", async () => {
    const pdf = Buffer.from('%PDF-1.4\n% a contract\n'.repeat(40));
    const expired = await system.emulator.peerSendMedia({ from: peer, to: phone, kind: 'document', bytes: pdf, mimetype: 'application/pdf', fileName: 'contract.pdf' });
    await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === expired.id), 'message.received for the document');
    system.emulator.expireMedia(expired.directPath);
    expect(await system.api(`/api/v1/sessions/${sessionId}/messages/${expired.id}/media`, { token: tenant.apiKey })).toMatchObject({ status: 502, body: { error: { code: 'media_unavailable', details: { status: 404 } } } });

    const taken = await system.emulator.peerSendMedia({ from: peer, to: phone, kind: 'document', bytes: pdf, mimetype: 'application/pdf', fileName: 'draft.pdf' });
    await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === taken.id), 'message.received for the draft');
    const served = await system.download(`/api/v1/sessions/${sessionId}/messages/${taken.id}/media`, tenant.apiKey);
    expect(served.headers.get('content-disposition')).toBe(`attachment; filename="draft.pdf"; filename*=UTF-8''draft.pdf`);
    expect(served.bytes.equals(pdf)).toBe(true);
    await system.emulator.peerRevoke({ from: peer, to: phone, messageId: taken.id });
    const revoked = await system.waitFor(async () => events('message.revoked').find((entry) => entry.body.data.payload.before?.id === taken.id), 'message.revoked for the draft');
    expect(revoked.body.data.payload.before).toMatchObject({ hasMedia: true, media: { url: `/api/v1/sessions/${sessionId}/messages/${taken.id}/media`, filename: 'draft.pdf' } });
    expect(await system.api(`/api/v1/sessions/${sessionId}/messages/${taken.id}/media`, { token: tenant.apiKey })).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
  });

  it('sends an image and a document from a URL, fetched by the worker, that the peer decrypts byte for byte; a private, mistyped, missing or oversized one is refused with nothing sent', async () => {
    const png = ONE_PIXEL_PNG;
    const pdf = Buffer.from('%PDF-1.4\n% a price list\n'.repeat(30));
    const host = await serveFiles({
      '/receipt.png': { type: 'image/png', bytes: png },
      '/prices': { type: 'application/pdf; charset=binary', bytes: pdf },
      '/huge.png': { type: 'image/png', bytes: Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024)]) },
      '/moved': { status: 302, location: 'http://169.254.169.254/' },
    });
    const port = new URL(host.origin).port;
    try {
      const image = await send({ image: { url: `http://127.0.0.1:${port}/receipt.png`, caption: 'fetched' } });
      expect(image).toMatchObject({ status: 200, body: { status: 'sent' } });
      const document = await send({ document: { url: `http://127.0.0.1:${port}/prices`, fileName: 'prices.pdf' } });
      expect(document).toMatchObject({ status: 200, body: { status: 'sent' } });
      const atPeer = (id: unknown) => system.waitFor(async () => system.emulator.received(peer).find((entry) => entry.id === id), 'the peer to get the attachment');
      const imageAtPeer = await atPeer(image.body['waMessageId']);
      expect(imageAtPeer.message.imageMessage).toMatchObject({ caption: 'fetched', mimetype: 'image/png' });
      expect((await system.emulator.decryptMedia(imageAtPeer.message)).bytes.equals(png)).toBe(true);
      const documentAtPeer = await atPeer(document.body['waMessageId']);
      expect(documentAtPeer.message.documentMessage).toMatchObject({ fileName: 'prices.pdf', mimetype: 'application/pdf' });
      expect((await system.emulator.decryptMedia(documentAtPeer.message)).bytes.equals(pdf)).toBe(true);

      const receivedBefore = system.emulator.received(peer).length;
      // `localhost` is not an allowed host as written, and resolves to loopback: refused at connect time.
      expect(await send({ image: { url: `http://localhost:${port}/receipt.png` } })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed', details: { field: 'image.url' } } } });
      expect(await send({ image: { url: 'http://169.254.169.254/latest/meta-data' } })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed', message: expect.stringContaining('link-local') } } });
      expect(await send({ image: { url: `http://127.0.0.1:${port}/moved` } })).toMatchObject({ status: 502, body: { error: { code: 'media_unavailable', details: { status: 302 } } } });
      expect(await send({ image: { url: `http://127.0.0.1:${port}/gone.png` } })).toMatchObject({ status: 502, body: { error: { code: 'media_unavailable', details: { status: 404 } } } });
      expect(await send({ image: { url: `http://127.0.0.1:${port}/prices`, mimetype: 'image/png' } })).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type', details: { detected: 'application/pdf' } } } });
      expect(await send({ image: { url: `http://127.0.0.1:${port}/huge.png` } })).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large', details: { field: 'image.url' } } } });
      expect(await send({ image: { url: 'ftp://127.0.0.1/receipt.png' } })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
      expect(await send({ image: { url: `http://127.0.0.1:${port}/receipt.png`, data: png.toString('base64'), mimetype: 'image/png' } })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(system.emulator.received(peer)).toHaveLength(receivedBefore);
    } finally {
      await host.close();
    }
  });

  it('sends a video and a voice note, from base64 and from a URL, that the peer decrypts byte for byte', async () => {
    // An MP4 (an `ftyp` box, isom) and an Ogg Opus page (`OpusHead`): what WhatsApp takes as video and voice.
    const mp4 = Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), Buffer.alloc(4000, 1)]);
    const page = Buffer.alloc(27);
    page.write('OggS', 0);
    page[5] = 2;
    page[26] = 1;
    const opus = Buffer.concat([page, Buffer.from([19]), Buffer.from('OpusHead'), Buffer.from([1, 1, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]), Buffer.alloc(3000, 2)]);
    const host = await serveFiles({ '/clip.mp4': { bytes: mp4 }, '/note.ogg': { bytes: opus } });
    const origin = host.origin;
    try {
      const sent = [
        { body: { video: { data: mp4.toString('base64'), mimetype: 'video/mp4', caption: 'the clip' } }, field: 'videoMessage', bytes: mp4 },
        { body: { video: { url: `${origin}/clip.mp4` } }, field: 'videoMessage', bytes: mp4 },
        { body: { audio: { data: opus.toString('base64'), mimetype: 'audio/ogg; codecs=opus', voiceNote: true } }, field: 'audioMessage', bytes: opus },
        { body: { audio: { url: `${origin}/note.ogg`, voiceNote: true } }, field: 'audioMessage', bytes: opus },
      ] as const;
      for (const { body, field, bytes } of sent) {
        const answer = await send(body);
        expect(answer, JSON.stringify(body).slice(0, 80)).toMatchObject({ status: 200, body: { status: 'sent' } });
        const atPeer = await system.waitFor(async () => system.emulator.received(peer).find((entry) => entry.id === answer.body['waMessageId']), `the peer to get the ${field}`);
        expect(atPeer.message[field]).toBeTruthy();
        expect((await system.emulator.decryptMedia(atPeer.message)).bytes.equals(bytes)).toBe(true);
        if (field === 'audioMessage') expect(atPeer.message.audioMessage?.ptt).toBe(true);
      }
      // Idempotent as a text is: the same file again under one key is the first send replayed, another file a reused key.
      const keyed = (data: Buffer) => system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, headers: { 'idempotency-key': 'video-once' }, body: { chat: `${peer}@s.whatsapp.net`, video: { data: data.toString('base64'), mimetype: 'video/mp4' } } });
      const once = await keyed(mp4);
      expect(once).toMatchObject({ status: 200, body: { status: 'sent', replayed: false } });
      expect(await keyed(mp4)).toMatchObject({ status: 200, body: { waMessageId: once.body['waMessageId'], replayed: true } });
      expect(await keyed(Buffer.concat([mp4, Buffer.from('other')]))).toMatchObject({ status: 422, body: { error: { code: 'idempotency_key_reused' } } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(system.emulator.received(peer).filter((entry) => entry.id === once.body['waMessageId'])).toHaveLength(1);
    } finally {
      await host.close();
    }
  });

  it('sends an image and a document from base64 that the peer decrypts byte for byte; a mistyped or malformed one is refused with nothing sent', async () => {
    // The PNG, and a PDF-looking document.
    const png = ONE_PIXEL_PNG;
    const pdf = Buffer.from('%PDF-1.4\n% an invoice\n'.repeat(50));
    const image = await send({ image: { data: png.toString('base64'), mimetype: 'image/png', caption: 'your receipt' } });
    expect(image).toMatchObject({ status: 200, body: { status: 'sent' } });
    const document = await send({ document: { data: pdf.toString('base64'), mimetype: 'application/pdf', fileName: 'invoice-42.pdf' } });
    expect(document).toMatchObject({ status: 200, body: { status: 'sent' } });
    const atPeer = (id: unknown) => system.waitFor(async () => system.emulator.received(peer).find((entry) => entry.id === id), 'the peer to get the attachment');
    const imageAtPeer = await atPeer(image.body['waMessageId']);
    expect(imageAtPeer.message.imageMessage).toMatchObject({ caption: 'your receipt', mimetype: 'image/png' });
    expect((await system.emulator.decryptMedia(imageAtPeer.message)).bytes.equals(png)).toBe(true);
    const documentAtPeer = await atPeer(document.body['waMessageId']);
    expect(documentAtPeer.message.documentMessage).toMatchObject({ fileName: 'invoice-42.pdf', mimetype: 'application/pdf' });
    expect((await system.emulator.decryptMedia(documentAtPeer.message)).bytes.equals(pdf)).toBe(true);
    // Stored as what it is, its caption as its text.
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/${image.body['waMessageId'] as string}`, { token: tenant.apiKey })).body).toMatchObject({ type: 'imageMessage', text: 'your receipt' });

    const operationsBefore = await system.db.outboxOperation.count({ where: { sessionId } });
    const receivedBefore = system.emulator.received(peer).length;
    expect(await send({ image: { data: pdf.toString('base64'), mimetype: 'image/png' } })).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type', details: { detected: 'application/pdf' } } } });
    expect(await send({ image: { data: png.toString('base64'), mimetype: 'image/gif' } })).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
    expect(await send({ image: { data: 'not base64!', mimetype: 'image/png' } })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    expect(await send({ text: 'both', image: { data: png.toString('base64'), mimetype: 'image/png' } })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    expect(await system.db.outboxOperation.count({ where: { sessionId } })).toBe(operationsBefore);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(system.emulator.received(peer)).toHaveLength(receivedBefore);
    // Revoking a media message works, and its before describes the attachment.
    const documentId = document.body['waMessageId'] as string;
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/${documentId}`, { method: 'DELETE', token: tenant.apiKey, body: {} })).status).toBe(200);
    const revoked = await system.waitFor(async () => events('message.revoked').find((entry) => entry.body.data.payload.before?.id === documentId), 'message.revoked for the document');
    expect(revoked.body.data.payload.before).toMatchObject({ hasMedia: true, media: { mimetype: 'application/pdf', filename: 'invoice-42.pdf' } });
    expect(validateBody(revoked.body), JSON.stringify(validateBody.errors)).toBe(true);
    // The outbox keeps the attachment's hash, not its bytes.
    const stored = await system.db.outboxOperation.findFirst({ where: { sessionId, waMessageId: image.body['waMessageId'] as string } });
    expect((stored?.request as { data?: string } | undefined)?.data).toMatch(/^sha256:[0-9a-f]{64} \(\d+ bytes\)$/);
  });

  it('an admin revoke of a member\'s group message is delivered with every key of the reference', async () => {
    const member = '15553000003';
    system.emulator.createAccount({ phone: member, pushName: 'Member' });
    const group = system.emulator.createGroup({ subject: 'Hooks', members: [phone, peer, member], admins: [phone] });
    const original = await system.emulator.peerSendGroupText({ from: member, group: group.jid, text: 'off-topic' });
    await system.waitFor(async () => events('message.received').find((entry) => entry.body.data.payload['id'] === original), 'the group message received');
    const revoke = await system.api(`/api/v1/sessions/${sessionId}/messages/${original}`, { method: 'DELETE', token: tenant.apiKey, body: { chat: group.jid, sender: `${member}@s.whatsapp.net` } });
    expect(revoke.status).toBe(200);
    const delivered = await system.waitFor(async () => events('message.revoked').find((entry) => entry.body.data.payload.before?.id === original), 'message.revoked for the admin revoke');
    expect(validateBody(delivered.body), JSON.stringify(validateBody.errors)).toBe(true);
    const payload = delivered.body.data.payload as unknown as { before: { participant: string; _data: { key: { participant: string }; pushName: string } } };
    // The member as the group addresses them (its LID in a LID-addressed group).
    expect(payload.before.participant).toMatch(/^\d+@(lid|s\.whatsapp\.net)$/);
    expect(payload.before._data).toMatchObject({ key: { participant: payload.before.participant }, pushName: 'Member' });
  });

  it("a group's per-member receipts raise our message's ack to its furthest member, one message.ack per step; our own devices' receipts count for nothing", async () => {
    const first = '15553000004';
    const second = '15553000005';
    system.emulator.createAccount({ phone: first, pushName: 'First' });
    system.emulator.createAccount({ phone: second, pushName: 'Second' });
    const group = system.emulator.createGroup({ subject: 'Receipts', members: [phone, first, second], admins: [phone] });
    const sent = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: group.jid, text: 'meeting at 10' } });
    expect(sent).toMatchObject({ status: 200, body: { status: 'sent' } });
    const mid = sent.body['waMessageId'] as string;
    await system.waitFor(async () => [first, second].every((member) => system.emulator.received(member).some((entry) => entry.id === mid)) || undefined, 'both members to get it');
    const acks = () => events('message.ack').filter((entry) => entry.body.data.payload['id'] === mid).map((entry) => entry.body.data.payload['ackName']);
    const stored = async () => (await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { token: tenant.apiKey })).body['ackName'];
    system.emulator.peerReceipt({ from: first, to: phone, group: group.jid, messageIds: [mid], type: 'delivery' });
    await system.waitFor(async () => (acks().length === 1 ? true : undefined), 'message.ack DEVICE');
    // The second member's delivery is no further than the first's.
    system.emulator.peerReceipt({ from: second, to: phone, group: group.jid, messageIds: [mid], type: 'delivery' });
    system.emulator.peerReceipt({ from: second, to: phone, group: group.jid, messageIds: [mid], type: 'read' });
    await system.waitFor(async () => (acks().length === 2 ? true : undefined), 'message.ack READ');
    system.emulator.peerReceipt({ from: first, to: phone, group: group.jid, messageIds: [mid], type: 'read' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(acks()).toEqual(['DEVICE', 'READ']);
    expect(await stored()).toBe('READ');
  });

  it('every message.revoked carries every key the reference shows, "" where WhatsApp gave none', () => {
    const revoked = events('message.revoked');
    expect(revoked.length).toBeGreaterThanOrEqual(3);
    for (const { body } of revoked) {
      const payload = body.data.payload as unknown as Record<'after' | 'before', { _data: Record<string, unknown> & { key: Record<string, unknown> } }> & { _data: Record<string, unknown> & { key: Record<string, unknown> } };
      for (const raw of [payload.after._data, payload._data, payload.before._data]) {
        expect(Object.keys(raw.key).sort()).toEqual(['fromMe', 'id', 'participant', 'remoteJid']);
        expect(raw).toEqual(expect.objectContaining({ pushName: expect.any(String), broadcast: expect.any(Boolean), message: expect.any(Object), messageTimestamp: expect.any(Number) }));
      }
    }
    // Our own 1:1 revoke: no participant, no pushName, and the keys are there regardless.
    const own = revoked.find(({ body }) => body.data.payload.before?.body === 'sent by mistake');
    const ownPayload = own?.body.data.payload as unknown as { after: { _data: { key: { participant: string }; pushName: string } } };
    expect(ownPayload.after._data).toMatchObject({ key: { participant: '' }, pushName: '' });
  });

  it('a killed dispatcher finishes the delivery after it restarts, under the same webhook-id', async () => {
    const path = '/hook-restart';
    const target = await subscribe(system, tenant, sink.url(path));
    sink.answer = (hitPath, previous) => (hitPath === path && previous === 0 ? { status: 503 } : { status: 200 });
    const ping = await system.api(`/api/v1/webhooks/${target.id}/test`, { method: 'POST', token: tenant.apiKey });
    expect(ping.status).toBe(202);
    await system.waitFor(async () => {
      const listed = await system.api(`/api/v1/webhooks/${target.id}/deliveries`, { token: tenant.apiKey });
      return (listed.body['data'] as Array<{ attempts: number; lastStatusCode: number }>).find((delivery) => delivery.attempts === 1 && delivery.lastStatusCode === 503);
    }, 'the first, failing attempt recorded');
    // The retry is 3 s away (the schedule's second step): kill the dispatcher before it.
    await system.stopApp(system.webhookDispatcher, 'SIGKILL');
    await system.startDispatcher();
    await system.waitFor(async () => {
      const listed = await system.api(`/api/v1/webhooks/${target.id}/deliveries?status=delivered`, { token: tenant.apiKey });
      return (listed.body['data'] as unknown[]).length === 1 || undefined;
    }, 'delivered after the restart');
    const hits = sink.hits(path);
    expect(hits).toHaveLength(2);
    expect(new Set(hits.map((hit) => hit.headers['webhook-id'])).size).toBe(1);
    expect(parsed(hits[1] as ReceivedWebhook).event).toBe('webhook.test');
  });
});

describe('webhooks end to end: a worker killed between the commit and the enqueue', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const sink = new WebhookSink();
  const phone = '15553000011';
  const peer = '15553000012';

  beforeAll(async () => {
    await sink.start();
    // The worker exits right after committing a revoke's event, before handing it to the dispatcher.
    await system.start({ workerEnv: { FAULT_INJECTION: 'exit-after-revoke-commit' } });
    system.emulator.createAccount({ phone, pushName: 'Gateway Phone' });
    system.emulator.createAccount({ phone: peer, pushName: 'Peer' });
  }, 60_000);

  afterAll(async () => {
    await system.stop();
    await sink.stop();
  });

  it('the event is still delivered (the relay publishes what the dead worker could not)', async () => {
    const tenant = await system.tenant();
    await subscribe(system, tenant, sink.url('/crash'));
    const sessionId = await system.connectedSession(tenant, phone);
    const original = await system.emulator.peerSendText({ from: peer, to: phone, text: 'before the crash' });
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${sessionId}/messages/${original}`, { token: tenant.apiKey })).status === 200 || undefined, 'the original stored');
    await system.emulator.peerRevoke({ from: peer, to: phone, messageId: original });
    const worker = system.workers.get('worker-a');
    expect(await worker?.exited).toBe(137);
    const revoked = await system.waitFor(
      async () => sink.hits('/crash').map(parsed).find((body) => body.event === 'message.revoked' && body.data.payload.before?.id === original),
      'message.revoked after the crash',
    );
    expect(revoked.data.payload.before?.body).toBe('before the crash');
    expect(worker?.output()).toMatch(/fault injection: exiting after a revoke event commit/);
  });
});
