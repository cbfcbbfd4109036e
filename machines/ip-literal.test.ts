import { describe, expect, it } from 'vitest';
import { hostAddress, hostNetwork, inNetworks, ipAddress } from './ip-literal.ts';

describe('hostAddress: the host of a URI as an address', () => {
  it.each([
    ['127.0.0.2', '127.0.0.2', 'ipv4'],
    ['192.0.2.255', '192.0.2.255', 'ipv4'],
    ['0.0.0.0', '0.0.0.0', 'ipv4'],
    // IPv6 carrying IPv4 is the IPv4 host it reaches.
    ['[::ffff:127.0.0.2]', '127.0.0.2', 'ipv4'],
    ['[::FFFF:7F00:2]', '127.0.0.2', 'ipv4'],
    ['[0:0:0:0:0:ffff:127.0.0.2]', '127.0.0.2', 'ipv4'],
    ['[::127.0.0.2]', '127.0.0.2', 'ipv4'],
    ['[64:ff9b::7f00:2]', '127.0.0.2', 'ipv4'],
    // Plain IPv6, canonical: eight uncompressed groups.
    ['[2001:DB8::1]', '2001:db8:0:0:0:0:0:1', 'ipv6'],
    ['[::1]', '0:0:0:0:0:0:0:1', 'ipv6'],
    ['[::]', '0:0:0:0:0:0:0:0', 'ipv6'],
  ])('%s is %s (%s)', (host, address, family) => {
    expect(hostAddress(host)).toEqual({ kind: 'ip', address, family });
  });

  it.each([
    ['an octal octet', '127.0.0.02'],
    ['an octal first octet', '0177.0.0.2'],
    ['a short form', '127.2'],
    ['a three-part form', '127.0.2'],
    ['an integer', '2130706434'],
    ['a hex integer', '0x7f000002'],
    ['hex octets', '0x7f.0.0.2'],
    ['an octet above 255', '127.0.0.256'],
    ['five octets', '127.0.0.0.2'],
    ['a trailing dot', '127.0.0.2.'],
    ['an IPv6 address without brackets', '::1'],
    ['bad IPv6', '[::ffff:127.0.0.02]'],
    ['too many IPv6 groups', '[1:2:3:4:5:6:7:8:9]'],
    ['an unclosed bracket', '[::1'],
    ['a zone', '[fe80::1%25eth0]'],
  ])('%s (%s) is malformed', (_name, host) => {
    expect(hostAddress(host)).toEqual({ kind: 'malformed' });
  });

  it.each(['pbx.example.com', 'carrier', '127.0.0.2.nip.io', 'x1.example'])('%s is a name', (host) => {
    expect(hostAddress(host)).toEqual({ kind: 'name' });
  });
});

describe('ipAddress', () => {
  it('reads configuration and socket spellings, IPv6 without brackets', () => {
    expect(ipAddress('::ffff:10.0.0.1')).toEqual({ address: '10.0.0.1', family: 'ipv4' });
    expect(ipAddress('2001:db8::1')).toEqual({ address: '2001:db8:0:0:0:0:0:1', family: 'ipv6' });
    expect(ipAddress('10.0.0.01')).toBeUndefined();
    expect(ipAddress('gw.example')).toBeUndefined();
  });
});

describe('inNetworks', () => {
  const carrier = ['127.0.0.2/32', '198.51.100.0/24', '2001:db8:5::/48'];
  it.each([
    ['127.0.0.2', true],
    ['127.0.0.3', false],
    ['198.51.100.77', true],
    ['198.51.101.1', false],
  ])('IPv4 %s: %s', (address, inside) => {
    expect(inNetworks({ address, family: 'ipv4' }, carrier)).toBe(inside);
  });

  it('compares IPv6 by value, not spelling', () => {
    const address = hostAddress('[2001:0DB8:0005:0000::9]');
    expect(address.kind === 'ip' && inNetworks(address, carrier)).toBe(true);
    const outside = hostAddress('[2001:db8:6::9]');
    expect(outside.kind === 'ip' && inNetworks(outside, carrier)).toBe(false);
  });

  it('reads a bare address as one host and an IPv4-mapped block as IPv4', () => {
    expect(inNetworks({ address: '10.1.2.3', family: 'ipv4' }, ['10.1.2.3'])).toBe(true);
    expect(inNetworks({ address: '10.1.2.3', family: 'ipv4' }, ['::ffff:10.1.2.0/120'])).toBe(true);
    expect(inNetworks({ address: '10.1.3.3', family: 'ipv4' }, ['::ffff:10.1.2.0/120'])).toBe(false);
  });

  it('skips what is not a CIDR and matches nothing without networks', () => {
    expect(inNetworks({ address: '10.1.2.3', family: 'ipv4' }, ['nonsense', '10.1.2.3/33'])).toBe(false);
    expect(inNetworks({ address: '10.1.2.3', family: 'ipv4' }, [])).toBe(false);
  });
});

describe('hostNetwork', () => {
  it.each([
    ['127.0.0.2', '127.0.0.2/32'],
    ['[::ffff:127.0.0.2]', '127.0.0.2/32'],
    ['2001:db8::1', '2001:db8:0:0:0:0:0:1/128'],
    ['gw.example', undefined],
  ])('%s -> %s', (host, network) => {
    expect(hostNetwork(host)).toBe(network);
  });
});
