import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.ts';
import { type Raw, sample, samplePath } from './fixtures.ts';

describe('config/pivot.sample.yaml', () => {
  it('loads with the values of docs/architecture.md', () => {
    const config = loadConfig(samplePath);
    expect(config.sip).toEqual({
      host: '127.0.0.1',
      port: 5060,
      publicHost: '127.0.0.1',
    });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.store).toEqual({ kind: 'sqlite', path: './data/pivot.db' });
    expect(config.bus).toEqual({ kind: 'inprocess' });
    expect(config.carrier).toEqual({ uri: 'sip:127.0.0.2:5090' });
    expect(config.transfer).toEqual({ noAnswerTimeoutSeconds: 30, byeFallbackSeconds: 32 });
    expect(config.trunks).toEqual([
      {
        name: 'acme',
        domain: 'acme.pstn.pivot.test',
        acl: ['127.0.0.1/32'],
        originationUri: 'sip:127.0.0.1:5070',
        numbers: ['+15550100000'],
        transferMode: 'enable-all',
        transferCallerId: 'from-transferee',
        callerIdRule: 'e164',
        maxTransfersPerCall: 5,
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045, '+44': 0.011 } },
      },
    ]);
  });
});

describe('defaults', () => {
  it('fills transfer timers, transferCallerId and maxTransfersPerCall', () => {
    const raw = sample();
    delete raw.transfer;
    delete raw.trunks[0].transferCallerId;
    delete raw.trunks[0].maxTransfersPerCall;
    const config = parseConfig(raw);
    expect(config.transfer).toEqual({ noAnswerTimeoutSeconds: 30, byeFallbackSeconds: 32 });
    expect(config.trunks[0]!.transferCallerId).toBe('from-transferee');
    expect(config.trunks[0]!.maxTransfersPerCall).toBe(5);
  });

  it('fills one transfer timer when only the other is given', () => {
    const raw = sample();
    raw.transfer = { noAnswerTimeoutSeconds: 10 };
    expect(parseConfig(raw).transfer).toEqual({ noAnswerTimeoutSeconds: 10, byeFallbackSeconds: 32 });
  });
});

describe('accepted variants', () => {
  const cases: [string, (c: Raw) => void][] = [
    [
      'store postgres',
      (c) => {
        c.store = { kind: 'postgres', url: 'postgres://pivot@localhost:5432/pivot' };
      },
    ],
    [
      'store eventstoredb',
      (c) => {
        c.store = { kind: 'eventstoredb', url: 'esdb://localhost:2113?tls=false' };
      },
    ],
    [
      'store memory',
      (c) => {
        c.store = { kind: 'memory' };
      },
    ],
    [
      'bus nats',
      (c) => {
        c.bus = { kind: 'nats', url: 'nats://127.0.0.1:4222' };
      },
    ],
    [
      'IPv6 CIDRs',
      (c) => {
        c.trunks[0].acl = ['2001:db8::/32', '::1/128', '10.0.0.0/8'];
      },
    ],
    [
      'ephemeral ports',
      (c) => {
        c.sip.port = 0;
        c.http.port = 0;
      },
    ],
    [
      'no numbers',
      (c) => {
        c.trunks[0].numbers = [];
      },
    ],
    [
      'sips origination',
      (c) => {
        c.trunks[0].originationUri = 'sips:pbx.example.com;transport=tcp';
      },
    ],
    [
      'sip-only + from-transferor',
      (c) => {
        c.trunks[0].transferMode = 'sip-only';
        c.trunks[0].transferCallerId = 'from-transferor';
      },
    ],
    [
      'two distinct trunks',
      (c) => {
        c.trunks.push({ ...c.trunks[0], name: 'beta', domain: 'beta.example', numbers: ['+442071234567'] });
      },
    ],
  ];
  it.each(cases)('%s', (_name, mutate) => {
    const raw = sample();
    mutate(raw);
    expect(() => parseConfig(raw)).not.toThrow();
  });
});
