import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CAPABILITIES } from '@wagw/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTenant, launchChromium, seriousAccessibilityViolations, startTestJwks, unreachableByKeyboard, WebhookSink, type TestJwks, type TestTenant } from '@wagw/testing';
import { E2eSystem } from './harness.js';

// jsqr is CommonJS with a default export: under Node's ESM loading, the module object is the function.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;
const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
/** Where the pages' screenshots go: `.data/screenshots`, or docs/screenshots when refreshing the README's. */
const SCREENSHOTS = resolve(REPO_ROOT, process.env['WAGW_SCREENSHOTS_DIR'] ?? join('.data', 'screenshots'));

/** The QR as a person's phone would read it: decoded from the pixels of the rendered image. */
async function qrFromScreen(page: Page): Promise<string> {
  const image = PNG.sync.read(await page.getByTestId('qr').screenshot());
  const decoded = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height);
  if (!decoded) throw new Error('no QR code could be read from the rendered image');
  return decoded.data;
}

/**
 * The dashboard in real headless Chromium against the whole system (gateway, worker, dispatcher, the
 * emulator's phones): everything done by clicking and typing, checked where it lands.
 */
describe('the web dashboard, in a real browser', { timeout: 180_000 }, () => {
  const system = new E2eSystem();
  const sink = new WebhookSink();
  const phone = '15555000001';
  const friend = '15555000002';
  let tenant: TestTenant;
  let jwks: TestJwks;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const cspViolations: string[] = [];
  let sinkFailing = false;
  let revokeOutboxId = '';

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
    jwks = await startTestJwks();
    await Promise.all([system.start({ gatewayEnv: { AUTH_JWKS_URL: jwks.url, AUTH_JWT_ISSUER: jwks.issuer, AUTH_JWT_AUDIENCE: jwks.audience } }), sink.start()]);
    sink.answer = () => ({ status: sinkFailing ? 500 : 200 });
    system.emulator.createAccount({ phone, pushName: 'Support desk' });
    system.emulator.createAccount({ phone: friend, pushName: 'Friend' });
    tenant = await createTestTenant(system.db, jwks);
    base = `http://127.0.0.1:${system.gateway.port}`;
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await sink.stop();
    await system.stop();
    await jwks?.close();
  });

  async function checkPage(name: string, on: Page = page): Promise<void> {
    const violations = await seriousAccessibilityViolations(on);
    expect(violations.map((violation) => `${violation.id}: ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`), `${name}: axe`).toEqual([]);
    expect(await unreachableByKeyboard(on), `${name}: keyboard`).toEqual([]);
    await on.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  const status = async (token: string): Promise<number> => (await fetch(`${base}/api/v1/org`, { headers: { authorization: `Bearer ${token}` } })).status;

  it('signs in with the one-time link: the key leaves the address bar, is exchanged for the tab\'s own, and the link works no more', async () => {
    const link = await tenant.createApiKey(CAPABILITIES);
    const signInLink = `${base}/dashboard/#key=${encodeURIComponent(link.key)}`;
    await page.goto(signInLink);
    await expect.poll(() => page.url()).toBe(`${base}/dashboard/#/sessions`);
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    expect(page.url()).not.toContain(link.key);
    const tabKey = await page.evaluate(() => sessionStorage.getItem('wagw.token'));
    expect(tabKey).toMatch(/^wagw_/);
    expect(tabKey).not.toBe(link.key);
    await expect.poll(() => status(link.key)).toBe(401);
    expect(await status(tabKey ?? '')).toBe(200);

    // The same link again, in another tab: it signs nobody in.
    const again = await context.newPage();
    await again.goto(signInLink);
    await again.getByText('Your sign-in is no longer valid').waitFor();
    await checkPage('sign-in', again);
    await again.close();
    const response = await page.request.get(`${base}/dashboard/`);
    expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers()['content-security-policy']).not.toContain('unsafe-inline');
  });

  it('registers a webhook endpoint from the page', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('URL (https)').fill(sink.url('/hook'));
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await expect.poll(async () => (await page.getByTestId('secret').textContent()) ?? '').toMatch(/^whsec_/);
    await page.getByRole('link', { name: sink.url('/hook') }).waitFor();
    await checkPage('webhooks');

    // Edit its events, rotate its secret (shown once), and put the events back.
    await page.getByRole('link', { name: sink.url('/hook') }).click();
    await page.getByRole('checkbox', { name: 'session.status' }).uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    const endpointId = page.url().split('/').pop() ?? '';
    await expect.poll(async () => (await system.api(`/api/v1/webhooks/${endpointId}`, { token: tenant.apiKey })).body['events']).toEqual(['message.revoked', 'message.received', 'message.ack', 'message.reaction', 'message.edited']);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('button', { name: 'Yes, rotate secret' }).click();
    await expect.poll(async () => (await page.getByTestId('secret').textContent()) ?? '').toMatch(/^whsec_/);
    await page.getByRole('checkbox', { name: 'session.status' }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => ((await system.api(`/api/v1/webhooks/${endpointId}`, { token: tenant.apiKey })).body['events'] as string[]).length).toBe(6);
  });

  it('creates a session and links it by scanning the QR drawn on the page; connected shows without a reload', async () => {
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByLabel('New session').fill('support');
    await page.getByRole('button', { name: 'Create and link' }).click();
    await page.getByTestId('qr').waitFor({ timeout: 30_000 });
    await checkPage('link-by-qr');
    const qr = await qrFromScreen(page);
    await system.emulator.scanQr(qr, phone);
    await expect.poll(async () => page.getByTestId('session-status').textContent(), { timeout: 30_000 }).toBe('connected');
    await expect.poll(() => page.getByTestId('qr').count()).toBe(0);
  });

  it('links a second session by pairing code, and the list shows both with their status live', async () => {
    const secondPhone = '15555000003';
    system.emulator.createAccount({ phone: secondPhone, pushName: 'Sales desk' });
    await page.getByRole('link', { name: '← Sessions' }).click();
    await page.getByLabel('New session').fill('sales');
    await page.getByRole('button', { name: 'Create and link' }).click();
    await page.getByLabel(/Or link with a code/).fill(secondPhone);
    await page.getByRole('button', { name: 'Get a pairing code' }).click();
    const code = ((await page.locator('.pairing-code').textContent({ timeout: 30_000 })) ?? '').trim();
    expect(code).toMatch(/^[A-Z0-9]{4}-?[A-Z0-9]{4}$/);
    await system.emulator.enterPairingCode(secondPhone, code);
    await expect.poll(async () => page.getByTestId('session-status').textContent(), { timeout: 30_000 }).toBe('connected');
    await page.getByRole('link', { name: '← Sessions' }).click();
    for (const name of ['support', 'sales']) await expect.poll(async () => page.locator('tr', { has: page.getByRole('link', { name }) }).locator('.badge').textContent()).toBe('connected');
    await checkPage('sessions');
    await page.getByRole('link', { name: 'support' }).click();
    await page.getByTestId('session-status').waitFor();
  });

  it('sends a text from the page, the friend decrypts it; revokes it from the page, the friend gets the REVOKE', async () => {
    await page.getByLabel('To (phone number or JID)').fill(friend);
    await page.getByLabel('Message').fill('Your ticket #42 is resolved');
    await page.getByRole('button', { name: 'Send' }).click();
    const sent = page.getByTestId('send-result');
    await sent.waitFor();
    const messageId = (await sent.locator('dt:text-is("waMessageId") + dd').textContent())?.trim() ?? '';
    expect(messageId).not.toBe('');
    await system.waitFor(async () => system.emulator.received(friend).find((message) => message.id === messageId), 'the friend to decrypt the text');

    const row = page.locator(`tr[data-message="${messageId}"]`);
    await row.waitFor();
    // The friend's phone reads it: the row follows the receipt over the event stream.
    system.emulator.peerReceipt({ from: friend, to: phone, messageIds: [messageId], type: 'read' });
    await expect.poll(() => row.getByTestId('message-ack').textContent()).toBe('read');
    await checkPage('session');
    await row.getByRole('button', { name: /Revoke for everyone/ }).click();
    const revoked = page.getByTestId('send-result').filter({ hasText: 'Revoked for everyone' });
    await revoked.waitFor();
    const revokeId = (await revoked.locator('dt:text-is("waMessageId") + dd').textContent())?.trim() ?? '';
    expect(await revoked.locator('dt:text-is("status") + dd').textContent()).toBe('sent');
    revokeOutboxId = (await revoked.locator('dt:text-is("outboxId") + dd').textContent())?.trim() ?? '';
    await system.waitFor(async () => system.emulator.received(friend).find((message) => message.id === revokeId), 'the friend to get the REVOKE');
    await expect.poll(() => row.textContent()).toContain('revoked');
  });

  it("shows a friend's document as it arrives, and downloads it from the page byte for byte under its file name", async () => {
    const pdf = Buffer.from('%PDF-1.4\n% ticket attachment\n'.repeat(40));
    const sent = await system.emulator.peerSendMedia({ from: friend, to: phone, kind: 'document', bytes: pdf, mimetype: 'application/pdf', fileName: 'ticket-42.pdf', caption: 'the log you asked for' });
    const row = page.locator(`tr[data-message="${sent.id}"]`);
    await row.waitFor({ timeout: 20_000 });
    await expect.poll(() => row.getByTestId('message-attachment').textContent()).toContain('ticket-42.pdf');
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download ticket-42.pdf' }).click()]);
    expect(download.suggestedFilename()).toBe('ticket-42.pdf');
    const path = await download.path();
    expect(readFileSync(path).equals(pdf)).toBe(true);
  });

  it("shows the message.revoked delivery delivered, and replays a failed delivery from the page", async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('link', { name: sink.url('/hook') }).click();
    const revokedDelivery = page.locator('tr[data-event="message.revoked"]');
    await expect.poll(async () => revokedDelivery.locator('.badge').textContent(), { timeout: 20_000 }).toBe('delivered');
    expect(sink.hits('/hook').some((hit) => JSON.parse(hit.body).event === 'message.revoked')).toBe(true);

    sinkFailing = true;
    await page.getByRole('button', { name: 'Send a test ping' }).click();
    const ping = page.locator('tr[data-event="webhook.test"]');
    await expect.poll(async () => ping.locator('.badge').textContent(), { timeout: 20_000 }).toBe('exhausted');
    await checkPage('deliveries');
    sinkFailing = false;
    const hitsBefore = sink.hits('/hook').length;
    await ping.getByRole('button', { name: /Replay/ }).click();
    await expect.poll(async () => ping.locator('.badge').textContent(), { timeout: 20_000 }).toBe('delivered');
    expect(sink.hits('/hook').length).toBeGreaterThan(hitsBefore);
  });

  it('creates an API key that works against the API, shown once only', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Name').fill('reporting');
    await page.getByRole('checkbox', { name: 'send' }).uncheck();
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = ((await page.getByTestId('secret').textContent()) ?? '').trim();
    expect(key).toMatch(/^wagw_/);
    const org = await fetch(`${base}/api/v1/org`, { headers: { authorization: `Bearer ${key}` } });
    expect(org.status).toBe(200);
    expect(((await org.json()) as { caller: { capabilities: string[] } }).caller.capabilities).toEqual(['read']);
    const send = await fetch(`${base}/api/v1/sessions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"name":"x"}' });
    expect(send.status).toBe(403);
    await page.getByRole('cell', { name: 'reporting' }).waitFor();
    await checkPage('api-keys');
    await page.reload();
    await page.getByRole('cell', { name: 'reporting' }).waitFor();
    expect(await page.getByTestId('secret').count()).toBe(0);
    expect(await page.content()).not.toContain(key);
  });

  it('the audit log, usage and operation pages show what happened', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'message.revoke' }).first().waitFor();
    await checkPage('audit-log');
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: /Usage/ }).waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await checkPage('usage');
    await page.getByRole('link', { name: 'Operations' }).click();
    await page.getByLabel('outboxId').fill(revokeOutboxId);
    await page.getByRole('button', { name: 'Look up' }).click();
    const found = page.getByRole('status');
    await expect.poll(async () => found.locator('dt:text-is("Kind") + dd').textContent()).toBe('revoke');
    expect(await found.locator('dt:text-is("Status") + dd').textContent()).toBe('sent');
    await checkPage('operations');
  });

  it('a key without a capability sees its actions hidden; a revoked key returns to sign-in', async () => {
    const reader = await tenant.createApiKey(['read']);
    const readerPage = await context.newPage();
    await readerPage.goto(`${base}/dashboard/#key=${encodeURIComponent(reader.key)}`);
    await readerPage.getByRole('heading', { name: 'Sessions' }).waitFor();
    await readerPage.getByRole('link', { name: 'support' }).waitFor();
    expect(await readerPage.getByRole('link', { name: 'API keys' }).count()).toBe(0);
    expect(await readerPage.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    expect(await readerPage.getByLabel('New session').count()).toBe(0);
    expect(await readerPage.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await system.api(`/api/v1/org/api-keys/${reader.id}`, { method: 'DELETE', token: tenant.apiKey });
    await new Promise((wait) => setTimeout(wait, 1_100));
    await readerPage.getByRole('link', { name: 'support' }).click();
    await readerPage.getByText('Your sign-in is no longer valid').waitFor();
    await readerPage.close();
  });

  it('starts, stops, logs out and deletes a session from its buttons, each destructive one confirmed', async () => {
    await page.getByRole('link', { name: 'Sessions' }).click();
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'sales' }) });
    const badge = row.locator('.badge');
    await row.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => badge.textContent(), { timeout: 20_000 }).toBe('stopped');
    await row.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => badge.textContent(), { timeout: 30_000 }).toBe('connected');
    await row.getByRole('button', { name: 'Log out' }).click();
    await row.getByRole('button', { name: 'Cancel' }).click();
    expect(await badge.textContent()).toBe('connected');
    await row.getByRole('button', { name: 'Log out' }).click();
    await row.getByRole('button', { name: 'Yes, log out' }).click();
    await expect.poll(() => badge.textContent(), { timeout: 20_000 }).toBe('logged_out');
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'sales' }).count(), { timeout: 20_000 }).toBe(0);
    await page.getByRole('link', { name: 'support' }).waitFor();
  });

  it('signs in with a login JWT: a member sends, and sees no key or webhook management', async () => {
    const memberPage = await context.newPage();
    await memberPage.goto(`${base}/dashboard/`);
    await memberPage.getByLabel('API key or login JWT').fill(await tenant.loginJwt('member'));
    await memberPage.getByRole('button', { name: 'Sign in' }).click();
    await memberPage.getByRole('link', { name: 'support' }).click();
    await memberPage.getByLabel('Message').waitFor();
    expect(await memberPage.getByRole('link', { name: 'API keys' }).count()).toBe(0);
    expect(await memberPage.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    expect(await memberPage.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    await memberPage.getByLabel('To (phone number or JID)').fill(friend);
    await memberPage.getByLabel('Message').fill('from a member');
    await memberPage.getByRole('button', { name: 'Send' }).click();
    const sent = memberPage.getByTestId('send-result');
    const messageId = ((await sent.locator('dt:text-is("waMessageId") + dd').textContent()) ?? '').trim();
    await system.waitFor(async () => system.emulator.received(friend).find((message) => message.id === messageId), 'the friend to decrypt the member\'s text');
    await memberPage.close();
  });

  it("signing out revokes the tab's own key", async () => {
    const tabKey = (await page.evaluate(() => sessionStorage.getItem('wagw.token'))) ?? '';
    expect(await status(tabKey)).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key or login JWT').waitFor();
    await expect.poll(() => status(tabKey), { timeout: 5_000 }).toBe(401);
  });

  it('loaded nothing the CSP refused', () => {
    expect(cspViolations).toEqual([]);
  });
});
