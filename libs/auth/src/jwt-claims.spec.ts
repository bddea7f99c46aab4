import { describe, expect, it } from 'vitest';
import { principalFromClaims, tokenLifetimeProblem } from './jwt-claims.js';

const names = { org: 'org_id', role: 'role', subject: 'sub' };
const orgId = '0190f5c2-7a8b-7c3d-9e1f-2a3b4c5d6e7f';

describe('principalFromClaims', () => {
  it('maps roles to capabilities', () => {
    expect(principalFromClaims({ sub: 'u1', org_id: orgId, role: 'owner' }, names)?.capabilities).toEqual(['send', 'read', 'sessions:manage', 'webhooks:manage', 'keys:manage']);
    expect(principalFromClaims({ sub: 'u1', org_id: orgId, role: 'admin' }, names)?.capabilities).toHaveLength(5);
    expect(principalFromClaims({ sub: 'u1', org_id: orgId, role: 'member' }, names)?.capabilities).toEqual(['send', 'read']);
    expect(principalFromClaims({ sub: 'u1', org_id: orgId, role: 'viewer' }, names)).toEqual({ orgId, subject: 'u1', kind: 'user', role: 'viewer', capabilities: ['read'] });
  });

  it('reads configurable, nested claim names', () => {
    const nested = { org: 'app.tenant', role: 'app.role', subject: 'uid' };
    expect(principalFromClaims({ uid: 'u2', app: { tenant: orgId, role: 'member' } }, nested)).toMatchObject({ orgId, subject: 'u2', role: 'member' });
  });

  it.each([
    ['no org', { sub: 'u1', role: 'admin' }],
    ['an org that is not a uuid', { sub: 'u1', org_id: 'acme', role: 'admin' }],
    ['an unknown role', { sub: 'u1', org_id: orgId, role: 'root' }],
    ['a role inherited from the prototype', { sub: 'u1', org_id: orgId, role: 'constructor' }],
    ['no subject', { org_id: orgId, role: 'admin' }],
    ['an empty subject', { sub: '', org_id: orgId, role: 'admin' }],
  ])('refuses %s', (_, claims) => {
    expect(principalFromClaims(claims, names)).toBeNull();
  });
});

describe('tokenLifetimeProblem', () => {
  const now = 1_800_000_000;
  const check = (payload: Record<string, unknown>): string | null => tokenLifetimeProblem(payload, now, 86_400, 30);

  it.each([
    [{}, /no exp/],
    [{ exp: 'tomorrow' }, /no exp/],
    [{ exp: now + 60, iat: now + 31 }, /iat is in the future/],
    [{ exp: now + 60, nbf: now + 31 }, /nbf is in the future/],
    [{ exp: now + 86_401, iat: now }, /longer than 86400 s/],
    [{ exp: now + 86_401 }, /longer than 86400 s/],
    [{ exp: now + 60, iat: 'now' }, /iat is not a time/],
  ])('refuses %j', (payload, problem) => {
    expect(check(payload)).toMatch(problem);
  });

  it.each([[{ exp: now + 86_400, iat: now }], [{ exp: now + 60, iat: now + 30 }], [{ exp: now + 60, nbf: now }], [{ exp: now + 60 }]])('accepts %j', (payload) => {
    expect(check(payload)).toBeNull();
  });
});
