import { describe, expect, it } from 'vitest';
import { principalFromClaims } from './jwt-claims.js';

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
