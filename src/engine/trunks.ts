/**
 * Which trunk a call belongs to. A termination call names its trunk by the Request-URI's host, the
 * trunk's domain (`sip:+E164@<trunk domain>`), as elastic SIP trunks do, so one PBX address can serve
 * several trunks; the source is then checked against that trunk's ACL. An origination call comes from
 * one of the carrier's addresses to one of a trunk's numbers.
 */
import { BlockList, isIPv4 } from 'node:net';
import { hostAddress } from '../../machines/ip-literal.ts';
import { isE164 } from '../../machines/refer-target.ts';
import { extractUser, uriHost, uriHostPort, uriParams } from '../../machines/sip-syntax.ts';
import { carrierUris, type PivotConfig, type TrunkConfig } from '../config/index.ts';
import type { SipEndpoint } from '../shared/messages.ts';

export interface TrunkDirectory {
  trunks: TrunkConfig[];
  /** The trunk whose termination domain this is (case-insensitive). */
  byDomain(domain: string): TrunkConfig | undefined;
  /** Whether the trunk's ACL admits this source address. */
  admits(trunk: TrunkConfig, address: string): boolean;
  byNumber(e164: string): TrunkConfig | undefined;
  isCarrier(address: string): boolean;
  carrierHost: string;
  carrierDestination: SipEndpoint;
  /** The carrier's other gateways, in order: where a termination INVITE fails over to. */
  carrierAlternates: Gateway[];
  domains: string[];
}

export interface Gateway {
  /** The host written in the Request-URI (`sip:+E164@<host>`). */
  host: string;
  destination: SipEndpoint;
}

function gatewayOf(uri: string): Gateway {
  const hostPort = uriHostPort(uri) ?? { host: '127.0.0.1' };
  const transport = /;transport=tcp/i.test(uri) ? 'tcp' : 'udp';
  return {
    host: uriHost(uri) ?? hostPort.host,
    destination: { transport, host: hostPort.host, port: hostPort.port ?? 5060 },
  };
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits = '32'] = cidr.split('/');
    list.addSubnet(address, Number(bits), isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return list;
}

export function trunkDirectory(config: PivotConfig): TrunkDirectory {
  const acls = new Map(config.trunks.map((trunk) => [trunk, blockListOf(trunk.acl)]));
  const byDomain = new Map(config.trunks.map((trunk) => [trunk.domain.toLowerCase(), trunk]));
  const [primary, ...alternates] = carrierUris(config).map(gatewayOf);
  const gatewayHosts = new Set([primary!, ...alternates].map((g) => g.destination.host));
  const carrierSources = blockListOf(config.carrier.sources ?? []);
  return {
    trunks: config.trunks,
    byDomain: (domain) => byDomain.get(domain.toLowerCase()),
    admits: (trunk, address) => acls.get(trunk)?.check(address, familyOf(address)) ?? false,
    byNumber: (e164) => config.trunks.find((trunk) => trunk.numbers.includes(e164)),
    isCarrier: (address) => gatewayHosts.has(address) || carrierSources.check(address, familyOf(address)),
    carrierHost: primary!.host,
    carrierDestination: primary!.destination,
    carrierAlternates: alternates,
    domains: config.trunks.map((trunk) => trunk.domain.toLowerCase()),
  };
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIPv4(address) ? 'ipv4' : 'ipv6';
}

/** The E.164 number in a URI's user part (`sip:+15550100@x`, `tel:+15550100`), if it is one. */
export function e164Of(uri: string): string | undefined {
  const user = uri.startsWith('tel:') ? uri.slice(4).split(';')[0] : extractUser(uri);
  return user && isE164(user) ? user : undefined;
}

/**
 * Where to send requests for a URI whose host is an IP address written as RFC 3261 allows; names need
 * DNS, which we don't do yet. Other numeric spellings (`127.2`, `2130706434`, `0177.0.0.1`) get
 * undefined: handed to the resolver they would reach an address no check has seen. An IPv4-mapped IPv6
 * address is sent to as the IPv4 address it is. A URI with `maddr` gets undefined too (it would send
 * the request elsewhere, RFC 3261 §19.1.1).
 */
export function endpointOf(uri: string, fallbackTransport: 'udp' | 'tcp' = 'udp'): SipEndpoint | undefined {
  const hostPort = uriHostPort(uri);
  const host = uriHost(uri);
  if (!hostPort || host === undefined || 'maddr' in uriParams(uri)) return undefined;
  const address = hostAddress(host);
  if (address.kind !== 'ip') return undefined;
  const transport = /;transport=tcp/i.test(uri) ? 'tcp' : fallbackTransport;
  // An IPv6 address keeps its spelling (the socket reads it); one that carries IPv4 becomes that address.
  const to = address.family === 'ipv4' ? address.address : hostPort.host;
  return { transport, host: to, port: hostPort.port ?? 5060 };
}
