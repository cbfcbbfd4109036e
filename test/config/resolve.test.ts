import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { type Lookup, resolveHosts } from '../../src/config/resolve.ts';
import { sample } from './fixtures.ts';

const names: Record<string, { address: string; family: number }> = {
  'gw.carrier.example': { address: '192.0.2.10', family: 4 },
  'pbx.acme.example': { address: '2001:db8::5', family: 6 },
};
const lookup: Lookup = async (host) => {
  const found = names[host];
  if (!found) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
  return found;
};

describe('host names in the URIs the pivot sends to', () => {
  it('are replaced by their address, keeping user, port and parameters', async () => {
    const raw = sample();
    raw.carrier.uri = 'sip:gw.carrier.example:5090;transport=tcp';
    raw.trunks[0].originationUri = 'sip:inbound@pbx.acme.example';
    const config = await resolveHosts(parseConfig(raw), lookup);
    expect(config.carrier.uri).toBe('sip:192.0.2.10:5090;transport=tcp');
    expect(config.trunks[0]!.originationUri).toBe('sip:inbound@[2001:db8::5]');
  });

  it('leave IP literals alone without a lookup', async () => {
    const config = parseConfig(sample());
    const resolved = await resolveHosts(config, () => Promise.reject(new Error('no lookup expected')));
    expect(resolved.carrier.uri).toBe(config.carrier.uri);
    expect(resolved.trunks[0]!.originationUri).toBe(config.trunks[0]!.originationUri);
  });

  it('stop the program with the field named when a name does not resolve', async () => {
    const raw = sample();
    raw.trunks[0].originationUri = 'sip:nowhere.example:5070';
    const error = await resolveHosts(parseConfig(raw), lookup).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'config: trunks[0].originationUri: host nowhere.example does not resolve (getaddrinfo ENOTFOUND nowhere.example)',
    ]);
  });
});
