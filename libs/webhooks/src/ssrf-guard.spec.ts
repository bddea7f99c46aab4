import type { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { blockedReason, BlockedDestinationError, checkLiteralHost, guardedLookup, webhookUrlProblem } from './ssrf-guard.js';

/** A resolver answering from a table: no network involved. */
function fakeResolver(table: Record<string, LookupAddress[]>): typeof dnsLookup {
  return ((hostname: string, _options: unknown, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => {
    const found = table[hostname];
    if (found) callback(null, found);
    else callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), []);
  }) as unknown as typeof dnsLookup;
}

function lookupOnce(lookup: ReturnType<typeof guardedLookup>, host: string): Promise<string> {
  return new Promise((resolve, reject) => lookup(host, {}, (error, address) => (error ? reject(error) : resolve(address as string))));
}

describe('SSRF guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::127.0.0.1', 'reserved'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    // Prefixes that carry an IPv4 address inside, each written with loopback (127.0.0.1) embedded.
    ['64:ff9b::7f00:1', 'NAT64'],
    ['64:ff9b:1::7f00:1', 'NAT64'],
    ['::ffff:0:7f00:1', 'IPv4-translated'],
    ['2002:7f00:1::1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo'],
    ['::7f00:1', 'IPv4-compatible'],
    ['fec0::1', 'site-local'],
    ['100::1', 'discard'],
    ['2001:db8::1', 'reserved'],
    ['192.88.99.1', 'reserved'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(blockedReason(address)).toMatch(new RegExp(reason));
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1', '::ffff:8.8.8.8'])('allows the public address %s', (address) => {
    expect(blockedReason(address)).toBeNull();
  });

  it.each([
    ['http://2130706433/hook', '127.0.0.1 in decimal'],
    ['http://0177.0.0.1/hook', '127.0.0.1 in octal'],
    ['http://0x7f.1/hook', '127.0.0.1 in hex'],
    ['http://[::ffff:127.0.0.1]/hook', 'IPv4-mapped IPv6'],
    ['http://169.254.169.254/latest/meta-data', 'cloud metadata'],
  ])('refuses %s (%s) as a literal host', (url) => {
    expect(() => checkLiteralHost(new URL(url), { allow: [] })).toThrow(BlockedDestinationError);
  });

  it('refuses names that resolve to a blocked address, even when only one of them does', async () => {
    const lookup = guardedLookup({ allow: [] }, fakeResolver({
      'internal.example': [{ address: '10.0.0.5', family: 4 }],
      'rebind.example': [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }],
      'public.example': [{ address: '93.184.216.34', family: 4 }],
    }));
    await expect(lookupOnce(lookup, 'internal.example')).rejects.toThrow(/private/);
    await expect(lookupOnce(lookup, 'rebind.example')).rejects.toThrow(/loopback/);
    await expect(lookupOnce(lookup, 'public.example')).resolves.toBe('93.184.216.34');
  });

  it('lets an explicit allow-list through (local development and tests)', async () => {
    const lookup = guardedLookup({ allow: ['localhost'] }, fakeResolver({ localhost: [{ address: '127.0.0.1', family: 4 }] }));
    await expect(lookupOnce(lookup, 'localhost')).resolves.toBe('127.0.0.1');
    expect(() => checkLiteralHost(new URL('http://127.0.0.1:9/'), { allow: ['127.0.0.1'] })).not.toThrow();
  });

  it('matches the allow-list against the host as written, not the address it resolves to', async () => {
    const lookup = guardedLookup({ allow: ['127.0.0.1'] }, fakeResolver({ localhost: [{ address: '127.0.0.1', family: 4 }] }));
    await expect(lookupOnce(lookup, 'localhost')).rejects.toThrow(/loopback/);
  });

  it('checks URLs on write: http(s) only, no credentials', () => {
    expect(webhookUrlProblem('https://hooks.example.com/x')).toBeNull();
    expect(webhookUrlProblem('ftp://example.com/')).toMatch(/http/);
    expect(webhookUrlProblem('file:///etc/passwd')).toMatch(/http/);
    expect(webhookUrlProblem('https://user:pw@example.com/')).toMatch(/credentials/);
    expect(webhookUrlProblem('not a url')).toMatch(/not a URL/);
  });
});
