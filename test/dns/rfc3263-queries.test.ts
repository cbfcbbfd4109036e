/**
 * The queries one RFC 3263 lookup makes, counted by a resolver that answers from a table: each name's
 * A/AAAA asked once per lookup, an SRV set's A/AAAA asked side by side, the SRV order kept whatever
 * order the answers come in. (test/dns/rfc3263.test.ts checks the answers against a real DNS server.)
 */
import { describe, expect, it } from 'vitest';
import { type DnsQueries, locate } from '../../src/dns/rfc3263.ts';

interface Srv {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/**
 * Answers from `zone` (names in lower case: DNS ignores case), each answer on a later turn of the event loop (`setImmediate`), so queries that
 * are asked together are in flight together. `order` reverses the answers: the last query asked is
 * answered first.
 */
function countingResolver(zone: {
  srv?: Record<string, Srv[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
}) {
  const asked: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const pending: (() => void)[] = [];
  const flush = () => {
    // Everything asked so far is answered newest first.
    const batch = pending.splice(0).reverse();
    for (const answer of batch) answer();
  };
  const answer = <T>(query: string, value: T | undefined): Promise<T> => {
    asked.push(query);
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    return new Promise<T>((resolve, reject) => {
      pending.push(() => {
        inFlight--;
        if (value === undefined) reject(Object.assign(new Error(query), { code: 'ENODATA' }));
        else resolve(value);
      });
      if (pending.length === 1) setImmediate(flush);
    });
  };
  const addresses = (table: Record<string, string[]> | undefined, name: string) => {
    const found = table?.[name.toLowerCase()];
    return found?.map((address) => ({ address, ttl: 60 }));
  };
  const resolver: DnsQueries = {
    resolveNaptr: (name) => answer<never[]>(`NAPTR ${name}`, undefined),
    resolveSrv: (name) => answer(`SRV ${name}`, zone.srv?.[name.toLowerCase()]),
    resolve4: (name) => answer(`A ${name}`, addresses(zone.a, name)),
    resolve6: (name) => answer(`AAAA ${name}`, addresses(zone.aaaa, name)),
  };
  return {
    resolver,
    asked,
    get mostInFlight() {
      return mostInFlight;
    },
  };
}

/** Weights are drawn; a random of 0 takes each priority's records lightest first. */
const first = () => 0;

describe('RFC 3263 lookup: the queries it makes', () => {
  it("asks each host's A/AAAA once, however many SRV records of however many transports name it", async () => {
    const dns = countingResolver({
      srv: {
        '_sip._udp.carrier.test': [
          { name: 'gw1.carrier.test', port: 5090, priority: 10, weight: 0 },
          { name: 'GW1.carrier.test', port: 5092, priority: 20, weight: 0 },
          { name: 'gw2.carrier.test', port: 5091, priority: 30, weight: 0 },
        ],
        '_sip._tcp.carrier.test': [{ name: 'gw1.carrier.test', port: 5070, priority: 10, weight: 0 }],
      },
      a: { 'gw1.carrier.test': ['192.0.2.1'], 'gw2.carrier.test': ['192.0.2.2'] },
      aaaa: { 'gw2.carrier.test': ['2001:db8::2'] },
    });

    const located = await locate('sip:carrier.test', dns.resolver, first);

    expect(located).toEqual({
      ok: true,
      targets: [
        { transport: 'udp', host: '192.0.2.1', port: 5090 },
        { transport: 'udp', host: '192.0.2.1', port: 5092 },
        { transport: 'udp', host: '192.0.2.2', port: 5091 },
        { transport: 'udp', host: '2001:db8::2', port: 5091 },
        { transport: 'tcp', host: '192.0.2.1', port: 5070 },
      ],
      ttlSeconds: 60,
    });
    const addressQueries = dns.asked.filter((query) => /^(A|AAAA) /.test(query));
    expect(addressQueries.map((query) => query.toLowerCase()).sort()).toEqual([
      'a gw1.carrier.test',
      'a gw2.carrier.test',
      'aaaa gw1.carrier.test',
      'aaaa gw2.carrier.test',
    ]);
  });

  it("asks an SRV set's hosts side by side and keeps the SRV order when the answers come back reversed", async () => {
    const hosts = ['gw1', 'gw2', 'gw3', 'gw4'];
    const dns = countingResolver({
      srv: {
        '_sip._udp.carrier.test': hosts.map((host, index) => ({
          name: `${host}.carrier.test`,
          port: 5090 + index,
          priority: 10 * (hosts.length - index),
          weight: 0,
        })),
      },
      a: Object.fromEntries(hosts.map((host, index) => [`${host}.carrier.test`, [`192.0.2.${index + 1}`]])),
    });

    const located = await locate('sip:carrier.test;transport=udp', dns.resolver, first);

    // Priority 10 is gw4's, 40 gw1's: lowest first, whichever host answered first.
    expect(located).toMatchObject({
      ok: true,
      targets: [
        { host: '192.0.2.4', port: 5093 },
        { host: '192.0.2.3', port: 5092 },
        { host: '192.0.2.2', port: 5091 },
        { host: '192.0.2.1', port: 5090 },
      ],
    });
    // A and AAAA of every host were in flight at once: no host waited for another's answer.
    expect(dns.mostInFlight).toBe(2 * hosts.length);
  });

  it('a host DNS cannot answer for is skipped; the lookup fails with 503 only when no host resolved', async () => {
    const zone = {
      srv: {
        '_sip._udp.carrier.test': [
          { name: 'gw1.carrier.test', port: 5090, priority: 10, weight: 0 },
          { name: 'gw2.carrier.test', port: 5091, priority: 20, weight: 0 },
        ],
      },
      a: { 'gw2.carrier.test': ['192.0.2.2'] },
    };
    const timingOut = (names: string[]): DnsQueries => {
      const dns = countingResolver(zone);
      return {
        ...dns.resolver,
        resolve4: (name, options) =>
          names.includes(name)
            ? Promise.reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' }))
            : dns.resolver.resolve4(name, options),
      };
    };
    const located = await locate('sip:carrier.test;transport=udp', timingOut(['gw1.carrier.test']), first);
    expect(located).toMatchObject({
      ok: true,
      targets: [{ transport: 'udp', host: '192.0.2.2', port: 5091 }],
    });
    expect(
      await locate(
        'sip:carrier.test;transport=udp',
        timingOut(['gw1.carrier.test', 'gw2.carrier.test']),
        first,
      ),
    ).toEqual({ ok: false, status: 503, reason: 'DNS lookup of carrier.test failed (ETIMEOUT)' });
  });
});
