import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostNetwork } from '../../machines/ip-literal.ts';
import { carrierNetworks, pivotNetworks, screenRefer } from '../../src/engine/targetGuards.ts';
import { trunkDirectory } from '../../src/engine/trunks.ts';
import { testConfig } from '../helpers/sipInputs.ts';

describe('pivotNetworks', () => {
  it('a pivot bound to one address is reached there, at its public address and at "this host"', () => {
    expect(pivotNetworks({ host: '10.0.0.5', publicHost: '203.0.113.5' }).sort()).toEqual(
      ['0.0.0.0/32', '10.0.0.5/32', '203.0.113.5/32', '::/128'].sort(),
    );
  });

  it('a public host name adds nothing (names are never reached as targets)', () => {
    expect(pivotNetworks({ host: '127.0.0.1', publicHost: 'pivot.example.com' })).not.toContain(
      'pivot.example.com',
    );
  });

  it('a pivot bound to every address is reached at the loopback block and every interface', () => {
    const networks = pivotNetworks({ host: '0.0.0.0', publicHost: '203.0.113.5' });
    expect(networks).toEqual(expect.arrayContaining(['127.0.0.0/8', '::1/128', '203.0.113.5/32']));
    const interfaces = Object.values(networkInterfaces())
      .flat()
      .map((info) => (info ? hostNetwork(info.address) : undefined))
      .filter((n): n is string => n !== undefined);
    expect(networks).toEqual(expect.arrayContaining(interfaces));
    expect(pivotNetworks({ host: '::', publicHost: '::1' })).toContain('127.0.0.0/8');
  });
});

describe('carrierNetworks', () => {
  it("is the carrier's resolved address and its sources", () => {
    const config = testConfig();
    const withSources = { ...config, carrier: { ...config.carrier, sources: ['198.51.100.0/24'] } };
    expect(carrierNetworks(withSources, trunkDirectory(withSources))).toEqual([
      '127.0.0.2/32',
      '198.51.100.0/24',
    ]);
  });
});

describe('screenRefer', () => {
  it('passes clean values through unchanged', () => {
    expect(screenRefer(['<sip:bob@127.0.0.1:5080>'], '<sip:agent@pbx>')).toEqual({
      referTo: ['<sip:bob@127.0.0.1:5080>'],
      referredBy: '<sip:agent@pbx>',
    });
    expect(screenRefer([], undefined)).toEqual({ referTo: [] });
  });

  it('escapes both values and names the first problem', () => {
    expect(screenRefer(['<sip:bob@h>'], '<sip:a@h>\x1b')).toEqual({
      referTo: ['<sip:bob@h>'],
      referredBy: '<sip:a@h>%1B',
      malformed: 'control character in Referred-By',
    });
  });
});
