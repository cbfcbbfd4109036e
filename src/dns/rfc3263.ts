/**
 * Locating SIP servers (RFC 3263 §4): from a sip: URI to the ordered list of addresses, transports and
 * ports to try. An IP literal is used as written; a name with a port or a `;transport=` skips the
 * steps those settle; otherwise NAPTR picks the transports (SIP+D2U, SIP+D2T), SRV the hosts and ports
 * (RFC 2782: lowest priority first, weighted random within a priority) and A/AAAA the addresses.
 * `maddr` replaces the host (RFC 3261 §19.1.1). A `sips:` URI is located over TLS only (SIPS+D2T,
 * `_sips._tcp`, port 5061); a `sip:` one over UDP, TCP or TLS as the records say.
 *
 * An SRV set's hosts are asked for their A/AAAA records side by side, and a lookup asks each name
 * once, however many SRV records name it: an SRV set costs one round of queries, not one per host.
 *
 * node:dns gives no TTL for NAPTR and SRV records, so an answer lives as long as the shortest of its
 * A/AAAA records, bounded by the caller's floor and ceiling.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { hostAddress } from '../../machines/ip-literal.ts';
import { uriHostPort, uriParams, uriScheme } from '../../machines/sip-syntax.ts';
import type { SipEndpoint, Transport } from '../shared/messages.ts';

/** The queries RFC 3263 needs, as node:dns's promise Resolver answers them. */
export interface DnsQueries {
  resolveNaptr(name: string): Promise<NaptrRecord[]>;
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4(name: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
  resolve6(name: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
  /**
   * The system's own lookup (getaddrinfo: /etc/hosts, then DNS), asked when DNS has no A/AAAA record,
   * so a name only the hosts file knows (a container's extra host) still resolves. Its answers carry no
   * TTL: they are asked again at the locator's floor.
   */
  lookup?(name: string): Promise<{ address: string }[]>;
}

interface NaptrRecord {
  flags: string;
  service: string;
  replacement: string;
  order: number;
  preference: number;
}

interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export type Located =
  | {
      ok: true;
      /** Where to send, in the order to try them; hosts are IP addresses. */
      targets: SipEndpoint[];
      /** How long the answer may be used, in seconds (Infinity for an IP literal). */
      ttlSeconds: number;
    }
  | {
      ok: false;
      /** 404 when the name has no usable record, 503 when DNS could not answer (RFC 3263 §4.3). */
      status: 404 | 503;
      reason: string;
    };

const SERVICES: Record<string, Transport> = { 'SIP+D2U': 'udp', 'SIP+D2T': 'tcp', 'SIPS+D2T': 'tls' };
/** Without NAPTR records, SRV is tried for the transports we support, in this order (RFC 3263 §4.1). */
const TRANSPORTS: Transport[] = ['udp', 'tcp', 'tls'];
const SRV_PREFIX: Record<Transport, string> = { udp: '_sip._udp', tcp: '_sip._tcp', tls: '_sips._tcp' };

function defaultPort(transport: Transport): number {
  return transport === 'tls' ? 5061 : 5060;
}

/** Answers that mean "no such record", as opposed to "DNS did not answer". */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NOTFOUND', 'NODATA', 'ENOTIMP']);

class DnsFailure extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function absent(error: unknown): boolean {
  return ABSENT.has((error as { code?: string }).code ?? '');
}

/** The records of a query, [] when the name has none; throws DnsFailure when DNS could not answer. */
async function records<T>(query: () => Promise<T[]>): Promise<T[]> {
  try {
    return await query();
  } catch (error) {
    if (absent(error)) return [];
    throw new DnsFailure((error as { code?: string }).code ?? String(error));
  }
}

/** RFC 2782: by priority, and within one priority a weighted random order (weight 0 rarely first). */
export function orderSrv(list: SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const record of list)
    byPriority.set(record.priority, [...(byPriority.get(record.priority) ?? []), record]);
  const ordered: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero-weight records first in the running sum, as RFC 2782 says, so they get a small chance.
    const left = [...byPriority.get(priority)!].sort((a, b) => a.weight - b.weight);
    while (left.length > 0) {
      const total = left.reduce((sum, record) => sum + record.weight, 0);
      const pick = random() * (total + 1);
      let running = 0;
      let index = left.findIndex((record) => {
        running += record.weight;
        return running >= pick;
      });
      if (index < 0) index = left.length - 1;
      ordered.push(left.splice(index, 1)[0]!);
    }
  }
  return ordered;
}

interface Addresses {
  addresses: string[];
  ttl: number;
}

/**
 * The queries of one lookup: A/AAAA of each name asked once, however many SRV records (of however many
 * transports) name it. Names are compared without regard to case, as DNS compares them.
 */
interface Lookup {
  dns: DnsQueries;
  random: () => number;
  addresses: Map<string, Promise<Addresses>>;
}

function addressesOnce(lookup: Lookup, name: string): Promise<Addresses> {
  const key = name.toLowerCase();
  let found = lookup.addresses.get(key);
  if (!found) {
    found = addressesOf(lookup.dns, name);
    lookup.addresses.set(key, found);
  }
  return found;
}

/** A and AAAA of a name, IPv4 first; the shortest TTL. */
async function addressesOf(dns: DnsQueries, name: string): Promise<Addresses> {
  const [v4, v6] = await Promise.all([
    records(() => dns.resolve4(name, { ttl: true })),
    records(() => dns.resolve6(name, { ttl: true })),
  ]);
  const all = [...v4, ...v6];
  if (all.length === 0 && dns.lookup) {
    const local = await records(() => dns.lookup!(name));
    return { addresses: local.map((record) => record.address), ttl: 0 };
  }
  return { addresses: all.map((record) => record.address), ttl: Math.min(...all.map((r) => r.ttl)) };
}

/** The SRV set's hosts in SRV order; their A/AAAA queries run side by side. */
async function srvTargets(
  lookup: Lookup,
  name: string,
  transport: Transport,
): Promise<{ targets: SipEndpoint[]; ttl: number; found: boolean }> {
  const srv = (await records(() => lookup.dns.resolveSrv(name))).filter((record) => record.name !== '.');
  if (srv.length === 0) return { targets: [], ttl: Infinity, found: false };
  const ordered = orderSrv(srv, lookup.random);
  // A target whose lookup fails is skipped, as one that does not answer would be (RFC 2782): the set
  // fails only when no target resolved.
  const answers = await Promise.allSettled(ordered.map((record) => addressesOnce(lookup, record.name)));
  const targets: SipEndpoint[] = [];
  let ttl = Infinity;
  ordered.forEach((record, index) => {
    const answer = answers[index]!;
    if (answer.status === 'rejected') return;
    ttl = Math.min(ttl, answer.value.ttl);
    for (const host of answer.value.addresses) targets.push({ transport, host, port: record.port });
  });
  const failed = answers.find((answer) => answer.status === 'rejected');
  if (targets.length === 0 && failed) throw failed.reason;
  return { targets, ttl, found: true };
}

function addressTargets(found: Addresses, transport: Transport, port: number): SipEndpoint[] {
  return found.addresses.map((host) => ({ transport, host, port }));
}

/** Where requests for `uri` go, per RFC 3263 §4, using `dns`. Never throws. */
export async function locate(
  uri: string,
  dns: DnsQueries,
  random: () => number = Math.random,
): Promise<Located> {
  const scheme = uriScheme(uri);
  const hostPort = uriHostPort(uri);
  if ((scheme !== 'sip' && scheme !== 'sips') || !hostPort) {
    return { ok: false, status: 404, reason: `${uri} is not a sip: URI with a host` };
  }
  const params = uriParams(uri);
  let named = params.transport?.toLowerCase();
  if (named !== undefined && named !== 'udp' && named !== 'tcp' && named !== 'tls') {
    return { ok: false, status: 503, reason: `${uri}: transport ${named} is not supported` };
  }
  // RFC 3261 §26.2.2: a sips: URI is reached over TLS, whatever else it says.
  if (scheme === 'sips') named = 'tls';
  const target = params.maddr ?? hostPort.host;
  const literal = target.replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(literal) || isIPv6(literal)) {
    const transport: Transport = (named as Transport | undefined) ?? 'udp';
    return {
      ok: true,
      targets: [{ transport, host: literal, port: hostPort.port ?? defaultPort(transport) }],
      ttlSeconds: Infinity,
    };
  }
  if (hostAddress(target).kind !== 'name') {
    return { ok: false, status: 404, reason: `${uri}: ${target} is neither an IP address nor a name` };
  }
  try {
    const lookup: Lookup = { dns, random, addresses: new Map() };
    const found = await locateName(target, hostPort.port, named as Transport | undefined, lookup);
    if (found.targets.length === 0) {
      return { ok: false, status: 404, reason: `${target} does not resolve to any address` };
    }
    return { ok: true, targets: dedupe(found.targets), ttlSeconds: found.ttl };
  } catch (error) {
    const code = error instanceof DnsFailure ? error.code : String(error);
    return { ok: false, status: 503, reason: `DNS lookup of ${target} failed (${code})` };
  }
}

async function locateName(
  name: string,
  port: number | undefined,
  transport: Transport | undefined,
  lookup: Lookup,
): Promise<{ targets: SipEndpoint[]; ttl: number }> {
  const { dns } = lookup;
  // §4.2: a port in the URI means A/AAAA records, no SRV.
  if (port !== undefined) {
    const found = await addressesOnce(lookup, name);
    return { targets: addressTargets(found, transport ?? 'udp', port), ttl: found.ttl };
  }
  if (transport !== undefined) {
    const srv = await srvTargets(lookup, `${SRV_PREFIX[transport]}.${name}`, transport);
    if (srv.found) return srv;
    const found = await addressesOnce(lookup, name);
    return { targets: addressTargets(found, transport, defaultPort(transport)), ttl: found.ttl };
  }
  // §4.1: NAPTR chooses the transports; records for services we do not speak are skipped.
  const naptr = (await records(() => dns.resolveNaptr(name)))
    .filter((record) => record.flags.toLowerCase() === 's' && SERVICES[record.service.toUpperCase()])
    .sort((a, b) => a.order - b.order || a.preference - b.preference);
  const targets: SipEndpoint[] = [];
  let ttl = Infinity;
  const services: { srvName: string; transport: Transport }[] =
    naptr.length > 0
      ? naptr.map((record) => ({
          srvName: record.replacement,
          transport: SERVICES[record.service.toUpperCase()]!,
        }))
      : TRANSPORTS.map((each) => ({ srvName: `${SRV_PREFIX[each]}.${name}`, transport: each }));
  for (const service of services) {
    const srv = await srvTargets(lookup, service.srvName, service.transport);
    targets.push(...srv.targets);
    ttl = Math.min(ttl, srv.ttl);
  }
  if (targets.length > 0 || naptr.length > 0) return { targets, ttl };
  const found = await addressesOnce(lookup, name);
  return { targets: addressTargets(found, 'udp', defaultPort('udp')), ttl: found.ttl };
}

function dedupe(targets: SipEndpoint[]): SipEndpoint[] {
  const seen = new Set<string>();
  return targets.filter((target) => {
    const key = `${target.transport}|${target.host}|${target.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
