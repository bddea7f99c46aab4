import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestTenant } from '@wagw/testing';
import { E2eSystem } from './harness.js';

const REFUSED = /^linked with (.+), but this worker connects to (.+): run it on a worker configured for that endpoint, or log it out and link it again$/;

// A device linked with the demo's emulator must never be started against WhatsApp, nor the reverse: its
// keys would be offered to a server that does not know them (and a real login to a test server).
describe('a session runs only against the WhatsApp endpoint it was linked with', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const phone = '15557100001';
  let tenant: TestTenant;
  let sessionId: string;

  beforeAll(async () => {
    await system.start();
    system.emulator.createAccount({ phone });
    tenant = await system.tenant();
    sessionId = await system.connectedSession(tenant, phone);
  }, 60_000);

  afterAll(async () => {
    await system.stop();
  });

  const row = () => system.db.whatsAppSession.findUniqueOrThrow({ where: { id: sessionId } });
  const statusEvents = () => system.db.domainEvent.count({ where: { type: 'session.status' } });

  it('records the endpoint when the device is linked', async () => {
    expect((await row()).linkedEndpoint).toBe(`${system.emulator.url} (certificate root ${system.emulator.rootPublicKey.toString('hex').slice(0, 16)})`);
  });

  it('an emulator-linked session is not started by a worker that connects to WhatsApp: it stops and says why', async () => {
    await system.stopApp(system.workers.get('worker-a')!);
    const eventsBefore = await statusEvents();
    const worker = await system.startWorker('worker-whatsapp', 'whatsapp');
    const stopped = await system.waitFor(async () => {
      const current = await row();
      return current.status === 'stopped' && current.lastError ? current : undefined;
    }, 'the session refused');
    const [, linked, here] = REFUSED.exec(stopped.lastError ?? '') ?? [];
    expect(linked).toContain(system.emulator.url);
    expect(here).toBe('WhatsApp');
    expect(stopped.shouldRun).toBe(false);
    // Nothing is lost: the login stays, so the right worker can still run it.
    expect(await system.db.authCreds.count({ where: { sessionId } })).toBe(1);
    expect(await statusEvents()).toBe(eventsBefore + 1);
    const view = await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey });
    expect(view.body).toMatchObject({ status: 'stopped', lastError: stopped.lastError });
    expect(worker.output()).toContain('refusing to start a session linked with another WhatsApp endpoint');
    expect(worker.output()).not.toContain('whatsapp connection closed');
    await system.stopApp(worker);
  });

  it('a WhatsApp-linked session is not started against the emulator: no socket reaches it', async () => {
    await system.db.whatsAppSession.update({ where: { id: sessionId }, data: { linkedEndpoint: 'WhatsApp', shouldRun: true, status: 'disconnected', lastError: null } });
    const [device] = system.emulator.linkedDevices(phone);
    await system.startWorker('worker-emulator');
    const stopped = await system.waitFor(async () => {
      const current = await row();
      return current.status === 'stopped' && current.lastError ? current : undefined;
    }, 'the session refused');
    const [, linked, here] = REFUSED.exec(stopped.lastError ?? '') ?? [];
    expect(linked).toBe('WhatsApp');
    expect(here).toContain(system.emulator.url);
    expect(system.emulator.liveSocketCount(phone, device!.deviceId)).toBe(0);
  });

  it('logging it out forgets the endpoint, and it can be linked again here', async () => {
    const loggedOut = await system.api(`/api/v1/sessions/${sessionId}/logout`, { method: 'POST', token: tenant.apiKey });
    expect(loggedOut.body).toMatchObject({ status: 'logged_out' });
    expect((await row()).linkedEndpoint).toBeNull();
    await system.api(`/api/v1/sessions/${sessionId}/start`, { method: 'POST', token: tenant.apiKey });
    const qr = await system.waitFor(async () => {
      const response = await system.api(`/api/v1/sessions/${sessionId}/qr`, { token: tenant.apiKey });
      return response.status === 200 ? (response.body['qr'] as string) : undefined;
    }, 'a new QR code');
    await system.emulator.scanQr(qr, phone);
    await system.waitFor(async () => (await row()).status === 'connected' || undefined, 'connected again');
    expect((await row()).linkedEndpoint).toContain(system.emulator.url);
  });
});
