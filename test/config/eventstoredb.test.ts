/**
 * EventStoreDB connection strings are checked as the installed client reads them: a cluster's seed list
 * and esdb+discover are accepted, other schemes and unknown options are named; secure-mode settings
 * given apart (credentials, possibly from the environment, and a CA file) end up in the string the
 * client gets, and the client parses it.
 */
// The client's own parser, to hold the check to the same grammar.
import { parseConnectionString } from '@eventstore/db-client/dist/Client/parseConnectionString.js';
import { afterEach, describe, expect, it } from 'vitest';
import { esdbUrlProblem } from '../../src/config/esdbUrl.ts';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { esdbConnectionString } from '../../src/store/eventstoredb/connectionString.ts';
import { sample } from './fixtures.ts';

afterEach(() => {
  delete process.env.PIVOT_TEST_ESDB_PASSWORD;
});

describe('EventStoreDB connection strings', () => {
  const accepted = [
    'esdb://localhost:2113?tls=false',
    'esdb://a:2113,b:2113,c:2113?tls=false',
    'esdb+discover://cluster.example.com:2113',
    'esdb://admin:changeit@a:2113,b:2113?tls=true&tlsCAFile=/certs/ca.crt&nodePreference=leader',
    'esdb://node1?tlsVerifyCert=false',
  ];
  for (const text of accepted) {
    it(`accepts ${text}, as the client does`, () => {
      expect(esdbUrlProblem(text)).toBeUndefined();
      expect(() => parseConnectionString(text)).not.toThrow();
    });
  }
  const refused: [string, RegExp][] = [
    [
      'kurrentdb://localhost:2113',
      /^expected esdb:\/\/ or esdb\+discover:\/\/ \(the EventStoreDB client in use does not read kurrentdb:\/\/\)$/,
    ],
    ['esdb://a:2113,,b:2113', /host\[:port\]/],
    ['esdb://a:2113?colour=blue', /^unknown connection option colour$/],
    ['localhost:2113', /^expected a URL such as/],
  ];
  for (const [text, problem] of refused) {
    it(`refuses ${text}`, () => {
      expect(esdbUrlProblem(text)).toMatch(problem);
    });
  }

  it('the config names the field; a cluster string parses', () => {
    const raw = sample();
    raw.store = { kind: 'eventstoredb', url: 'esdb://a:2113,b:2113,c:2113?tls=false' };
    expect(parseConfig(raw).store).toMatchObject({ url: 'esdb://a:2113,b:2113,c:2113?tls=false' });
    raw.store = { kind: 'eventstoredb', url: 'kurrentdb://a:2113' };
    try {
      parseConfig(raw);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems[0]).toMatch(/^config: store\.url: expected esdb:\/\//);
    }
  });

  it('secure mode: credentials (from the environment) and the CA file reach the client', () => {
    process.env.PIVOT_TEST_ESDB_PASSWORD = 'p@ss:word';
    const raw = sample();
    raw.store = {
      kind: 'eventstoredb',
      url: 'esdb://a:2113,b:2113?tls=true',
      username: 'pivot-reader',
      password: ['$', '{PIVOT_TEST_ESDB_PASSWORD}'].join(''),
      tlsCaFile: '/certs/ca.crt',
    };
    const store = parseConfig(raw).store as Parameters<typeof esdbConnectionString>[0];
    const parsed = parseConnectionString(esdbConnectionString(store));
    expect(parsed).toMatchObject({
      hosts: [
        { address: 'a', port: 2113 },
        { address: 'b', port: 2113 },
      ],
      defaultCredentials: { username: 'pivot-reader', password: 'p@ss:word' },
      tls: true,
      tlsCAFile: '/certs/ca.crt',
    });
  });
});
