import { describe, expect, it } from 'vitest';
import { apiGatewayEnvSchema, sessionWorkerEnvSchema } from './env-schemas.js';
import { ConfigError, loadConfig } from './load-config.js';

const valid = { DATABASE_URL: 'postgresql://u:secret-pw@db:5432/gw', REDIS_URL: 'redis://redis:6379' };

describe('loadConfig', () => {
  it('applies defaults', () => {
    const env = loadConfig(apiGatewayEnvSchema, valid);
    expect(env).toMatchObject({ PORT: 3000, COMMAND_TIMEOUT_MS: 10_000, AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'], AUTH_CLAIM_ORG: 'org_id' });
    expect(env.AUTH_JWKS_URL).toBeUndefined();
  });

  it('names every missing variable', () => {
    expect(() => loadConfig(sessionWorkerEnvSchema, {})).toThrow(/DATABASE_URL is required.*REDIS_URL is required/);
  });

  it('treats a blank value as missing', () => {
    expect(() => loadConfig(apiGatewayEnvSchema, { ...valid, DATABASE_URL: '' })).toThrow(/DATABASE_URL is required/);
  });

  it('names a wrong value without echoing it (it may hold a password)', () => {
    let error: unknown;
    try {
      loadConfig(apiGatewayEnvSchema, { ...valid, DATABASE_URL: 'mysql://u:hunter2@db/gw', PORT: '99999' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/DATABASE_URL must be a URL/);
    expect(message).toMatch(/PORT/);
    expect(message).not.toContain('hunter2');
  });

  it('refuses an unknown JWT algorithm (no "none", no HS256)', () => {
    expect(() => loadConfig(apiGatewayEnvSchema, { ...valid, AUTH_JWT_ALGORITHMS: 'RS256,none' })).toThrow(/AUTH_JWT_ALGORITHMS/);
    expect(() => loadConfig(apiGatewayEnvSchema, { ...valid, AUTH_JWT_ALGORITHMS: 'HS256' })).toThrow(/AUTH_JWT_ALGORITHMS/);
  });

  it('lets a session worker trust an emulator root key only together with its websocket URL', () => {
    expect(() => loadConfig(sessionWorkerEnvSchema, { ...valid, WA_TRUST_ROOT_KEY: 'ab'.repeat(32) })).toThrow(/WA_TRUST_ROOT_KEY is only honoured together with WA_WEBSOCKET_URL/);
    expect(() => loadConfig(sessionWorkerEnvSchema, { ...valid, WA_WEBSOCKET_URL: 'http://x', WA_TRUST_ROOT_KEY: 'ab'.repeat(32) })).toThrow(/WA_WEBSOCKET_URL/);
    expect(loadConfig(sessionWorkerEnvSchema, { ...valid, WA_WEBSOCKET_URL: 'ws://127.0.0.1:3020/ws/chat', WA_TRUST_ROOT_KEY: 'ab'.repeat(32) })).toMatchObject({
      WA_WEBSOCKET_URL: 'ws://127.0.0.1:3020/ws/chat',
    });
  });
});
