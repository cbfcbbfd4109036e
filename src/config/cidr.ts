import { isIPv4, isIPv6 } from 'node:net';

/**
 * True for an IPv4 (`10.0.0.0/8`) or IPv6 (`2001:db8::/32`) CIDR block. The prefix length is required
 * so an ACL entry always says how wide it is; host bits are allowed (`10.1.2.3/8` means `10.0.0.0/8`),
 * as most routers accept them.
 */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return false;
  const bits = Number(bitsText);
  if (isIPv4(addr)) return bits <= 32;
  if (isIPv6(addr)) return bits <= 128;
  return false;
}
