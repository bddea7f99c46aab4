import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, signWebhook, verifyWebhook } from './standard-webhooks.js';

describe('Standard Webhooks signatures', () => {
  it('reproduces the specification’s test vector', () => {
    const headers = signWebhook({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    });
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('is accepted by an independent verifier (the standardwebhooks package)', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ event: 'message.revoked', data: { id: 'e1' } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = signWebhook({ id: 'e1', timestamp, body, secrets: [secret] });
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, { ...headers })).toThrow();
  });

  it('signs with both secrets during a rotation, and either verifies', () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const body = '{}';
    const headers = signWebhook({ id: 'e2', timestamp: Math.floor(Date.now() / 1000), body, secrets: [newSecret, oldSecret] });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verifyWebhook({ headers, body, secret: oldSecret })).toBe(true);
    expect(verifyWebhook({ headers, body, secret: newSecret })).toBe(true);
    expect(verifyWebhook({ headers, body, secret: generateWebhookSecret() })).toBe(false);
    expect(new Webhook(oldSecret).verify(body, { ...headers })).toEqual({});
  });

  it('refuses stale timestamps and malformed secrets', () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook({ id: 'e3', timestamp: 1_000_000, body: '{}', secrets: [secret] });
    expect(verifyWebhook({ headers, body: '{}', secret })).toBe(false);
    expect(() => signWebhook({ id: 'x', timestamp: 1, body: '', secrets: ['not-a-secret'] })).toThrow(/whsec_/);
    expect(generateWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
  });
});
