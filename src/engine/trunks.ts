/**
 * Which trunk a call belongs to. A termination call names its trunk by the Request-URI's host, the
 * trunk's domain (`sip:+E164@<trunk domain>`), as elastic SIP trunks do, so one PBX address can serve
 * several trunks; the source is then checked against that trunk's ACL. An origination call comes from
 * one of the carrier's addresses to one of a trunk's numbers.
 */
import { BlockList, isIPv4 } from 'node:net';
import { extractUser, uriHost, uriHostPort } from '../../machines/sip-syntax.ts';
import type { SipEndpoint } from '../bus/messages.ts';
import { carrierUris, type PivotConfig, type TrunkConfig } from '../config/index.ts';

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
  return user && /^\+[1-9]\d{1,14}$/.test(user) ? user : undefined;
}

/** Where to send requests for a URI whose host is an IP literal; names need DNS, which we don't do yet. */
export function endpointOf(uri: string, fallbackTransport: 'udp' | 'tcp' = 'udp'): SipEndpoint | undefined {
  const hostPort = uriHostPort(uri);
  if (!hostPort) return undefined;
  const host = hostPort.host.replace(/^\[|\]$/g, '');
  if (!/^[\d.]+$/.test(host) && !host.includes(':')) return undefined;
  const transport = /;transport=tcp/i.test(uri) ? 'tcp' : fallbackTransport;
  return { transport, host, port: hostPort.port ?? 5060 };
}
