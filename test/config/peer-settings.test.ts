/**
 * The settings for reaching peers: credentials for their digest challenges (a password, or `${NAME}`
 * read from the environment, an unset variable named as the field's problem) and the DNS section.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { sample } from './fixtures.ts';

const VARIABLE = 'PIVOT_TEST_PEER_PASSWORD';
const reference = ['$', `{${VARIABLE}}`].join('');

afterEach(() => {
  delete process.env[VARIABLE];
});

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('accepted');
}

describe('peer credentials and DNS settings', () => {
  it('a password written as a variable reference is read from the environment', () => {
    process.env[VARIABLE] = 'from-the-environment';
    const raw = sample();
    raw.carrier.credentials = { username: 'pivot', password: reference };
    raw.originationCredentials = { acme: { username: 'pbx', password: 'written-out' } };
    const config = parseConfig(raw);
    expect(config.carrier.credentials).toEqual({ username: 'pivot', password: 'from-the-environment' });
    expect(config.originationCredentials?.acme?.password).toBe('written-out');
  });

  it('an unset variable is a problem naming the field, not an empty password', () => {
    const raw = sample();
    raw.carrier.credentials = { username: 'pivot', password: reference };
    expect(problems(raw)).toEqual([
      `config: carrier.credentials.password: environment variable ${VARIABLE} is not set`,
    ]);
  });

  it('dns.servers takes addresses with optional ports; anything else is named', () => {
    const raw = sample();
    raw.dns = { servers: ['127.0.0.1:5353', '[::1]:53', '192.0.2.53'], minTtlSeconds: 1 };
    expect(parseConfig(raw).dns?.servers).toEqual(['127.0.0.1:5353', '[::1]:53', '192.0.2.53']);
    raw.dns = { servers: ['dns.example.com'] };
    expect(problems(raw)[0]).toMatch(/^config: dns\.servers\[0\]: expected an IP address/);
  });
});

describe('per-peer TLS trust', () => {
  const withPeers = (peers: unknown[]) => {
    const raw = sample();
    return { ...raw, sip: { ...raw.sip, tls: { certificate: 'pivot.pem', key: 'pivot.key', peers } } };
  };

  it('takes a peer with its own CA, and one pinned by fingerprint with or without colons', () => {
    const hex = 'ab'.repeat(32);
    const colons = hex.match(/../g)!.join(':');
    const config = parseConfig(
      withPeers([
        { host: 'gw.carrier.example', ca: 'carrier-ca.pem' },
        { host: '192.0.2.10', port: 5061, fingerprint: colons },
        { host: '192.0.2.11', fingerprint: hex },
      ]),
    );
    expect(config.sip.tls?.peers).toEqual([
      { host: 'gw.carrier.example', ca: 'carrier-ca.pem' },
      { host: '192.0.2.10', port: 5061, fingerprint: colons },
      { host: '192.0.2.11', fingerprint: hex },
    ]);
  });

  it('a peer with neither CA nor fingerprint, or a short fingerprint, is a problem naming the field', () => {
    expect(problems(withPeers([{ host: '192.0.2.10' }])).join('\n')).toMatch(
      /sip\.tls\.peers\[0\].*ca or fingerprint/,
    );
    expect(problems(withPeers([{ host: '192.0.2.10', fingerprint: 'AB:CD' }])).join('\n')).toMatch(
      /sip\.tls\.peers\[0\]\.fingerprint.*SHA-256/,
    );
  });
});

describe('client certificates on the TLS listener', () => {
  const withClients = (clientCertificates: unknown, tlsClient: unknown) => {
    const raw = sample();
    const tls = {
      certificate: 'pivot.pem',
      key: 'pivot.key',
      ...(clientCertificates === undefined ? {} : { clientCertificates, clientCa: 'pbx-ca.pem' }),
    };
    return {
      ...raw,
      sip: { ...raw.sip, tls },
      trunks: raw.trunks.map((trunk: object, index: number) =>
        index === 0 ? { ...trunk, tlsClient } : trunk,
      ),
    };
  };

  it('takes request or require, and a trunk naming its PBX by fingerprints or names', () => {
    const fingerprint = 'AB'.repeat(32);
    const config = parseConfig(
      withClients('require', { fingerprints: [fingerprint], names: ['pbx.acme.example'] }),
    );
    expect(config.sip.tls).toMatchObject({ clientCertificates: 'require', clientCa: 'pbx-ca.pem' });
    expect(config.trunks[0]?.tlsClient).toEqual({ fingerprints: [fingerprint], names: ['pbx.acme.example'] });
  });

  it('each wrong value is a problem naming its field', () => {
    expect(problems(withClients('always', { names: ['pbx'] })).join('\n')).toMatch(
      /sip\.tls\.clientCertificates: .*request.*require/,
    );
    expect(problems(withClients('request', {})).join('\n')).toMatch(
      /trunks\[0\]\.tlsClient: expected fingerprints or names/,
    );
    expect(problems(withClients('request', { fingerprints: ['AB:CD'] })).join('\n')).toMatch(
      /trunks\[0\]\.tlsClient\.fingerprints\[0\]: expected a SHA-256 fingerprint/,
    );
    expect(problems(withClients('request', { names: ['two words'] })).join('\n')).toMatch(
      /trunks\[0\]\.tlsClient\.names\[0\]: expected a name without spaces/,
    );
    const raw = sample();
    raw.sip.tls = { certificate: 'pivot.pem', key: 'pivot.key', clientCa: 'pbx-ca.pem' };
    expect(problems(raw).join('\n')).toMatch(/sip\.tls\.clientCa: expected clientCertificates/);
    // A trunk that takes only certificates the listener never asks for could take no call.
    expect(problems(withClients(undefined, { names: ['pbx'] })).join('\n')).toMatch(
      /trunks\[0\]\.tlsClient: expected sip\.tls\.clientCertificates/,
    );
  });
});
