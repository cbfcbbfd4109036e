/**
 * RFC 3263 location against a real DNS server (dnsmasq): NAPTR picks the transports, SRV the hosts and
 * ports by priority and weight, A/AAAA the addresses; a port or a transport in the URI skips steps; a
 * name without records is 404, a DNS server that does not answer 503; the locator caches and refreshes.
 */

import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPeerLocator } from '../../src/dns/peers.ts';
import { locate, orderSrv } from '../../src/dns/rfc3263.ts';
import { type DnsServer, startDnsmasq } from '../helpers/dnsmasq.ts';

let dns: DnsServer;
let resolver: Resolver;

beforeAll(async () => {
  dns = await startDnsmasq({
    hosts: {
      'gw1.pivot.test': ['127.0.0.2'],
      'gw2.pivot.test': ['127.0.0.4', '::1'],
      'gw3.pivot.test': ['127.0.0.5'],
      'plain.pivot.test': ['127.0.0.6'],
    },
    srv: {
      '_sip._udp.carrier.pivot.test': [
        { target: 'gw2.pivot.test', port: 5091, priority: 20, weight: 10 },
        { target: 'gw1.pivot.test', port: 5090, priority: 10, weight: 10 },
      ],
      '_sip._tcp.carrier.pivot.test': [{ target: 'gw3.pivot.test', port: 5070, priority: 10, weight: 10 }],
      '_sip._tcp.tcponly.pivot.test': [{ target: 'gw3.pivot.test', port: 5071, priority: 1, weight: 1 }],
      '_sips._tcp.carrier.pivot.test': [{ target: 'gw1.pivot.test', port: 5061, priority: 1, weight: 1 }],
    },
    naptr: {
      'carrier.pivot.test': [
        {
          order: 10,
          preference: 10,
          flags: 's',
          service: 'SIP+D2T',
          replacement: '_sip._tcp.carrier.pivot.test',
        },
        {
          order: 20,
          preference: 10,
          flags: 's',
          service: 'SIP+D2U',
          replacement: '_sip._udp.carrier.pivot.test',
        },
        {
          order: 5,
          preference: 10,
          flags: 's',
          service: 'SIPS+D2T',
          replacement: '_sips._tcp.carrier.pivot.test',
        },
      ],
    },
  });
  resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([dns.server]);
});

afterAll(async () => {
  await dns?.stop();
});

describe('locate (RFC 3263 §4)', () => {
  it('NAPTR -> SRV -> A/AAAA: transports in NAPTR order, SRV by priority', async () => {
    const located = await locate('sip:carrier.pivot.test', resolver);
    expect(located).toMatchObject({
      ok: true,
      targets: [
        { transport: 'tls', host: '127.0.0.2', port: 5061 },
        { transport: 'tcp', host: '127.0.0.5', port: 5070 },
        { transport: 'udp', host: '127.0.0.2', port: 5090 },
        { transport: 'udp', host: '127.0.0.4', port: 5091 },
        { transport: 'udp', host: '::1', port: 5091 },
      ],
    });
    // dnsmasq's --local-ttl of 1 s is the answer's lifetime (no TTL comes with SRV/NAPTR in node:dns).
    expect(located.ok && located.ttlSeconds).toBe(1);
  });

  it('without NAPTR, SRV for UDP then TCP; without SRV, A at 5060 over UDP', async () => {
    expect(await locate('sip:+15550100@tcponly.pivot.test', resolver)).toMatchObject({
      ok: true,
      targets: [{ transport: 'tcp', host: '127.0.0.5', port: 5071 }],
    });
    expect(await locate('sip:plain.pivot.test', resolver)).toMatchObject({
      ok: true,
      targets: [{ transport: 'udp', host: '127.0.0.6', port: 5060 }],
    });
  });

  it(';transport= asks SRV of that transport only; a port skips SRV; maddr replaces the host', async () => {
    expect(await locate('sip:carrier.pivot.test;transport=TCP', resolver)).toMatchObject({
      ok: true,
      targets: [{ transport: 'tcp', host: '127.0.0.5', port: 5070 }],
    });
    expect(await locate('sip:gw1.pivot.test:5099;transport=tcp', resolver)).toMatchObject({
      ok: true,
      targets: [{ transport: 'tcp', host: '127.0.0.2', port: 5099 }],
    });
    expect(await locate('sip:x@other.example;maddr=gw3.pivot.test', resolver)).toMatchObject({
      ok: true,
      targets: [{ transport: 'udp', host: '127.0.0.5', port: 5060 }],
    });
    expect(await locate('sip:x@[::1]:5062;transport=tcp', resolver)).toEqual({
      ok: true,
      targets: [{ transport: 'tcp', host: '::1', port: 5062 }],
      ttlSeconds: Number.POSITIVE_INFINITY,
    });
  });

  it('a name with no records is 404; an unknown transport 503; sips: is TLS only', async () => {
    expect(await locate('sip:agent@nowhere.pivot.test', resolver)).toMatchObject({
      ok: false,
      status: 404,
      reason: 'nowhere.pivot.test does not resolve to any address',
    });
    expect(await locate('sips:carrier.pivot.test', resolver)).toEqual({
      ok: true,
      targets: [{ transport: 'tls', host: '127.0.0.2', port: 5061 }],
      ttlSeconds: 1,
    });
    expect(await locate('sips:x@127.0.0.9', resolver)).toMatchObject({
      ok: true,
      targets: [{ transport: 'tls', host: '127.0.0.9', port: 5061 }],
    });
    expect(await locate('sip:carrier.pivot.test;transport=sctp', resolver)).toMatchObject({
      ok: false,
      status: 503,
    });
  });

  it("a name DNS does not know is asked of the system's lookup (the hosts file) before it is 404", async () => {
    const asked: string[] = [];
    const withHosts = {
      resolveNaptr: (name: string) => resolver.resolveNaptr(name),
      resolveSrv: (name: string) => resolver.resolveSrv(name),
      resolve4: (name: string, options: { ttl: true }) => resolver.resolve4(name, options),
      resolve6: (name: string, options: { ttl: true }) => resolver.resolve6(name, options),
      lookup: async (name: string) => {
        asked.push(name);
        return name === 'extra-host.pivot.test' ? [{ address: '127.0.0.9' }] : [];
      },
    };
    expect(await locate('sip:extra-host.pivot.test:5090', withHosts)).toEqual({
      ok: true,
      targets: [{ transport: 'udp', host: '127.0.0.9', port: 5090 }],
      ttlSeconds: 0,
    });
    // DNS answers first: a name it knows is never looked up locally.
    expect(await locate('sip:plain.pivot.test', withHosts)).toMatchObject({
      ok: true,
      targets: [{ host: '127.0.0.6' }],
    });
    expect(asked).toEqual(['extra-host.pivot.test']);
  });

  it('a DNS server that does not answer: 503 naming the failure', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    const deaf = new Resolver({ timeout: 100, tries: 1 });
    deaf.setServers([`127.0.0.1:${silent.address().port}`]);
    try {
      const located = await locate('sip:carrier.pivot.test', deaf);
      expect(located).toMatchObject({ ok: false, status: 503 });
      expect(!located.ok && located.reason).toMatch(
        /^DNS lookup of carrier\.pivot\.test failed \(ETIMEOUT\)$/,
      );
    } finally {
      silent.close();
    }
  });
});

describe('SRV ordering (RFC 2782)', () => {
  const records = [
    { name: 'b', port: 1, priority: 10, weight: 60 },
    { name: 'a', port: 1, priority: 10, weight: 40 },
    { name: 'z', port: 1, priority: 0, weight: 0 },
  ];
  it('lowest priority first; within one, the weight draw decides', () => {
    // The running sums are 40 (a) then 100 (b): a draw up to 40 picks a, above it b.
    expect(orderSrv(records, () => 0.3).map((r) => r.name)).toEqual(['z', 'a', 'b']);
    expect(orderSrv(records, () => 0.9).map((r) => r.name)).toEqual(['z', 'b', 'a']);
  });
  it('over many draws, each record comes first about as often as its weight says', () => {
    let firstB = 0;
    for (let i = 0; i < 2000; i++) if (orderSrv(records.slice(0, 2))[0]!.name === 'b') firstB++;
    expect(firstB / 2000).toBeGreaterThan(0.5);
    expect(firstB / 2000).toBeLessThan(0.7);
  });
});

describe('the peer locator', () => {
  it('watched names are refreshed in the background when their TTL runs out', async () => {
    let queries = 0;
    const counting = {
      resolveNaptr: (name: string) => resolver.resolveNaptr(name),
      resolveSrv: (name: string) => resolver.resolveSrv(name),
      resolve4: (name: string, options: { ttl: true }) => {
        queries++;
        return resolver.resolve4(name, options);
      },
      resolve6: (name: string, options: { ttl: true }) => resolver.resolve6(name, options),
    };
    const peers = createPeerLocator({ dns: counting, minTtlSeconds: 1 });
    try {
      const first = await peers.watch('sip:plain.pivot.test');
      expect(first).toMatchObject({ ok: true, targets: [{ host: '127.0.0.6' }] });
      expect(peers.locate('sip:plain.pivot.test')).toBe(first);
      const before = queries;
      await expect.poll(() => queries, { timeout: 10_000 }).toBeGreaterThan(before);
    } finally {
      peers.stop();
    }
  });

  it('a target name is resolved once and then served from the cache', async () => {
    let queries = 0;
    const counting = {
      resolveNaptr: (name: string) => resolver.resolveNaptr(name),
      resolveSrv: (name: string) => resolver.resolveSrv(name),
      resolve4: (name: string, options: { ttl: true }) => {
        queries++;
        return resolver.resolve4(name, options);
      },
      resolve6: (name: string, options: { ttl: true }) => resolver.resolve6(name, options),
    };
    const peers = createPeerLocator({ dns: counting, minTtlSeconds: 60 });
    try {
      const [a, b] = await Promise.all([
        peers.resolve('sip:agent@plain.pivot.test'),
        peers.resolve('sip:agent@plain.pivot.test'),
      ]);
      expect(a).toBe(b);
      await peers.resolve('sip:agent@plain.pivot.test');
      expect(queries).toBe(1);
    } finally {
      peers.stop();
    }
  });
});
