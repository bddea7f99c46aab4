import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DisconnectReason, downloadContentFromMessage, proto } from '@whiskeysockets/baileys';
import { Agent as FetchDispatcher } from 'undici';
import { WaEmulator } from './wa-emulator.js';
import { trustEmulatorRootKey } from './trust.js';
import { TestClient } from './test/baileys-client.js';
import { createMemoryAuthState } from './memory-auth-state.js';
import { deliveryReport, type DeliveryReport } from './delivery-report.js';

let nextPhone = 15550100000;
const newPhone = (): string => String(nextPhone++);

describe('WhatsApp emulator with genuine Baileys', () => {
  const emulator = new WaEmulator();
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await emulator.start();
    trustEmulatorRootKey(emulator.rootPublicKey, () => undefined);
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await emulator.stop();
  });

  function client(auth?: TestClient['auth'], queryTimeoutMs?: number): TestClient {
    const created = new TestClient(emulator, auth, queryTimeoutMs);
    clients.push(created);
    return created;
  }

  it('pairs by QR, restarts (515) and logs in', async () => {
    const phone = newPhone();
    emulator.createAccount({ phone });
    const gateway = client();
    await gateway.pairByQr(phone);

    expect(gateway.closeCodes).toEqual([DisconnectReason.restartRequired]);
    expect(gateway.auth.state.creds.me?.id).toMatch(new RegExp(`^${phone}:\\d+@s\\.whatsapp\\.net$`));
    expect(gateway.auth.state.creds.me?.lid).toMatch(/^\d+:\d+@lid$/);
    expect(emulator.linkedDevices(phone)).toHaveLength(1);
    // It uploaded its pre-keys so that peers can open sessions to it.
    expect(emulator.linkedDevices(phone)[0]?.preKeys.size).toBeGreaterThan(100);
  });

  it("syncs the phone's push name to the linked device through app state, and each rename after", async () => {
    const phone = newPhone();
    emulator.createAccount({ phone, pushName: 'Front Desk' });
    const gateway = client();
    await gateway.pairByQr(phone);
    // Baileys learns it only by decrypting the phone's key share and then the critical_block patch.
    await gateway.waitFor(() => gateway.auth.state.creds.me?.name === 'Front Desk' || undefined, 'the push name from app state');
    expect(gateway.auth.state.creds.myAppStateKeyId).toBeTruthy();

    await emulator.setPushName(phone, 'Back Office');
    await gateway.waitFor(() => gateway.auth.state.creds.me?.name === 'Back Office' || undefined, 'the renamed push name');
  });

  /** A gateway paired as a fresh account, and a fresh peer ("Alice") to talk to. */
  async function pairedGatewayAndPeer(): Promise<{ gateway: TestClient; phone: string; peer: string }> {
    const phone = newPhone();
    const peer = newPhone();
    emulator.createAccount({ phone });
    emulator.createAccount({ phone: peer, pushName: 'Alice' });
    const gateway = client();
    await gateway.pairByQr(phone);
    return { gateway, phone, peer };
  }

  /** A fresh account and a client asking to be linked to it by code. */
  async function clientAskingForCode(): Promise<{ phone: string; gateway: TestClient; code: string }> {
    const phone = newPhone();
    emulator.createAccount({ phone });
    const gateway = client();
    gateway.connect();
    await gateway.waitFor(() => gateway.qrs[0], 'the client to be registering');
    return { phone, gateway, code: await gateway.socket.requestPairingCode(phone) };
  }

  it('pairs by pairing code, restarts (515) and logs in', async () => {
    const { phone, gateway, code } = await clientAskingForCode();
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    const device = await emulator.enterPairingCode(phone, code);
    await gateway.waitForOpen();
    expect(gateway.closeCodes).toContain(DisconnectReason.restartRequired);
    expect(gateway.auth.state.creds.me?.id).toBe(`${phone}:${device.deviceId}@s.whatsapp.net`);
  });

  it('refuses a mistyped pairing code', async () => {
    const { phone, code } = await clientAskingForCode();
    const wrong = code.startsWith('A') ? `B${code.slice(1)}` : `A${code.slice(1)}`;
    await expect(emulator.enterPairingCode(phone, wrong)).rejects.toThrow(/did not match/);
    expect(emulator.linkedDevices(phone)).toHaveLength(0);
  });

  it('logs in again later from persisted creds without pairing', async () => {
    const phone = newPhone();
    emulator.createAccount({ phone });
    const first = client();
    await first.pairByQr(phone);
    first.close();

    const again = client(first.auth);
    again.connect();
    await again.waitForOpen();
    expect(again.qrs).toEqual([]);
    expect(emulator.liveSocketCount(phone, emulator.linkedDevices(phone)[0]?.deviceId ?? -1)).toBe(1);
  });

  it('sends a 1:1 text the peer decrypts, then revokes it with a REVOKE carrying the original id', async () => {
    const { gateway, peer } = await pairedGatewayAndPeer();

    const sent = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: 'hello from the gateway' });
    // Baileys reuses the key object of a message it revokes: keep the id apart.
    const sentId = sent?.key.id;
    const delivered = await gateway.waitFor(() => emulator.received(peer).find((message) => message.id === sentId), 'the peer to get the text');
    expect(delivered.message.extendedTextMessage?.text ?? delivered.message.conversation).toBe('hello from the gateway');

    const revoke = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { delete: { ...sent!.key } });
    const revoked = await gateway.waitFor(() => emulator.received(peer).find((message) => message.id === revoke?.key.id), 'the peer to get the revoke');
    expect(revoked.edit).toBe('7');
    expect(revoked.message.protocolMessage?.type).toBe(proto.Message.ProtocolMessage.Type.REVOKE);
    expect(revoked.message.protocolMessage?.key?.id).toBe(sentId);
  });

  it("relays a peer phone's receipts: delivered, then read for two messages in one stanza, each one reported by Baileys", async () => {
    const { gateway, phone, peer } = await pairedGatewayAndPeer();
    const first = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: 'one' });
    const second = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: 'two' });
    const ids = [first?.key.id ?? '', second?.key.id ?? ''];
    const { Status } = proto.WebMessageInfo;
    // Baileys folds a status into its own upsert of the message when both are in one event-buffer flush.
    const statusOf = (id: string, status: number): boolean =>
      gateway.updates.some((update) => update.key.id === id && update.key.fromMe === true && update.update.status === status) ||
      gateway.upserts.some((upsert) => upsert.messages.some((message) => message.key.id === id && message.status === status));
    // A phone receipts what it received.
    await gateway.waitFor(() => ids.every((id) => emulator.received(peer).some((message) => message.id === id)) || undefined, 'the peer to get both');

    emulator.peerReceipt({ from: peer, to: phone, messageIds: [ids[0] ?? ''], type: 'delivery' });
    await gateway.waitFor(() => statusOf(ids[0] ?? '', Status.DELIVERY_ACK) || undefined, 'the delivery receipt');
    emulator.peerReceipt({ from: peer, to: phone, messageIds: ids, type: 'read' });
    await gateway.waitFor(() => ids.every((id) => statusOf(id, Status.READ)) || undefined, 'both read');
  });

  it("records a client's read receipt for a peer's message, sent as `read` since the account's privacy settings share read receipts", async () => {
    const { gateway, phone, peer } = await pairedGatewayAndPeer();
    const id = await emulator.peerSendText({ from: peer, to: phone, text: 'did you see this?' });
    const upserted = await gateway.waitFor(() => gateway.upserts.flatMap((upsert) => upsert.messages).find((message) => message.key.id === id), 'the message');
    await gateway.socket.readMessages([upserted.key]);
    const read = await gateway.waitFor(() => emulator.receiptsFor(peer).find((receipt) => receipt.type === 'read'), 'the read receipt');
    expect(read).toEqual({ by: phone, to: peer, type: 'read', messageIds: [id] });
  });

  it('takes an image and a document Baileys encrypted and uploaded to its media host; the peer decrypts both byte for byte', async () => {
    const { gateway, peer } = await pairedGatewayAndPeer();
    const image = randomBytes(20_000);
    const document = Buffer.from('%PDF-1.4 an invoice\n'.repeat(200));
    const sentImage = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { image, mimetype: 'image/jpeg', caption: 'the photo' });
    const sentDocument = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { document, mimetype: 'application/pdf', fileName: 'invoice.pdf' });
    const arrived = async (id: string | null | undefined) => gateway.waitFor(() => emulator.received(peer).find((message) => message.id === id), `the peer to get ${id ?? ''}`);
    const imageAtPeer = await arrived(sentImage?.key.id);
    expect(imageAtPeer.message.imageMessage).toMatchObject({ caption: 'the photo', mimetype: 'image/jpeg' });
    expect((await emulator.decryptMedia(imageAtPeer.message)).bytes.equals(image)).toBe(true);
    const documentAtPeer = await arrived(sentDocument?.key.id);
    expect(documentAtPeer.message.documentMessage).toMatchObject({ fileName: 'invoice.pdf', mimetype: 'application/pdf' });
    expect((await emulator.decryptMedia(documentAtPeer.message)).bytes.equals(document)).toBe(true);
    // A tampered attachment does not open.
    const tampered = { imageMessage: { ...imageAtPeer.message.imageMessage, mediaKey: randomBytes(32) } };
    await expect(emulator.decryptMedia(tampered)).rejects.toThrow(/MAC/);
  });

  it("sends a peer phone's image the way WhatsApp's app does: Baileys receives it and its own downloader decrypts it byte for byte", async () => {
    const { gateway, phone, peer } = await pairedGatewayAndPeer();
    const image = randomBytes(30_000);
    const sent = await emulator.peerSendMedia({ from: peer, to: phone, kind: 'image', bytes: image, mimetype: 'image/jpeg', caption: 'look' });
    const upserted = await gateway.waitFor(() => gateway.upserts.flatMap((upsert) => upsert.messages).find((message) => message.key.id === sent.id), 'the image');
    const received = upserted.message?.imageMessage;
    expect(received).toMatchObject({ caption: 'look', mimetype: 'image/jpeg', directPath: sent.directPath });
    expect(Number(received?.fileLength)).toBe(image.length);
    const dispatcher = new FetchDispatcher({ connect: { ca: emulator.mediaCaCertificate } });
    const stream = await downloadContentFromMessage({ mediaKey: received?.mediaKey, directPath: received?.directPath, url: received?.url }, 'image', { options: { dispatcher } as RequestInit });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    await dispatcher.close();
    expect(Buffer.concat(chunks).equals(image)).toBe(true);
    expect(emulator.mediaDownloads(sent.directPath)).toBe(1);
    emulator.expireMedia(sent.directPath);
    await expect(downloadContentFromMessage({ mediaKey: received?.mediaKey, directPath: received?.directPath, url: received?.url }, 'image', { options: { dispatcher: new FetchDispatcher({ connect: { ca: emulator.mediaCaCertificate } }) } as RequestInit })).rejects.toThrow(/Failed to fetch/);
  });

  it('delivers a message sent twice with one id only once, as WhatsApp does', async () => {
    const { gateway, peer } = await pairedGatewayAndPeer();
    await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: 'once' }, { messageId: '3EB0DEDUPTEST00000001' });
    await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: 'once' }, { messageId: '3EB0DEDUPTEST00000001' });
    await gateway.waitFor(() => emulator.received(peer).some((message) => message.id === '3EB0DEDUPTEST00000001') || undefined, 'the first copy');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(emulator.received(peer).filter((message) => message.id === '3EB0DEDUPTEST00000001')).toHaveLength(1);
  });

  describe('several sessions in one process at once', () => {
    /** Runs `work` over `items` with at most `concurrency` at a time. */
    async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < items.length) await work(items[next++] as T);
      }));
    }

    /** What `phone`'s phone (device 0) decrypted of `ids`, counted per id. */
    const deliveryCount = (phone: string, ids: readonly string[]): Pick<DeliveryReport, 'lostIds' | 'duplicatedIds' | 'undecryptable'> => {
      const { lostIds, duplicatedIds, undecryptable } = deliveryReport(ids, emulator.received(phone), emulator.undecryptable(phone), { phone, deviceId: 0 });
      return { lostIds, duplicatedIds, undecryptable };
    };

    async function pairedSessions(count: number): Promise<Array<{ gateway: TestClient; phone: string }>> {
      return Promise.all(Array.from({ length: count }, async () => {
        const phone = newPhone();
        emulator.createAccount({ phone });
        // Key reads and writes that take as long as a database's, as in the session worker.
        const gateway = client(createMemoryAuthState({ latencyMs: 2 }));
        await gateway.pairByQr(phone);
        return { gateway, phone };
      }));
    }

    // Every session's Signal work for one recipient shares libsignal's process-wide queue for that address;
    // each job must run in its own send's key-store transaction, or a session reuses a message counter and
    // the recipient cannot decrypt (this lost about one message in six).
    it('four sessions sending and revoking to one peer at concurrency 16: the peer decrypts every message exactly once', { timeout: 90_000 }, async () => {
      const sessions = await pairedSessions(4);
      const peer = newPhone();
      emulator.createAccount({ phone: peer, pushName: 'Peer' });
      const jobs = sessions.flatMap((session) => Array.from({ length: 30 }, (_, n) => ({ ...session, n })));
      const sent: Array<{ gateway: TestClient; key: NonNullable<Awaited<ReturnType<TestClient['socket']['sendMessage']>>>['key'] }> = [];
      await inParallel(jobs, 16, async ({ gateway, n }) => {
        const message = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: `text ${n}` });
        if (message) sent.push({ gateway, key: { ...message.key } });
      });
      const textIds = sent.map(({ key }) => key.id ?? '');
      await sessions[0]?.gateway.waitFor(() => deliveryCount(peer, textIds).lostIds.length === 0 || undefined, 'every text', 10_000).catch(() => undefined);
      expect(deliveryCount(peer, textIds)).toEqual({ lostIds: [], duplicatedIds: [], undecryptable: 0 });
      expect(textIds).toHaveLength(120);

      const revokeIds: string[] = [];
      await inParallel(sent, 16, async ({ gateway, key }) => {
        const revoke = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { delete: key });
        if (revoke?.key.id) revokeIds.push(revoke.key.id);
      });
      await sessions[0]?.gateway.waitFor(() => deliveryCount(peer, revokeIds).lostIds.length === 0 || undefined, 'every revoke', 10_000).catch(() => undefined);
      expect(deliveryCount(peer, revokeIds)).toEqual({ lostIds: [], duplicatedIds: [], undecryptable: 0 });
      expect(revokeIds).toHaveLength(120);
    });

    it('four sessions writing to one group at once: every member decrypts every message exactly once', { timeout: 90_000 }, async () => {
      const sessions = await pairedSessions(4);
      const members = [newPhone(), newPhone()];
      for (const member of members) emulator.createAccount({ phone: member });
      const group = emulator.createGroup({ subject: 'Busy', members: [...sessions.map(({ phone }) => phone), ...members], admins: [sessions[0]?.phone ?? ''] });
      const jobs = sessions.flatMap((session) => Array.from({ length: 15 }, (_, n) => ({ ...session, n })));
      const ids: string[] = [];
      await inParallel(jobs, 16, async ({ gateway, n }) => {
        const message = await gateway.socket.sendMessage(group.jid, { text: `group text ${n}` });
        if (message?.key.id) ids.push(message.key.id);
      });
      expect(ids).toHaveLength(60);
      for (const member of members) {
        await sessions[0]?.gateway.waitFor(() => deliveryCount(member, ids).lostIds.length === 0 || undefined, `${member} to get every text`, 10_000).catch(() => undefined);
        expect(deliveryCount(member, ids), member).toEqual({ lostIds: [], duplicatedIds: [], undecryptable: 0 });
      }
    });
  });

  describe('inbound', () => {
    const textOf = (message: proto.IWebMessageInfo): string | null | undefined =>
      message.message?.conversation ?? message.message?.extendedTextMessage?.text;

    it("delivers a peer's text as messages.upsert (notify)", async () => {
      const { gateway, phone, peer } = await pairedGatewayAndPeer();
      const id = await emulator.peerSendText({ from: peer, to: phone, text: 'hi gateway' });
      const upsert = await gateway.waitFor(
        () => gateway.upserts.find((candidate) => candidate.type === 'notify' && candidate.messages.some((message) => message.key.id === id)),
        'the inbound text',
      );
      const message = upsert.messages.find((candidate) => candidate.key.id === id);
      expect(message?.key.fromMe).toBe(false);
      expect(message?.pushName).toBe('Alice');
      expect(textOf(message ?? {})).toBe('hi gateway');
      expect([message?.key.remoteJid, message?.key.remoteJidAlt]).toContain(`${peer}@s.whatsapp.net`);
    });

    it("delivers a peer's revoke as a messages.update for the original id", async () => {
      const { gateway, phone, peer } = await pairedGatewayAndPeer();
      const id = await emulator.peerSendText({ from: peer, to: phone, text: 'oops' });
      await gateway.waitFor(() => gateway.upserts.some((upsert) => upsert.messages.some((message) => message.key.id === id)) || undefined, 'the original');
      await emulator.peerRevoke({ from: peer, to: phone, messageId: id });
      const update = await gateway.waitFor(() => gateway.updates.find((candidate) => candidate.key.id === id), 'the revoke update');
      expect(update.update.message).toBeNull();
      expect(update.update.messageStubType).toBe(1);
      expect(update.key.fromMe).toBe(false);
    });

    it('merges a revoke into the upsert when both arrive in one event-buffer flush (offline delivery)', async () => {
      const { gateway, phone, peer } = await pairedGatewayAndPeer();
      const deviceId = emulator.linkedDevices(phone)[0]?.deviceId ?? -1;
      gateway.close();
      await gateway.waitFor(() => emulator.liveSocketCount(phone, deviceId) === 0 || undefined, 'the emulator to see the device offline');
      const id = await emulator.peerSendText({ from: peer, to: phone, text: 'sent while you were away' });
      const revokeId = await emulator.peerRevoke({ from: peer, to: phone, messageId: id });

      const back = client(gateway.auth);
      back.connect();
      await back.waitForOpen();
      const upsert = await back.waitFor(
        () => back.upserts.find((candidate) => candidate.messages.some((message) => message.message?.protocolMessage?.key?.id === id)),
        'the flush with the revoke',
      );
      // The merged form: one upsert holding the revoke envelope (its protocol message names the original id)
      // and the original turned into a REVOKE stub that now carries the envelope's key; no separate update,
      // and the original text is never emitted.
      expect(upsert.type).toBe('append');
      expect(upsert.messages).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ key: expect.objectContaining({ id: revokeId }), message: null, messageStubType: 1 }),
          expect.objectContaining({ key: expect.objectContaining({ id: revokeId }), message: expect.objectContaining({ protocolMessage: expect.objectContaining({ key: expect.objectContaining({ id }) }) }) }),
        ]),
      );
      expect(back.updates.some((update) => update.key.id === id)).toBe(false);
      expect(back.upserts.flatMap((candidate) => candidate.messages).some((message) => textOf(message) === 'sent while you were away')).toBe(false);
    });

    it('lets the gateway answer a peer who wrote first (sessions in both directions)', async () => {
      const { gateway, phone, peer } = await pairedGatewayAndPeer();
      const first = await emulator.peerSendText({ from: peer, to: phone, text: 'ping' });
      await gateway.waitFor(() => gateway.upserts.some((upsert) => upsert.messages.some((message) => message.key.id === first)) || undefined, 'ping');
      const reply = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: 'pong' });
      const got = await gateway.waitFor(() => emulator.received(peer).find((message) => message.id === reply?.key.id), 'pong at the peer');
      expect(got.message.extendedTextMessage?.text ?? got.message.conversation).toBe('pong');
      const second = await emulator.peerSendText({ from: peer, to: phone, text: 'ping again' });
      await gateway.waitFor(() => gateway.upserts.some((upsert) => upsert.messages.some((message) => message.key.id === second && textOf(message) === 'ping again')) || undefined, 'second ping');
    });
  });

  describe('failure injection', () => {
    async function connected(queryTimeoutMs?: number): Promise<{ gateway: TestClient; phone: string; deviceId: number }> {
      const phone = newPhone();
      emulator.createAccount({ phone });
      const gateway = client(undefined, queryTimeoutMs);
      await gateway.pairByQr(phone);
      return { gateway, phone, deviceId: emulator.linkedDevices(phone)[0]?.deviceId ?? -1 };
    }

    it('logging the device out closes with 401 and its creds never log in again', async () => {
      const { gateway, phone, deviceId } = await connected();
      emulator.logOut(phone, deviceId);
      await gateway.waitForClose(DisconnectReason.loggedOut);
      const retry = client(gateway.auth);
      retry.connect();
      await retry.waitForClose(DisconnectReason.loggedOut);
      expect(retry.state.connection).not.toBe('open');
    });

    it('replacing the connection closes with 440 (connectionReplaced)', async () => {
      const { gateway, phone, deviceId } = await connected();
      emulator.replaceConnection(phone, deviceId);
      await gateway.waitForClose(DisconnectReason.connectionReplaced);
    });

    it('requiring a restart closes with 515, and the client comes back', async () => {
      const { gateway, phone, deviceId } = await connected();
      gateway.state = {};
      emulator.requireRestart(phone, deviceId);
      await gateway.waitForClose(DisconnectReason.restartRequired);
      await gateway.waitForOpen();
      expect(gateway.closeCodes.filter((code) => code === DisconnectReason.restartRequired)).toHaveLength(2);
    });

    it('dropping the socket closes with connectionClosed (428)', async () => {
      const { gateway, phone, deviceId } = await connected();
      emulator.dropSocket(phone, deviceId);
      await gateway.waitForClose(DisconnectReason.connectionClosed);
    });

    it('an error ack (463) marks the sent message failed', async () => {
      const { gateway, phone } = await connected();
      const peer = newPhone();
      emulator.createAccount({ phone: peer });
      emulator.failNextMessage(phone, 463);
      const sent = await gateway.socket.sendMessage(`${peer}@s.whatsapp.net`, { text: 'will bounce' });
      // Baileys reports the failure as a messages.update, or, when the ack lands while the sent message is
      // still in its event buffer, merged into that message's upsert: a consumer must read both.
      const isError = (status: unknown): boolean => status === proto.WebMessageInfo.Status.ERROR || status === 'ERROR';
      const failure = await gateway.waitFor(
        () =>
          gateway.updates.find((update) => update.key.id === sent?.key.id && isError(update.update.status))?.update ??
          gateway.upserts.flatMap((upsert) => upsert.messages).find((message) => message.key.id === sent?.key.id && isError(message.status)),
        'the error status',
      );
      expect(failure.messageStubParameters?.[0]).toBe('463');
      expect(emulator.received(peer).some((message) => message.id === sent?.key.id)).toBe(false);
    });

    it('a server that stops answering leaves queries without an answer', async () => {
      const { gateway, phone, deviceId } = await connected(500);
      emulator.stopAnsweringQueries(phone, deviceId);
      const started = Date.now();
      const answer = await gateway.socket.query({ tag: 'iq', attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] });
      expect(answer).toBeUndefined();
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      emulator.stopAnsweringQueries(phone, deviceId, false);
      expect(await gateway.socket.query({ tag: 'iq', attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] })).toMatchObject({ tag: 'iq', attrs: { type: 'result' } });
    });

    it('refuses a second concurrent socket for one device the way WhatsApp does: the newer one stays', async () => {
      const { gateway, phone, deviceId } = await connected();
      expect(emulator.liveSocketCount(phone, deviceId)).toBe(1);
      const second = client(gateway.auth);
      second.connect();
      await second.waitForOpen();
      await gateway.waitForClose(DisconnectReason.connectionReplaced);
      await gateway.waitFor(() => emulator.liveSocketCount(phone, deviceId) === 1 || undefined, 'one live socket');
      expect(emulator.liveSocketCount(phone, deviceId)).toBe(1);
      expect(second.state.connection).toBe('open');
    });
  });

  describe('groups', () => {
    it('sends to a group, receives a member message, and revokes it as admin (edit=8, participant)', async () => {
      const phone = newPhone();
      const alice = newPhone();
      const bob = newPhone();
      emulator.createAccount({ phone });
      emulator.createAccount({ phone: alice, pushName: 'Alice' });
      emulator.createAccount({ phone: bob, pushName: 'Bob' });
      const gateway = client();
      await gateway.pairByQr(phone);
      const group = emulator.createGroup({ subject: 'Support', members: [phone, alice, bob], admins: [phone] });

      const metadata = await gateway.socket.groupMetadata(group.jid);
      expect(metadata.subject).toBe('Support');
      expect(metadata.participants.filter((participant) => participant.admin !== null)).toHaveLength(1);

      // The gateway writes to the group: every member's phone decrypts the same text.
      const sent = await gateway.socket.sendMessage(group.jid, { text: 'hello group' });
      for (const member of [alice, bob]) {
        const got = await gateway.waitFor(() => emulator.received(member).find((message) => message.id === sent?.key.id), `${member} to get the group text`);
        expect(got.chat).toBe(group.jid);
        expect(got.message.extendedTextMessage?.text ?? got.message.conversation).toBe('hello group');
      }

      // A member writes to the group: the gateway gets it with the member as participant.
      const memberMessageId = await emulator.peerSendGroupText({ from: alice, group: group.jid, text: 'spam spam spam' });
      const inbound = await gateway.waitFor(
        () => gateway.upserts.flatMap((upsert) => upsert.messages).find((message) => message.key.id === memberMessageId),
        'the member message',
      );
      expect(inbound.key.remoteJid).toBe(group.jid);
      expect(inbound.message?.conversation).toBe('spam spam spam');
      const author = inbound.key.participant;
      expect(author).toBeTruthy();

      // The admin deletes the member's message for everyone.
      const revoke = await gateway.socket.sendMessage(group.jid, { delete: { remoteJid: group.jid, fromMe: false, id: memberMessageId, participant: author ?? '' } });
      for (const member of [alice, bob]) {
        const seen = await gateway.waitFor(() => emulator.received(member).find((message) => message.id === revoke?.key.id), `${member} to see the admin revoke`);
        expect(seen.edit).toBe('8');
        expect(seen.message.protocolMessage?.type).toBe(proto.Message.ProtocolMessage.Type.REVOKE);
        expect(seen.message.protocolMessage?.key?.id).toBe(memberMessageId);
        expect(seen.message.protocolMessage?.key?.participant).toBe(author);
      }
    });
  });
});
