/**
 * Which trunk a call belongs to. A termination call names its trunk by the Request-URI's host, the
 * trunk's domain (`sip:+E164@<trunk domain>`), as elastic SIP trunks do, so one PBX address can serve
 * several trunks; the source is then checked against that trunk's ACL. An origination call comes from
 * one of the carrier's addresses to one of a trunk's numbers.
 */
import { BlockList, isIPv4 } from 'node:net';
import { hostAddress } from '../../machines/ip-literal.ts';
import { uriTransport } from '../../machines/next-hop.ts';
import { isE164 } from '../../machines/refer-target.ts';
import { extractUser, uriHost, uriHostPort, uriParams } from '../../machines/sip-syntax.ts';
import { carrierUris, type PivotConfig, type TrunkConfig } from '../config/index.ts';
import type { PeerLocator } from '../dns/peers.ts';
import type { PeerCertificate, SipEndpoint, Transport } from '../shared/messages.ts';
import type { PeerHealth } from './peerHealth.ts';

export interface TrunkDirectory {
  trunks: TrunkConfig[];
  /** The trunk whose termination domain this is (case-insensitive). */
  byDomain(domain: string): TrunkConfig | undefined;
  /** Whether the trunk's ACL admits this source address. */
  admits(trunk: TrunkConfig, address: string): boolean;
  /** Whether this client certificate is one the trunk's `tlsClient` lists (by fingerprint or name). */
  certifies(trunk: TrunkConfig, certificate: PeerCertificate): boolean;
  byNumber(e164: string): TrunkConfig | undefined;
  isCarrier(address: string): boolean;
  carrierHost: string;
  carrierDestination: SipEndpoint;
  /** The first carrier gateway in rotation (its host, whether it is `sips:`, where to send). */
  carrierGateway: Gateway;
  /** The carrier's other gateways, in order: where a termination INVITE fails over to. */
  carrierAlternates: Gateway[];
  /** Every gateway of the carrier, answering or not: its addresses are the carrier's (target guards). */
  carrierGateways: Gateway[];
  /** Why no carrier gateway has an address (none of `carrier.uri`'s names resolves); else undefined. */
  carrierUnavailable?: string;
  /**
   * Where a trunk's origination calls go, in the order to try, or why nowhere; those not answering
   * their health checks left out unless `everyGateway`.
   */
  originationOf(
    trunk: TrunkConfig,
    options?: { everyGateway?: boolean },
  ): { gateways: Gateway[] } | { unavailable: string };
  domains: string[];
}

export interface Gateway {
  /** The host written in the Request-URI (`sip:+E164@<host>`). */
  host: string;
  /** A `sips:` gateway is called with a `sips:` Request-URI (RFC 3261 §26.2.2: TLS on every hop). */
  secure?: true;
  destination: SipEndpoint;
}

/**
 * Where a gateway that has no address yet is "sent": a request to it fails at once as a transport error
 * (RFC 3261 §8.1.3.1: a 503 of our own), so the call fails over or ends, and no address is guessed.
 */
export const NOWHERE: SipEndpoint = { transport: 'udp', host: '0.0.0.0', port: 0 };

function gatewayOf(uri: string): Gateway {
  const hostPort = uriHostPort(uri) ?? { host: '127.0.0.1' };
  const transport = uriTransport(uri) ?? 'udp';
  return {
    host: uriHost(uri) ?? hostPort.host,
    ...secureOf(uri),
    destination: { transport, host: hostPort.host, port: hostPort.port ?? defaultPort(transport) },
  };
}

function defaultPort(transport: Transport): number {
  return transport === 'tls' ? 5061 : 5060;
}

/**
 * The gateways a configured URI stands for: itself when its host is an IP address (or no locator is
 * given), else every target RFC 3263 located for it, with the name kept for the Request-URI.
 */
function gatewaysOf(uri: string, peers: PeerLocator | undefined): Gateway[] | { unavailable: string } {
  const host = uriHost(uri);
  if (!peers || host === undefined || hostAddress(host).kind !== 'name') return [gatewayOf(uri)];
  const located = peers.locate(uri);
  if (!located) return { unavailable: `${host} is not resolved yet` };
  if (!located.ok) return { unavailable: located.reason };
  return located.targets.map((destination) => ({ host, ...secureOf(uri), destination }));
}

function secureOf(uri: string): { secure?: true } {
  return /^sips:/i.test(uri) ? { secure: true } : {};
}

/** The Request-URI toward a gateway for this number: `sips:` when the gateway's URI is. */
export function gatewayUri(gateway: Gateway, e164: string): string {
  return `${gateway.secure ? 'sips' : 'sip'}:${e164}@${gateway.host}`;
}

/** The gateways that answer their health checks, in order; all of them when none does (try anyway). */
function inRotation(gateways: Gateway[], health: PeerHealth | undefined): Gateway[] {
  if (!health) return gateways;
  const answering = gateways.filter((gateway) => !health.isDown(gateway.destination));
  return answering.length > 0 ? answering : gateways;
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits = '32'] = cidr.split('/');
    list.addSubnet(address, Number(bits), isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return list;
}

/**
 * The trunks and the carrier as the engine routes to them. With `peers`, host names in `carrier.uri`
 * and `originationUri` are read from the locator's current answers at every use, so a refreshed DNS
 * answer applies to the next call.
 */
export function trunkDirectory(
  config: PivotConfig,
  peers?: PeerLocator,
  health?: PeerHealth,
): TrunkDirectory {
  const acls = new Map(config.trunks.map((trunk) => [trunk, blockListOf(trunk.acl)]));
  const clients = new Map(config.trunks.map((trunk) => [trunk, clientsOf(trunk)]));
  const byDomain = new Map(config.trunks.map((trunk) => [trunk.domain.toLowerCase(), trunk]));
  const uris = carrierUris(config);
  const carrierSources = blockListOf(config.carrier.sources ?? []);
  const located = () => {
    const found = uris.map((uri) => gatewaysOf(uri, peers));
    const gateways = found.flatMap((each) => (Array.isArray(each) ? each : []));
    const reasons = found.flatMap((each) => (Array.isArray(each) ? [] : [each.unavailable]));
    return { gateways, reasons };
  };
  const carrier = () => {
    const { gateways, reasons } = located();
    return { gateways: inRotation(gateways, health), reasons };
  };
  const primary = (): Gateway => {
    const { gateways } = carrier();
    return (
      gateways[0] ?? { host: uriHost(uris[0]!) ?? '127.0.0.1', ...secureOf(uris[0]!), destination: NOWHERE }
    );
  };
  return {
    trunks: config.trunks,
    byDomain: (domain) => byDomain.get(domain.toLowerCase()),
    admits: (trunk, address) => acls.get(trunk)?.check(address, familyOf(address)) ?? false,
    certifies: (trunk, certificate) => {
      const client = clients.get(trunk);
      return (
        client !== undefined &&
        (client.fingerprints.has(fingerprintDigits(certificate.fingerprint)) ||
          certificate.names.some((name) => client.names.has(name.toLowerCase())))
      );
    },
    byNumber: (e164) => config.trunks.find((trunk) => trunk.numbers.includes(e164)),
    isCarrier: (address) =>
      located().gateways.some((g) => g.destination.host === address) ||
      carrierSources.check(address, familyOf(address)),
    get carrierHost() {
      return primary().host;
    },
    get carrierGateway() {
      return primary();
    },
    get carrierDestination() {
      return primary().destination;
    },
    get carrierAlternates() {
      return carrier().gateways.slice(1);
    },
    get carrierGateways() {
      return located().gateways;
    },
    get carrierUnavailable() {
      const { gateways, reasons } = carrier();
      return gateways.length > 0 ? undefined : `no carrier gateway has an address: ${reasons.join('; ')}`;
    },
    originationOf(trunk, options) {
      const uri = trunk.originationUri;
      const host = uriHost(uri);
      if (peers && host !== undefined && hostAddress(host).kind === 'name') {
        const found = gatewaysOf(uri, peers);
        if (!Array.isArray(found)) return found;
        return { gateways: options?.everyGateway ? found : inRotation(found, health) };
      }
      const destination = endpointOf(uri);
      return destination
        ? { gateways: [{ host: host ?? destination.host, destination }] }
        : { unavailable: `origination URI ${uri} is not reachable` };
    },
    domains: config.trunks.map((trunk) => trunk.domain.toLowerCase()),
  };
}

/** Hex digits only, upper case: fingerprints compare whatever their spelling. */
function fingerprintDigits(text: string): string {
  return text.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

function clientsOf(trunk: TrunkConfig): { fingerprints: Set<string>; names: Set<string> } | undefined {
  if (!trunk.tlsClient) return undefined;
  return {
    fingerprints: new Set((trunk.tlsClient.fingerprints ?? []).map(fingerprintDigits)),
    names: new Set((trunk.tlsClient.names ?? []).map((name) => name.toLowerCase())),
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
export function endpointOf(uri: string, fallbackTransport: Transport = 'udp'): SipEndpoint | undefined {
  const hostPort = uriHostPort(uri);
  const host = uriHost(uri);
  if (!hostPort || host === undefined || 'maddr' in uriParams(uri)) return undefined;
  const address = hostAddress(host);
  if (address.kind !== 'ip') return undefined;
  // A request that came over TLS does not make a plain `sip:` URI a TLS one: only `sips:` or
  // `;transport=tls` do (RFC 3261 §26.2); it stays on a stream, over TCP.
  const transport = uriTransport(uri) ?? (fallbackTransport === 'tls' ? 'tcp' : fallbackTransport);
  // An IPv6 address keeps its spelling (the socket reads it); one that carries IPv4 becomes that address.
  const to = address.family === 'ipv4' ? address.address : hostPort.host;
  return { transport, host: to, port: hostPort.port ?? defaultPort(transport) };
}
