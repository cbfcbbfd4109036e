import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { type Raw, sample } from './fixtures.ts';

/** The problem lines parseConfig reports for the sample after `mutate`; fails if it does not throw. */
function problemsAfter(mutate: (c: Raw) => void): string[] {
  const raw = sample();
  mutate(raw);
  try {
    parseConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('parseConfig accepted an invalid config');
}

describe('parseConfig rejects a wrong field, naming it', () => {
  const cases: [string, (c: Raw) => void][] = [
    [
      'config: trunks[0].transferMode: expected one of disable-all, enable-all, sip-only (got "all")',
      (c) => {
        c.trunks[0].transferMode = 'all';
      },
    ],
    [
      'config: trunks[0].transferCallerId: expected one of from-transferee, from-transferor (got "pbx")',
      (c) => {
        c.trunks[0].transferCallerId = 'pbx';
      },
    ],
    [
      'config: trunks[0].transferMode: required: expected one of disable-all, enable-all, sip-only',
      (c) => {
        delete c.trunks[0].transferMode;
      },
    ],
    [
      'config: sip.port: expected a port number 0-65535 (got 70000)',
      (c) => {
        c.sip.port = 70000;
      },
    ],
    [
      'config: sip.port: expected a port number 0-65535 (got -1)',
      (c) => {
        c.sip.port = -1;
      },
    ],
    [
      'config: http.port: expected a whole number (got 80.5)',
      (c) => {
        c.http.port = 80.5;
      },
    ],
    [
      'config: http.port: expected a number (got "8080")',
      (c) => {
        c.http.port = '8080';
      },
    ],
    [
      'config: http.host: required',
      (c) => {
        delete c.http.host;
      },
    ],
    [
      'config: sip.publicHost: required',
      (c) => {
        delete c.sip.publicHost;
      },
    ],
    [
      'config: sip.publicHost: expected a host name or IP address (got "my host")',
      (c) => {
        c.sip.publicHost = 'my host';
      },
    ],
    [
      // The adapter always listens on UDP and TCP; a transports list would be a promise it ignores.
      'config: sip.transports: unknown field',
      (c) => {
        c.sip.transports = ['udp'];
      },
    ],
    [
      'config: sip.transport: unknown field',
      (c) => {
        c.sip.transport = 'udp';
      },
    ],
    [
      'config: colour: unknown field',
      (c) => {
        c.colour = 'blue';
      },
    ],
    [
      'config: store.kind: expected one of sqlite, postgres, eventstoredb, memory (got "mysql")',
      (c) => {
        c.store.kind = 'mysql';
      },
    ],
    [
      'config: store.kind: required: expected one of sqlite, postgres, eventstoredb, memory',
      (c) => {
        c.store = { path: 'x.db' };
      },
    ],
    [
      'config: store.path: required',
      (c) => {
        c.store = { kind: 'sqlite' };
      },
    ],
    [
      'config: store.url: unknown field',
      (c) => {
        c.store.url = 'esdb://x';
      },
    ],
    [
      'config: store.url: required',
      (c) => {
        c.store = { kind: 'eventstoredb' };
      },
    ],
    [
      'config: store.url: expected a URL such as "esdb://localhost:2113?tls=false" (got "http://localhost:2113")',
      (c) => {
        c.store = { kind: 'eventstoredb', url: 'http://localhost:2113' };
      },
    ],
    [
      'config: store.url: expected a URL such as "postgres://pivot@localhost:5432/pivot" (got "not a url")',
      (c) => {
        c.store = { kind: 'postgres', url: 'not a url' };
      },
    ],
    [
      'config: bus.kind: expected one of inprocess, nats (got "kafka")',
      (c) => {
        c.bus = { kind: 'kafka' };
      },
    ],
    [
      'config: bus.url: required',
      (c) => {
        c.bus = { kind: 'nats' };
      },
    ],
    [
      'config: bus.url: expected a URL such as "nats://127.0.0.1:4222" (got "redis://x")',
      (c) => {
        c.bus = { kind: 'nats', url: 'redis://x' };
      },
    ],
    [
      'config: bus.partitions: expected a whole number >= 1 (got 0)',
      (c) => {
        c.bus = { kind: 'nats', url: 'nats://127.0.0.1:4222', partitions: 0 };
      },
    ],
    [
      'config: carrier.uri: expected a sip: or sips: URI such as "sip:127.0.0.1:5090" (got "tel:+15550100")',
      (c) => {
        c.carrier.uri = 'tel:+15550100';
      },
    ],
    [
      'config: carrier: required',
      (c) => {
        delete c.carrier;
      },
    ],
    [
      'config: transfer.noAnswerTimeoutSeconds: expected a whole number of seconds >= 1 (got 0)',
      (c) => {
        c.transfer.noAnswerTimeoutSeconds = 0;
      },
    ],
    [
      'config: transfer.byeFallbackSeconds: expected a whole number (got 1.5)',
      (c) => {
        c.transfer.byeFallbackSeconds = 1.5;
      },
    ],
    [
      'config: transfer.noAnswerTimeout: unknown field',
      (c) => {
        c.transfer.noAnswerTimeout = 30;
      },
    ],
    [
      'config: trunks: expected at least one trunk (got [])',
      (c) => {
        c.trunks = [];
      },
    ],
    [
      'config: trunks: expected a list (got {"name":"acme"})',
      (c) => {
        c.trunks = { name: 'acme' };
      },
    ],
    [
      'config: trunks[0].name: expected a name of letters, digits, ".", "_" or "-" (got "a b")',
      (c) => {
        c.trunks[0].name = 'a b';
      },
    ],
    [
      'config: trunks[0].domain: expected a domain name such as "acme.pstn.pivot.test" (got "acme..test")',
      (c) => {
        c.trunks[0].domain = 'acme..test';
      },
    ],
    [
      'config: trunks[0].acl[1]: expected an IPv4 or IPv6 CIDR such as "192.0.2.0/24" (got "10.0.0.0/33")',
      (c) => {
        c.trunks[0].acl = ['127.0.0.1/32', '10.0.0.0/33'];
      },
    ],
    [
      'config: trunks[0].acl[0]: expected an IPv4 or IPv6 CIDR such as "192.0.2.0/24" (got "2001:db8::/129")',
      (c) => {
        c.trunks[0].acl = ['2001:db8::/129'];
      },
    ],
    [
      'config: trunks[0].acl[0]: expected an IPv4 or IPv6 CIDR such as "192.0.2.0/24" (got "10.0.0.1")',
      (c) => {
        c.trunks[0].acl = ['10.0.0.1'];
      },
    ],
    [
      'config: trunks[0].acl[0]: expected an IPv4 or IPv6 CIDR such as "192.0.2.0/24" (got "256.0.0.0/8")',
      (c) => {
        c.trunks[0].acl = ['256.0.0.0/8'];
      },
    ],
    [
      'config: trunks[0].acl: expected at least one CIDR (got [])',
      (c) => {
        c.trunks[0].acl = [];
      },
    ],
    [
      'config: trunks[0].originationUri: expected a sip: or sips: URI such as "sip:127.0.0.1:5090" (got "127.0.0.1:5070")',
      (c) => {
        c.trunks[0].originationUri = '127.0.0.1:5070';
      },
    ],
    [
      'config: trunks[0].originationUri: expected a sip: or sips: URI such as "sip:127.0.0.1:5090" (got "sip:pbx?Subject=x")',
      (c) => {
        c.trunks[0].originationUri = 'sip:pbx?Subject=x';
      },
    ],
    [
      'config: trunks[0].numbers[0]: expected an E.164 number such as "+15550100000" (got "15550100000")',
      (c) => {
        c.trunks[0].numbers = ['15550100000'];
      },
    ],
    [
      'config: trunks[0].numbers[0]: expected an E.164 number such as "+15550100000" (got "+1 555 0100")',
      (c) => {
        c.trunks[0].numbers = ['+1 555 0100'];
      },
    ],
    [
      'config: trunks[0].numbers[0]: expected a string (got 15550100000; quote it in YAML)',
      (c) => {
        c.trunks[0].numbers = [15550100000];
      },
    ],
    [
      'config: trunks[0].maxTransfersPerCall: expected a whole number >= 1 (use transferMode: disable-all to refuse transfers) (got 0)',
      (c) => {
        c.trunks[0].maxTransfersPerCall = 0;
      },
    ],
    [
      'config: trunks[0].rates.currency: expected an ISO 4217 currency code such as "USD" (got "usd")',
      (c) => {
        c.trunks[0].rates.currency = 'usd';
      },
    ],
    [
      'config: trunks[0].rates.termination["44"]: expected "" (the default) or a quoted "+digits" prefix (got "44")',
      (c) => {
        c.trunks[0].rates.termination = { '': 0.01, '44': 0.02 };
      },
    ],
    [
      'config: trunks[0].rates.origination[""]: expected a rate >= 0 (got -0.1)',
      (c) => {
        c.trunks[0].rates.origination = { '': -0.1 };
      },
    ],
    [
      'config: trunks[0].rates.origination: expected a default rate "" in the deck (got {"+1":0.01})',
      (c) => {
        c.trunks[0].rates.origination = { '+1': 0.01 };
      },
    ],
    [
      'config: trunks[0].rates.termination: required',
      (c) => {
        delete c.trunks[0].rates.termination;
      },
    ],
    [
      'config: trunks[0].rate: unknown field',
      (c) => {
        c.trunks[0].rate = 1;
      },
    ],
  ];

  it.each(cases)('%s', (expected, mutate) => {
    expect(problemsAfter(mutate)).toContain(expected);
  });

  it('reports a non-mapping document', () => {
    expect(() => parseConfig(null)).toThrow('config: expected a mapping (got null)');
    expect(() => parseConfig('sip: 1')).toThrow('config: expected a mapping (got "sip: 1")');
  });

  it('reports every bad field at once, one line each', () => {
    const problems = problemsAfter((c) => {
      c.sip.port = 'x';
      c.trunks[0].transferMode = 'all';
      c.extra = true;
    });
    expect(problems).toEqual([
      'config: sip.port: expected a number (got "x")',
      'config: trunks[0].transferMode: expected one of disable-all, enable-all, sip-only (got "all")',
      'config: extra: unknown field',
    ]);
  });

  it('puts the problems in the error message, one per line', () => {
    const raw = sample();
    raw.sip.port = 'x';
    raw.http.port = 'y';
    expect(() => parseConfig(raw)).toThrow(
      'config: sip.port: expected a number (got "x")\nconfig: http.port: expected a number (got "y")',
    );
  });
});

describe('uniqueness across trunks', () => {
  const second = (c: Raw, over: Raw) => {
    c.trunks.push({
      ...structuredClone(c.trunks[0]),
      name: 'beta',
      domain: 'beta.example',
      numbers: [],
      ...over,
    });
  };

  it('rejects a duplicate trunk name', () => {
    expect(problemsAfter((c) => second(c, { name: 'acme' }))).toEqual([
      'config: trunks[1].name: duplicate trunk name "acme" (also trunks[0].name)',
    ]);
  });

  it('rejects a duplicate domain, ignoring case', () => {
    expect(problemsAfter((c) => second(c, { domain: 'ACME.pstn.pivot.test' }))).toEqual([
      'config: trunks[1].domain: duplicate domain "ACME.pstn.pivot.test" (also trunks[0].domain)',
    ]);
  });

  it('rejects a number on two trunks', () => {
    expect(problemsAfter((c) => second(c, { numbers: ['+442071234567', '+15550100000'] }))).toEqual([
      'config: trunks[1].numbers[1]: duplicate number "+15550100000" (also trunks[0].numbers[0])',
    ]);
  });

  it('rejects a number listed twice on one trunk', () => {
    expect(
      problemsAfter((c) => {
        c.trunks[0].numbers.push('+15550100000');
      }),
    ).toEqual(['config: trunks[0].numbers[1]: duplicate number "+15550100000" (also trunks[0].numbers[0])']);
  });

  it('reports duplicates together with other problems', () => {
    const problems = problemsAfter((c) => second(c, { name: 'acme', transferMode: 'sometimes' }));
    expect(problems).toContain('config: trunks[1].name: duplicate trunk name "acme" (also trunks[0].name)');
    expect(problems).toContain(
      'config: trunks[1].transferMode: expected one of disable-all, enable-all, sip-only (got "sometimes")',
    );
  });

  it("allows a trunk name equal to another trunk's domain", () => {
    const raw = sample();
    second(raw, { name: 'beta.example' });
    expect(() => parseConfig(raw)).not.toThrow();
  });
});
