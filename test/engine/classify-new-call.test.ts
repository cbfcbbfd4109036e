/**
 * A new INVITE from a PBX: which trunk it is for (the Request-URI's host), whether its source and
 * credentials may use that trunk, and who the carrier is told the caller is.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CallReceived } from '../../machines/events.ts';
import { emptySession } from '../../machines/session.ts';
import { type PivotConfigInput, parseConfig } from '../../src/config/index.ts';
import { type Classification, classify } from '../../src/engine/classify.ts';
import { parseDigest } from '../../src/engine/digest.ts';
import { trunkDirectory } from '../../src/engine/trunks.ts';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { pbxInvite } from '../helpers/sipInputs.ts';

const ROOT = 'CA0123456789abcdef0123456789abcdef';
const NOW = '2026-03-14T09:00:00.000Z';

type TrunkInput = PivotConfigInput['trunks'][number];

const trunk = (name: string, domain: string, extra: Partial<TrunkInput> = {}): TrunkInput => ({
  name,
  domain,
  acl: ['127.0.0.1/32'],
  originationUri: 'sip:127.0.0.1:5070',
  numbers: ['+15550100000'],
  transferMode: 'enable-all',
  rates: { currency: 'USD', origination: { '': 0.01 }, termination: { '': 0.01 } },
  ...extra,
});

function config(trunks: TrunkInput[], extra: Partial<PivotConfigInput> = {}) {
  return parseConfig({
    sip: { host: '127.0.0.1', port: 5060, publicHost: '192.0.2.10', digestAlgorithms: ['SHA-256', 'MD5'] },
    http: { host: '127.0.0.1', port: 8080 },
    store: { kind: 'memory' },
    bus: { kind: 'inprocess' },
    carrier: { uri: 'sip:127.0.0.2:5090' },
    trunks,
    ...extra,
  });
}

function run(input: SipRequestInput, cfg: ReturnType<typeof config>, now = NOW): Classification {
  return classify(emptySession(ROOT), input, {
    config: cfg,
    trunks: trunkDirectory(cfg),
    now,
    newSid: (prefix) => `${prefix}${'0'.repeat(32)}`,
  });
}

function invite(overrides: Partial<SipRequestInput> = {}): SipRequestInput {
  return { ...pbxInvite(), ...overrides };
}

function received(result: Classification): CallReceived {
  if (result.kind !== 'input' || result.event.type !== 'CallReceived') {
    throw new Error(`expected CallReceived, got ${JSON.stringify(result)}`);
  }
  return result.event;
}

function refused(result: Classification): { status: number; why: string; headers: Record<string, unknown> } {
  if (result.kind !== 'reply') throw new Error(`expected a reply, got ${result.kind}`);
  return { status: result.command.status, why: result.why, headers: result.command.headers ?? {} };
}

describe('trunk identification by Request-URI host', () => {
  const twoTrunks = config([
    trunk('sales', 'sales.pstn.pivot.test', { transferMode: 'sip-only' }),
    trunk('support', 'support.pstn.pivot.test', { transferMode: 'enable-all', numbers: ['+15550100001'] }),
  ]);

  it('two trunks behind one PBX address: each call lands on the trunk its domain names', () => {
    const sales = received(run(invite({ uri: 'sip:+15550200000@sales.pstn.pivot.test' }), twoTrunks));
    const support = received(
      run(invite({ uri: 'sip:+15550200000@SUPPORT.pstn.pivot.test;user=phone' }), twoTrunks),
    );
    expect(sales.trunkName).toBe('sales');
    expect(support.trunkName).toBe('support');
  });

  it('an unknown domain gets 404 naming it', () => {
    const answer = refused(run(invite({ uri: 'sip:+15550200000@other.example' }), twoTrunks));
    expect(answer.status).toBe(404);
    expect(answer.why).toContain('other.example');
  });

  it("a source outside the named trunk's ACL gets 403, even when another trunk admits it", () => {
    const cfg = config([
      trunk('sales', 'sales.pstn.pivot.test', { acl: ['10.1.0.0/16'] }),
      trunk('support', 'support.pstn.pivot.test', { numbers: ['+15550100001'] }),
    ]);
    const answer = refused(run(invite({ uri: 'sip:+15550200000@sales.pstn.pivot.test' }), cfg));
    expect(answer).toMatchObject({ status: 403 });
    expect(answer.why).toContain('ACL of trunk sales');
  });

  it('a call from any of the carrier source blocks is origination', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')], {
      carrier: { uri: 'sip:127.0.0.2:5090', sources: ['127.0.9.0/24'] },
    });
    const fromGateway2 = invite({
      uri: 'sip:+15550100000@192.0.2.10',
      from: { uri: 'sip:+13125550142@127.0.9.7', params: { tag: 'gw2' } },
      source: { transport: 'udp', host: '127.0.9.7', port: 5060 },
    });
    const event = received(run(fromGateway2, cfg));
    expect(event.direction).toBe('trunking-originating');
    expect(event.from).toBe('+13125550142');
  });
});

describe('digest authentication (RFC 3261 §22, RFC 8760)', () => {
  const cfg = config([trunk('acme', 'acme.pstn.pivot.test', { acl: ['0.0.0.0/0'], credentialList: 'pbx' })], {
    credentialLists: { pbx: [{ username: 'acme-pbx', password: 'correct horse' }] },
  });

  function answerChallenge(
    challenge: string,
    options: { password?: string; algorithm?: 'MD5' | 'SHA-256'; header?: string } = {},
  ) {
    const params = parseDigest(challenge)!;
    const algorithm = options.algorithm ?? 'SHA-256';
    const h = (text: string) =>
      createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
        .update(text)
        .digest('hex');
    const uri = 'sip:+15550200000@acme.pstn.pivot.test';
    const ha1 = h(`acme-pbx:${params.realm}:${options.password ?? 'correct horse'}`);
    const ha2 = h(`INVITE:${uri}`);
    const response = h(`${ha1}:${params.nonce}:00000001:c0ffee:auth:${ha2}`);
    const value =
      `Digest username="acme-pbx", realm="${params.realm}", nonce="${params.nonce}", uri="${uri}", ` +
      `response="${response}", algorithm=${algorithm}, qop=auth, nc=00000001, cnonce="c0ffee"`;
    return invite({ headers: { [options.header ?? 'proxy-authorization']: [value] } });
  }

  function challengeOf(now = NOW): string[] {
    const answer = refused(run(invite(), cfg, now));
    expect(answer.status).toBe(407);
    return answer.headers['Proxy-Authenticate'] as string[];
  }

  it('an INVITE without credentials is challenged as configured: SHA-256 first, then MD5', () => {
    const offered = challengeOf();
    expect(offered).toHaveLength(2);
    expect(offered[0]).toMatch(
      /^Digest realm="acme\.pstn\.pivot\.test", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/,
    );
    expect(offered[1]).toMatch(/algorithm=MD5/);
  });

  it('the right password with SHA-256 or MD5, as Proxy-Authorization or Authorization, places the call', () => {
    const [sha, md5] = challengeOf();
    expect(received(run(answerChallenge(sha!), cfg)).trunkName).toBe('acme');
    expect(received(run(answerChallenge(md5!, { algorithm: 'MD5' }), cfg)).trunkName).toBe('acme');
    expect(received(run(answerChallenge(sha!, { header: 'authorization' }), cfg)).trunkName).toBe('acme');
  });

  it('a wrong password gets 403, not another challenge', () => {
    const [sha] = challengeOf();
    const answer = refused(run(answerChallenge(sha!, { password: 'wrong horse' }), cfg));
    expect(answer.status).toBe(403);
    expect(answer.why).toContain('wrong password');
  });

  it('an expired nonce is challenged again with stale=true', () => {
    const [sha] = challengeOf('2026-03-14T08:50:00.000Z');
    const answer = refused(run(answerChallenge(sha!), cfg));
    expect(answer.status).toBe(407);
    expect((answer.headers['Proxy-Authenticate'] as string[])[0]).toContain('stale=true');
  });

  it('a nonce the pivot did not issue is challenged again', () => {
    const [sha] = challengeOf();
    const forged = sha!.replace(/nonce="(\d+)\.[^"]+"/, 'nonce="$1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"');
    expect(refused(run(answerChallenge(forged), cfg)).status).toBe(407);
  });

  it('a credentialList naming no list stops start-up naming the field', () => {
    expect(() => config([trunk('acme', 'acme.pstn.pivot.test', { credentialList: 'nope' })])).toThrow(
      /trunks\[0\]\.credentialList: expected the name of a list in credentialLists/,
    );
  });
});

describe('caller identity toward the carrier', () => {
  const fromUri = (uri: string, displayName?: string) => ({
    uri,
    params: { tag: 'pbxtag' },
    ...(displayName ? { displayName } : {}),
  });

  it('an extension as From becomes the trunk main number, display name kept, a well-formed URI', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test', { mainNumber: '+15550100099' })]);
    const event = received(run(invite({ from: fromUri('sip:1001@pbx.example', 'Front Desk') }), cfg));
    expect(event.outbound.local.uri).toBe('sip:+15550100099@192.0.2.10');
    expect(event.outbound.local.displayName).toBe('Front Desk');
    expect(event.from).toBe('+15550100099');
    expect(event.outboundHeaders?.['P-Asserted-Identity']).toBe('<sip:+15550100099@192.0.2.10>');
  });

  it('a P-Asserted-Identity from the PBX gives the number when From is an extension', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')]);
    const event = received(
      run(
        invite({
          from: fromUri('sip:1001@pbx.example'),
          headers: { 'p-asserted-identity': ['"Sales" <sip:+15550100042@pbx.example>'] },
        }),
        cfg,
      ),
    );
    expect(event.outbound.local.uri).toBe('sip:+15550100042@192.0.2.10');
    expect(event.from).toBe('+15550100042');
  });

  it('national numbers are normalised with the trunk numbering', () => {
    const cfg = config([
      trunk('acme', 'acme.pstn.pivot.test', {
        numbering: { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' },
      }),
    ]);
    const national = received(run(invite({ from: fromUri('sip:02079460000@pbx.example') }), cfg));
    const international = received(run(invite({ from: fromUri('sip:0013125550142@pbx.example') }), cfg));
    expect(national.from).toBe('+442079460000');
    expect(international.from).toBe('+13125550142');
  });

  it('passthrough keeps the user part, escaped into a valid URI', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test', { callerIdRule: 'passthrough' })]);
    const event = received(run(invite({ from: fromUri('sip:front%20desk@pbx.example') }), cfg));
    expect(event.outbound.local.uri).toBe('sip:front%20desk@192.0.2.10');
  });

  it('an anonymous caller stays anonymous in From; the number is asserted with Privacy: id', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')]);
    const event = received(
      run(
        invite({
          from: fromUri('sip:anonymous@anonymous.invalid', 'Anonymous'),
          headers: { 'p-asserted-identity': ['<sip:+15550100042@pbx.example>'] },
        }),
        cfg,
      ),
    );
    expect(event.outbound.local.uri).toBe('sip:anonymous@anonymous.invalid');
    expect(event.outboundHeaders).toMatchObject({
      'P-Asserted-Identity': '<sip:+15550100042@192.0.2.10>',
      Privacy: 'id',
    });
  });

  it('Diversion and History-Info are relayed to the carrier as received', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')]);
    const event = received(
      run(
        invite({
          headers: {
            diversion: ['<sip:+15550100077@pbx.example>;reason=unconditional;counter=1'],
            'history-info': ['<sip:+15550100077@pbx.example>;index=1', '<sip:+15550200000@acme>;index=1.1'],
          },
        }),
        cfg,
      ),
    );
    expect(event.outboundHeaders).toMatchObject({
      Diversion: '<sip:+15550100077@pbx.example>;reason=unconditional;counter=1',
      'History-Info': '<sip:+15550100077@pbx.example>;index=1, <sip:+15550200000@acme>;index=1.1',
    });
  });

  it('Max-Forwards goes on one less than the caller sent (RFC 7332), and is absent when it sent none', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')]);
    expect(received(run(invite({ maxForwards: 12 }), cfg)).maxForwards).toBe(11);
    expect(received(run(invite(), cfg)).maxForwards).toBeUndefined();
  });
});

describe('sips: on every hop (RFC 3261 §26.2.2)', () => {
  const tls = { port: 5061, certificate: 'pivot.pem', key: 'pivot.key' };
  const overTls = { transport: 'tls' as const, host: '127.0.0.1', port: 40000 };

  it('a sips: carrier is called sips:+E164@<host> over TLS with our sips: Contact, and so are its other gateways', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')], {
      sip: { host: '127.0.0.1', port: 5060, publicHost: '192.0.2.10', tls },
      carrier: { uri: ['sips:127.0.0.2:5071', 'sip:127.0.0.3:5090'] },
    });
    const call = received(run(invite(), cfg));
    expect(call.outboundUri).toBe('sips:+15550200000@127.0.0.2');
    expect(call.outbound).toMatchObject({
      remoteTarget: 'sips:+15550200000@127.0.0.2',
      destination: { transport: 'tls', host: '127.0.0.2', port: 5071 },
      contact: '<sips:pivot@192.0.2.10:5061>',
    });
    // Failing over to a sip: gateway on UDP, the INVITE carries the Contact of that transport.
    expect(call.alternates).toEqual([
      {
        uri: 'sip:+15550200000@127.0.0.3',
        destination: { transport: 'udp', host: '127.0.0.3', port: 5090 },
        contact: '<sip:pivot@192.0.2.10:5060>',
      },
    ]);
  });

  it('failing over sips:, sip: on UDP, sips: again, each gateway gets its own Contact back', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')], {
      sip: { host: '127.0.0.1', port: 5060, publicHost: '192.0.2.10', tls },
      carrier: { uri: ['sips:127.0.0.2:5071', 'sip:127.0.0.3:5090', 'sips:127.0.0.4:5071'] },
    });
    const call = received(run(invite(), cfg));
    // An alternate without a contact keeps the previous gateway's: the third must name its own again.
    expect(call.alternates?.map((alternate) => alternate.contact)).toEqual([
      '<sip:pivot@192.0.2.10:5060>',
      '<sips:pivot@192.0.2.10:5061>',
    ]);
  });

  it('a PBX calling a sips: Request-URI over TLS gets our sips: Contact; a sip: one over TLS ;transport=tls', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test')], {
      sip: { host: '127.0.0.1', port: 5060, publicHost: '192.0.2.10', tls },
    });
    const secure = received(
      run(invite({ uri: 'sips:+15550200000@acme.pstn.pivot.test', source: overTls }), cfg),
    );
    expect(secure.inbound.contact).toBe('<sips:pivot@192.0.2.10:5061>');
    const plain = received(run(invite({ source: overTls }), cfg));
    expect(plain.inbound.contact).toBe('<sip:pivot@192.0.2.10:5061;transport=tls>');
  });

  it('a sips: originationUri is called with our sips: Contact', () => {
    const cfg = config([trunk('acme', 'acme.pstn.pivot.test', { originationUri: 'sips:127.0.0.1:5071' })], {
      sip: { host: '127.0.0.1', port: 5060, publicHost: '192.0.2.10', tls },
    });
    const fromCarrier = invite({
      uri: 'sip:+15550100000@192.0.2.10',
      to: { uri: 'sip:+15550100000@192.0.2.10', params: {} },
      source: { transport: 'udp', host: '127.0.0.2', port: 5090 },
    });
    const call = received(run(fromCarrier, cfg));
    expect(call.outboundUri).toBe('sips:+15550100000@127.0.0.1:5071');
    expect(call.outbound.contact).toBe('<sips:pivot@192.0.2.10:5061>');
  });
});

describe('client certificates (trunk tlsClient)', () => {
  const FINGERPRINT = `${'AB:'.repeat(31)}AB`;
  const cfg = config(
    [
      trunk('acme', 'acme.pstn.pivot.test', { tlsClient: { fingerprints: [FINGERPRINT.toLowerCase()] } }),
      trunk('globex', 'globex.pstn.pivot.test', {
        numbers: ['+15550100001'],
        tlsClient: { names: ['PBX.Globex.Example'] },
      }),
      trunk('plain', 'plain.pstn.pivot.test', { numbers: ['+15550100002'] }),
    ],
    {
      sip: {
        host: '127.0.0.1',
        port: 5060,
        publicHost: '192.0.2.10',
        tls: { certificate: 'p.pem', key: 'p.key', clientCertificates: 'request' },
      },
    },
  );
  const source = { transport: 'tls' as const, host: '127.0.0.1', port: 40000 };
  const acmeCert = { fingerprint: FINGERPRINT, names: ['pbx.acme.example'] };
  const globexCert = { fingerprint: `${'CD:'.repeat(31)}CD`, names: ['pbx-1', 'pbx.globex.example'] };
  const call = (domain: string, certificate?: typeof acmeCert) =>
    run(invite({ uri: `sip:+15550200000@${domain}`, source, ...(certificate ? { certificate } : {}) }), cfg);

  it('a trunk takes its own certificate, by fingerprint whatever its spelling, or by name whatever its case', () => {
    expect(received(call('acme.pstn.pivot.test', acmeCert)).trunkName).toBe('acme');
    expect(received(call('globex.pstn.pivot.test', globexCert)).trunkName).toBe('globex');
    expect(received(call('plain.pstn.pivot.test')).trunkName).toBe('plain');
  });

  it("no certificate, another trunk's, or one no trunk lists: 403 saying why", () => {
    expect(refused(call('acme.pstn.pivot.test'))).toMatchObject({
      status: 403,
      why: 'trunk acme takes calls only over TLS with its client certificate',
    });
    expect(refused(call('acme.pstn.pivot.test', globexCert)).why).toBe(
      `client certificate ${globexCert.fingerprint} is not trunk acme's`,
    );
    expect(refused(call('plain.pstn.pivot.test', globexCert)).why).toBe(
      `client certificate ${globexCert.fingerprint} is trunk globex's, not plain's`,
    );
    const nobody = { fingerprint: `${'EF:'.repeat(31)}EF`, names: ['pbx.nobody.example'] };
    expect(refused(call('globex.pstn.pivot.test', nobody)).status).toBe(403);
    expect(received(call('plain.pstn.pivot.test', nobody)).trunkName).toBe('plain');
  });
});
