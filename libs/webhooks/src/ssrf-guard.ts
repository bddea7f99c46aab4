import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Why each non-public range of ipaddr.js (which keeps the IANA special-purpose registries) is refused.
 * Anything ipaddr.js does not call `unicast` is refused, named here or not: a range it adds later is
 * refused before anyone writes its name down.
 */
const RANGE_REASONS: Record<string, string> = {
  unspecified: 'reserved ("this network", unspecified)',
  broadcast: 'reserved (broadcast)',
  multicast: 'multicast',
  linkLocal: 'link-local (cloud metadata)',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private (RFC 1918)',
  reserved: 'reserved',
  as112: 'reserved (AS112)',
  amt: 'reserved (AMT)',
  uniqueLocal: 'unique local (private)',
  deprecatedSiteLocal: 'site-local (private)',
  discard: 'reserved (discard)',
  benchmarking: 'reserved (benchmarking)',
  as112v6: 'reserved (AS112)',
  deprecatedOrchid: 'reserved (ORCHID)',
  orchid2: 'reserved (ORCHID)',
  droneRemoteIdProtocolEntityTags: 'reserved (DRIP)',
  segmentRouting: 'reserved (segment routing)',
  // Translation and tunnelling prefixes carry an IPv4 address inside, which can be a private one.
  rfc6052: 'NAT64 (reaches an IPv4 address inside)',
  rfc6145: 'IPv4-translated (reaches an IPv4 address inside)',
  '6to4': '6to4 (reaches an IPv4 address inside)',
  teredo: 'Teredo (reaches an IPv4 address inside)',
};

/** What ipaddr.js leaves out: the deprecated IPv4-compatible `::a.b.c.d` (RFC 4291), which reaches IPv4 too. */
const IPV4_COMPATIBLE = ipaddr.IPv6.parse('::');

/** Why an address must not be connected to, or null when it is a public unicast address. */
export function blockedReason(address: string): string | null {
  if (!ipaddr.isValid(address) || isIP(address) === 0) return 'not an IP address';
  // The URL parser's canonical IPv6 (`::127.0.0.1` → `::7f00:1`): ipaddr.js reads a dotted tail as
  // IPv4-mapped whatever precedes it.
  // A zone (`fe80::1%eth0`) only says which interface; the address decides.
  const canonical = isIP(address) === 6 ? new URL(`http://[${address.split('%')[0] ?? ''}]/`).hostname.slice(1, -1) : address;
  const parsed = ipaddr.parse(canonical);
  if (parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress()) {
    // `::ffff:a.b.c.d` is how a dual-stack socket writes an IPv4 peer: it goes where the IPv4 inside goes.
    return blockedReason(parsed.toIPv4Address().toString());
  }
  const range = parsed.range();
  if (range !== 'unicast') return RANGE_REASONS[range] ?? `reserved (${range})`;
  if (parsed instanceof ipaddr.IPv6 && parsed.match(IPV4_COMPATIBLE, 96)) return 'reserved (IPv4-compatible, reaches an IPv4 address inside)';
  return null;
}

export class BlockedDestinationError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`refused to connect to ${host} (${address}): ${reason}`);
    this.name = 'BlockedDestinationError';
  }
}

export interface DestinationPolicy {
  /**
   * Hosts allowed even though private (local development and tests), matched against the URL's host as
   * written: allowing `127.0.0.1` does not let `localhost`, or a name that resolves to 127.0.0.1, through.
   */
  allow: readonly string[];
}

/** What a webhook URL must be before we store it: http(s), no credentials, a host. */
export function webhookUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.username || url.password) return 'credentials in the URL are not allowed (use the signature to authenticate)';
  if (!url.hostname) return 'the URL has no host';
  return null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request that resolves the host and refuses private, loopback, link-local and
 * other non-public addresses, so the address actually connected to is the one checked (no DNS
 * rebinding between a check and the connect). IP literals never reach a lookup: check them with
 * `checkLiteralHost` first.
 */
export function guardedLookup(policy: DestinationPolicy, resolve: typeof dnsLookup = dnsLookup) {
  return (hostname: string, options: { all?: boolean; family?: number | 'IPv4' | 'IPv6' }, callback: LookupCallback): void => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    resolve(hostname, { all: true, family }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      const allowed = policy.allow.includes(hostname);
      for (const { address } of list) {
        const reason = blockedReason(address);
        if (reason && !allowed) return callback(new BlockedDestinationError(hostname, address, reason), []);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}

/** For URLs whose host is an IP literal (decimal and octal forms arrive normalised by the URL parser). */
export function checkLiteralHost(url: URL, policy: DestinationPolicy): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) return;
  const reason = blockedReason(host);
  if (reason && !policy.allow.includes(host)) throw new BlockedDestinationError(host, host, reason);
}
