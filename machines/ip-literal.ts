/**
 * The host of a SIP URI as a network address, parsed strictly. A host is sent on to the operating
 * system, whose resolver also reads the old inet_aton spellings (`127.2`, `2130706434`, `0177.0.0.2`,
 * `0x7f.0.0.2`) as addresses: a text comparison with a configured address would miss them. So only the
 * RFC 3261 §25.1 forms count as addresses (IPv4address: four decimal octets; IPv6reference in `[]`),
 * the numeric spellings are refused as malformed, and an IPv6 address that carries an IPv4 one
 * (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, RFC 6052) is read as that
 * IPv4 address, since that is the host it reaches. Pure: no DNS.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type Family = 'ipv4' | 'ipv6';
export interface IpAddress {
  /** Canonical text: dotted quad, or eight lower-case hex groups without compression. */
  address: string;
  family: Family;
}

export type HostAddress =
  | ({ kind: 'ip' } & IpAddress)
  /** A domain name: not an address (the pivot does not look names up for targets). */
  | { kind: 'name' }
  /** An address written in a form RFC 3261 does not allow (octal, short, integer, hex, bad IPv6). */
  | { kind: 'malformed' };

/** Every label a number (decimal, octal with a leading 0, or hex): what inet_aton would take as an address. */
const NUMERIC_LABELS = /^(?:(?:0x[0-9a-f]*|\d+)\.)*(?:0x[0-9a-f]*|\d+)\.?$/i;

/** `host` as a URI writes it: an IPv6 reference keeps its brackets. */
export function hostAddress(host: string): HostAddress {
  if (host.startsWith('[') || host.endsWith(']')) {
    const inner = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : '';
    // A zone (`%25eth0`) names an interface of the sender, which means nothing to the pivot.
    if (!isIPv6(inner) || inner.includes('%')) return { kind: 'malformed' };
    return { kind: 'ip', ...ipv6(inner) };
  }
  if (isIPv4(host)) return { kind: 'ip', address: host, family: 'ipv4' };
  // An IPv6 address must be bracketed in a URI (RFC 3261 §19.1.1 / §25.1).
  if (host.includes(':') || NUMERIC_LABELS.test(host)) return { kind: 'malformed' };
  return { kind: 'name' };
}

/** An address as the configuration or a socket writes it (no brackets), canonical; undefined if not one. */
export function ipAddress(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { address: text, family: 'ipv4' };
  if (isIPv6(text) && !text.includes('%')) return ipv6(text);
  return undefined;
}

function ipv6(text: string): IpAddress {
  const groups = expand(text.toLowerCase());
  const zero = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  const embedded = `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  const mapped = zero(0, 5) && groups[5] === 0xffff;
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
  const compatible = zero(0, 6) && !(groups[6] === 0 && groups[7]! <= 1);
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6);
  if (mapped || compatible || nat64) return { address: embedded, family: 'ipv4' };
  return { address: groups.map((g) => g.toString(16)).join(':'), family: 'ipv6' };
}

/** Eight 16-bit groups of a valid IPv6 address (an IPv4 tail counts as two). */
function expand(text: string): number[] {
  const toGroups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((piece) => {
          if (!piece.includes('.')) return [Number.parseInt(piece, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = text.indexOf('::');
  if (gap < 0) return toGroups(text);
  const head = toGroups(text.slice(0, gap));
  const tail = toGroups(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Whether an address lies in any of the CIDRs (`192.0.2.0/24`, `2001:db8::/32`, or a bare address
 * for one host). A CIDR that is not valid is skipped: configuration validated them already.
 */
export function inNetworks(address: IpAddress, cidrs: readonly string[]): boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [text = '', bitsText] = cidr.split('/');
    const base = ipAddress(text);
    if (!base) continue;
    const full = isIPv4(text) ? 32 : 128;
    let bits = bitsText === undefined ? full : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > full) continue;
    // A CIDR written as an IPv4-mapped IPv6 block (`::ffff:192.0.2.0/120`) is that IPv4 block.
    if (base.family === 'ipv4' && full === 128) bits = Math.max(0, bits - 96);
    list.addSubnet(base.address, bits, base.family);
  }
  return list.check(address.address, address.family);
}

/** A host's own network for `inNetworks`: `192.0.2.1/32`, or undefined when it is not an IP address. */
export function hostNetwork(text: string): string | undefined {
  const address = ipAddress(text.replace(/^\[(.*)\]$/, '$1'));
  if (!address) return undefined;
  return `${address.address}/${address.family === 'ipv4' ? 32 : 128}`;
}
