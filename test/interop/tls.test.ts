/**
 * SIP over TLS (RFC 3261 §26) with real TLS stacks on both sides (node:tls peers, certificates from a
 * CA made with openssl at test time): a PBX calls over TLS to the pivot's TLS listener; the carrier is
 * `sips:` and is reached over TLS, its certificate verified against the configured CA; Via says TLS and
 * Contact asks for TLS; the ACK and BYE reuse the connections. A carrier whose certificate the CA did not
 * sign fails the call at once (transport error, 503), without a clear-text fallback. A carrier with its
 * own CA (`sip.tls.peers`) is verified against that CA only; a carrier pinned by fingerprint is reached
 * with exactly that certificate, whoever signed it, and any other gets no byte of SIP. baresip, a real
 * TLS user agent with a self-signed certificate, is such a pinned carrier and answers over TLS. A `sips:`
 * carrier is called with a `sips:` Request-URI and a `sips:` Contact (RFC 3261 §26.2.2).
 *
 * Client certificates (mutual TLS): with `require` a PBX without a certificate, or with one no trusted
 * CA signed, is refused at the handshake; with `request` it gets through the handshake and a trunk with
 * `tlsClient` refuses it 403. baresip as the PBX presents its trunk's certificate and its call goes
 * through to a baresip carrier over TLS; presenting another trunk's, it gets 403 and nothing is stored.
 */

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, TRUNK_DOMAIN } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { createTestCa, type TestCa } from '../helpers/testCa.ts';
import { type Baresip, startBaresip } from '../peers/baresip.ts';
import { type TcpPeer, wrapSocket } from '../sip/tcpPeer.ts';

let ca: TestCa;
let pivotCert: { certificate: string; key: string };
let carrierCert: { certificate: string; key: string };
let pivot: PivotUnderTest | undefined;
let carrier: tls.Server | undefined;

beforeAll(() => {
  ca = createTestCa();
  const { certificate, key } = ca.issue('pivot', ['127.0.0.1']);
  pivotCert = { certificate, key };
  carrierCert = ca.issue('carrier', [CARRIER_IP]);
});
afterAll(() => ca?.dispose());
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
  await new Promise<void>((resolve) => (carrier ? carrier.close(() => resolve()) : resolve()));
  carrier = undefined;
});

/** A TLS carrier gateway on 127.0.0.2: every connection it accepts, as a SIP stream peer. */
async function tlsCarrier(cert: { certificate: string; key: string }) {
  const port = await freePort();
  const accepted: TcpPeer[] = [];
  const waiting: Array<(peer: TcpPeer) => void> = [];
  let receivedBytes = 0;
  carrier = tls.createServer(
    { cert: readFileSync(cert.certificate), key: readFileSync(cert.key) },
    (socket) => {
      socket.on('data', (chunk: Buffer) => {
        receivedBytes += chunk.length;
      });
      const peer = wrapSocket(socket);
      accepted.push(peer);
      waiting.shift()?.(peer);
    },
  );
  carrier.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => carrier!.listen(port, CARRIER_IP, resolve));
  return {
    port,
    count: () => accepted.length,
    /** Bytes of SIP (after the handshake) received on any connection. */
    receivedBytes: () => receivedBytes,
    first: () => (accepted[0] ? Promise.resolve(accepted[0]) : new Promise<TcpPeer>((r) => waiting.push(r))),
  };
}

/** A self-signed certificate for `address`, with its key, in one PEM file (as baresip reads it). */
function selfSigned(dir: string, address: string): string {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'self.key',
      '-out',
      'self.crt',
      '-days',
      '2',
      '-subj',
      `/CN=${address}`,
      '-addext',
      `subjectAltName=IP:${address}`,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const file = path.join(dir, 'self.pem');
  writeFileSync(
    file,
    readFileSync(path.join(dir, 'self.crt'), 'utf8') + readFileSync(path.join(dir, 'self.key'), 'utf8'),
  );
  return file;
}

/** A PBX connecting to the TLS listener, presenting `client` (a certificate and its key) when given. */
function pbxConnect(port: number, client?: { certificate: string; key: string }): Promise<TcpPeer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: '127.0.0.1',
        port,
        ca: readFileSync(ca.ca),
        ...(client ? { cert: readFileSync(client.certificate), key: readFileSync(client.key) } : {}),
      },
      () => resolve(wrapSocket(socket)),
    );
    socket.once('error', reject);
  });
}

const SDP =
  'v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n';

function pbxRequest(
  method: string,
  cseq: number,
  toTag: string | undefined,
  body = '',
  uri?: string,
): string {
  const lines = [
    `${method} ${uri ?? 'sip:+15550200000@acme.pstn.pivot.test'} SIP/2.0`,
    `Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-pbx-${method.toLowerCase()}-${cseq}`,
    'Max-Forwards: 70',
    'From: <sip:+15550100000@acme.pstn.pivot.test>;tag=pbx1',
    `To: <sip:+15550200000@acme.pstn.pivot.test>${toTag ? `;tag=${toTag}` : ''}`,
    'Call-ID: tls-call-1@pbx',
    `CSeq: ${cseq} ${method}`,
    'Contact: <sip:pbx@127.0.0.1:5999;transport=tls>',
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}

function header(message: string, name: string): string | undefined {
  return new RegExp(`^${name}:[ \\t]*(.*?)\\r?$`, 'im').exec(message)?.[1];
}

/** The response to `request` a peer got: answered with its Via, From, To (+tag), Call-ID and CSeq. */
function answer(request: string, status: string, extra: string[] = [], body = ''): string {
  const copy = ['Via', 'From', 'Call-ID', 'CSeq'].map((name) => `${name}: ${header(request, name)}`);
  const to = header(request, 'To')!;
  return [
    `SIP/2.0 ${status}`,
    ...copy,
    `To: ${to}${to.includes(';tag=') ? '' : ';tag=gw1'}`,
    ...extra,
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

async function nextMatching(peer: TcpPeer, pattern: RegExp): Promise<string> {
  for (;;) {
    const message = await peer.next();
    if (pattern.test(message)) return message;
  }
}

describe('SIP over TLS', () => {
  it('a PBX on TLS calls a sips: carrier: TLS both ways, Via TLS, the ACK and BYE on the same connections', async () => {
    const gateway = await tlsCarrier(carrierCert);
    const tlsPort = await freePort();
    pivot = await startTestPivot({
      carrierPort: gateway.port,
      carrierUris: [`sips:${CARRIER_IP}:${gateway.port}`],
      tls: { port: tlsPort, ...pivotCert, ca: ca.ca },
    });
    const pbx = await pbxConnect(tlsPort);
    pbx.send(pbxRequest('INVITE', 1, undefined, SDP));
    const far = await gateway.first();
    const invite = await nextMatching(far, /^INVITE /);
    // RFC 3261 §26.2.2: a sips: gateway is called with a sips: Request-URI and answered to a sips: Contact.
    expect(invite.split('\r\n')[0]).toBe(`INVITE sips:+15550200000@${CARRIER_IP} SIP/2.0`);
    expect(header(invite, 'Via')).toMatch(
      new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${tlsPort};branch=z9hG4bK-`),
    );
    expect(header(invite, 'Contact')).toBe(`<sips:pivot@127.0.0.1:${tlsPort}>`);
    far.send(
      answer(invite, '200 OK', [`Contact: <sip:gw@${CARRIER_IP}:${gateway.port};transport=tls>`], SDP),
    );
    const ok = await nextMatching(pbx, /^SIP\/2\.0 200 /);
    expect(header(ok, 'Contact')).toBe(`<sip:pivot@127.0.0.1:${tlsPort};transport=tls>`);
    const toTag = /;tag=([^;\s]+)/.exec(header(ok, 'To')!)![1]!;
    pbx.send(pbxRequest('ACK', 1, toTag, '', `sip:pivot@127.0.0.1:${tlsPort};transport=tls`));
    const ack = await nextMatching(far, /^ACK /);
    expect(ack.split('\r\n')[0]).toBe(`ACK sip:gw@${CARRIER_IP}:${gateway.port};transport=tls SIP/2.0`);
    pbx.send(pbxRequest('BYE', 2, toTag, '', `sip:pivot@127.0.0.1:${tlsPort};transport=tls`));
    const bye = await nextMatching(far, /^BYE /);
    expect(header(bye, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    far.send(answer(bye, '200 OK'));
    await nextMatching(pbx, /^SIP\/2\.0 200 OK[\s\S]*CSeq: 2 BYE/);
    expect(gateway.count()).toBe(1);
    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallAnswered',
      'CallAcked',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(events[0]!.data.outbound.destination).toEqual({
      transport: 'tls',
      host: CARRIER_IP,
      port: gateway.port,
    });
    expect(events[0]!.data.inbound.destination.transport).toBe('tls');
  });

  it('a carrier certificate the CA did not sign: the handshake fails, no request reaches it, the PBX gets 503', async () => {
    const stranger = createTestCa();
    try {
      const gateway = await tlsCarrier(stranger.issue('impostor', [CARRIER_IP]));
      const tlsPort = await freePort();
      pivot = await startTestPivot({
        carrierPort: gateway.port,
        carrierUris: [`sips:${CARRIER_IP}:${gateway.port}`],
        tls: { port: tlsPort, ...pivotCert, ca: ca.ca },
      });
      const pbx = await pbxConnect(tlsPort);
      pbx.send(pbxRequest('INVITE', 1, undefined, SDP));
      const refused = await nextMatching(pbx, /^SIP\/2\.0 [3-6]\d\d /);
      expect(refused.split('\r\n')[0]).toBe('SIP/2.0 503 Service Unavailable');
      expect(gateway.count()).toBe(0);
    } finally {
      stranger.dispose();
    }
  });

  it.each([
    ['signed by its own CA, configured for it: the INVITE reaches it', 'own', 'INVITE'],
    ['signed by the common CA while its own is configured: 503, nothing reaches it', 'common', '503'],
  ] as const)('a carrier with its own CA (sip.tls.peers), certificate %s', async (_, signer, outcome) => {
    const carriersCa = createTestCa();
    try {
      const issuer = signer === 'own' ? carriersCa : ca;
      const gateway = await tlsCarrier(issuer.issue(`carrier-${signer}`, [CARRIER_IP]));
      const tlsPort = await freePort();
      pivot = await startTestPivot({
        carrierPort: gateway.port,
        carrierUris: [`sips:${CARRIER_IP}:${gateway.port}`],
        tls: { port: tlsPort, ...pivotCert, ca: ca.ca, peers: [{ host: CARRIER_IP, ca: carriersCa.ca }] },
      });
      const pbx = await pbxConnect(tlsPort);
      pbx.send(pbxRequest('INVITE', 1, undefined, SDP));
      if (outcome === 'INVITE') {
        const invite = await nextMatching(await gateway.first(), /^INVITE /);
        expect(invite.split('\r\n')[0]).toBe(`INVITE sips:+15550200000@${CARRIER_IP} SIP/2.0`);
      } else {
        const refused = await nextMatching(pbx, /^SIP\/2\.0 [3-6]\d\d /);
        expect(refused.split('\r\n')[0]).toBe('SIP/2.0 503 Service Unavailable');
        expect(gateway.count()).toBe(0);
      }
    } finally {
      carriersCa.dispose();
    }
  });

  it('a real TLS peer: baresip as the carrier, pinned by its self-signed certificate, answers over TLS', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pivot-baresip-tls-'));
    let phone: Baresip | undefined;
    try {
      const certificate = selfSigned(dir, CARRIER_IP);
      const fingerprint = new X509Certificate(readFileSync(certificate)).fingerprint256;
      phone = await startBaresip({
        ip: CARRIER_IP,
        aor: (port) => `sip:+15550200000@${CARRIER_IP}:${port}`,
        name: 'tls-carrier',
        certificate,
      });
      const phoneTls = phone.sipPort + 1;
      const tlsPort = await freePort();
      pivot = await startTestPivot({
        carrierPort: phone.sipPort,
        carrierUris: [`sips:${CARRIER_IP}:${phoneTls}`],
        tls: { port: tlsPort, ...pivotCert, ca: ca.ca, peers: [{ host: CARRIER_IP, fingerprint }] },
      });
      const pbx = await pbxConnect(tlsPort);
      pbx.send(pbxRequest('INVITE', 1, undefined, SDP));
      const ok = await nextMatching(pbx, /^SIP\/2\.0 [2-6]\d\d /);
      expect(ok.split('\r\n')[0]).toBe('SIP/2.0 200 OK');
      const toTag = /;tag=([^;\s]+)/.exec(header(ok, 'To')!)![1]!;
      pbx.send(pbxRequest('ACK', 1, toTag, '', `sip:pivot@127.0.0.1:${tlsPort};transport=tls`));
      pbx.send(pbxRequest('BYE', 2, toTag, '', `sip:pivot@127.0.0.1:${tlsPort};transport=tls`));
      await nextMatching(pbx, /^SIP\/2\.0 200 OK[\s\S]*CSeq: 2 BYE/);
      const invite = await phone.waitForSip('the INVITE', (e) => e.firstLine.startsWith('INVITE '));
      expect(header(invite.text, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${tlsPort};`));
      const bye = await phone.waitForSip('the BYE', (e) => e.firstLine.startsWith('BYE '));
      expect(header(bye.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
      const events = await pivot.events();
      // baresip rings (180) before it answers.
      expect(events.map((e) => e.type)).toEqual([
        'CallReceived',
        'CallProgress',
        'CallAnswered',
        'CallAcked',
        'HangupReceived',
        'CallEnded',
      ]);
    } finally {
      await phone?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a sips: gateway that cannot be reached fails over to a sip: one: that INVITE is sip: with our plain Contact', async () => {
    let phone: Baresip | undefined;
    try {
      phone = await startBaresip({
        ip: CARRIER_IP,
        aor: (port) => `sip:+15550200000@${CARRIER_IP}:${port}`,
        name: 'udp-carrier',
      });
      const closed = await freePort();
      const tlsPort = await freePort();
      pivot = await startTestPivot({
        carrierPort: phone.sipPort,
        carrierUris: [`sips:${CARRIER_IP}:${closed}`, `sip:${CARRIER_IP}:${phone.sipPort}`],
        tls: { port: tlsPort, ...pivotCert, ca: ca.ca },
      });
      const pbx = await pbxConnect(tlsPort);
      pbx.send(pbxRequest('INVITE', 1, undefined, SDP));
      const ok = await nextMatching(pbx, /^SIP\/2\.0 [2-6]\d\d /);
      expect(ok.split('\r\n')[0]).toBe('SIP/2.0 200 OK');
      const invite = await phone.waitForSip('the INVITE', (e) => e.firstLine.startsWith('INVITE '));
      expect(invite.transport).toBe('UDP');
      expect(invite.firstLine).toBe(`INVITE sip:+15550200000@${CARRIER_IP} SIP/2.0`);
      expect(header(invite.text, 'Contact')).toBe(`<sip:pivot@127.0.0.1:${pivot.port}>`);
      const toTag = /;tag=([^;\s]+)/.exec(header(ok, 'To')!)![1]!;
      pbx.send(pbxRequest('ACK', 1, toTag, '', `sip:pivot@127.0.0.1:${tlsPort};transport=tls`));
      pbx.send(pbxRequest('BYE', 2, toTag, '', `sip:pivot@127.0.0.1:${tlsPort};transport=tls`));
      await nextMatching(pbx, /^SIP\/2\.0 200 OK[\s\S]*CSeq: 2 BYE/);
      // The pivot's BYE goes to the carrier's Contact, on UDP.
      const bye = await phone.waitForSip('the BYE', (e) => e.firstLine.startsWith('BYE '));
      expect(bye.transport).toBe('UDP');
    } finally {
      await phone?.stop();
    }
  });

  it.each([
    ['the pinned one: the INVITE reaches it, whoever signed it', true],
    ['not the pinned one: 503, nothing reaches it', false],
  ] as const)('a carrier pinned by fingerprint, certificate %s', async (_, pinned) => {
    const elsewhere = createTestCa();
    try {
      const cert = elsewhere.issue('carrier-pinned', [CARRIER_IP]);
      const other = elsewhere.issue('carrier-other', [CARRIER_IP]);
      const gateway = await tlsCarrier(pinned ? cert : other);
      const tlsPort = await freePort();
      const fingerprint = new X509Certificate(readFileSync(cert.certificate)).fingerprint256;
      pivot = await startTestPivot({
        carrierPort: gateway.port,
        carrierUris: [`sips:${CARRIER_IP}:${gateway.port}`],
        tls: { port: tlsPort, ...pivotCert, ca: ca.ca, peers: [{ host: CARRIER_IP, fingerprint }] },
      });
      const pbx = await pbxConnect(tlsPort);
      pbx.send(pbxRequest('INVITE', 1, undefined, SDP));
      if (pinned) {
        const invite = await nextMatching(await gateway.first(), /^INVITE /);
        expect(invite.split('\r\n')[0]).toBe(`INVITE sips:+15550200000@${CARRIER_IP} SIP/2.0`);
      } else {
        const refused = await nextMatching(pbx, /^SIP\/2\.0 [3-6]\d\d /);
        expect(refused.split('\r\n')[0]).toBe('SIP/2.0 503 Service Unavailable');
        expect(gateway.receivedBytes()).toBe(0);
      }
    } finally {
      elsewhere.dispose();
    }
  });
});

describe('client certificates on the TLS listener (mutual TLS)', () => {
  const OTHER_DOMAIN = 'other.pstn.pivot.test';
  const PLAIN_DOMAIN = 'plain.pstn.pivot.test';
  let pbxCert: ReturnType<TestCa['issue']>;
  let otherCert: ReturnType<TestCa['issue']>;
  let nobodyCert: ReturnType<TestCa['issue']>;
  let stranger: TestCa;
  let strangerCert: ReturnType<TestCa['issue']>;
  beforeAll(() => {
    pbxCert = ca.issue('pbx-acme', ['127.0.0.1']);
    otherCert = ca.issue('pbx-other', ['127.0.0.1']);
    nobodyCert = ca.issue('pbx-nobody', ['127.0.0.1']);
    // Another CA's certificate with the name trunk other takes.
    stranger = createTestCa();
    strangerCert = stranger.issue('pbx-other', ['127.0.0.1']);
  });
  afterAll(() => stranger?.dispose());

  /**
   * acme takes only the PBX certificate pinned by its fingerprint; `other` (same PBX address) takes the
   * certificate named `pbx-other`; `plain` names no certificate.
   */
  async function mutualPivot(mode: 'request' | 'require', carrierUri: string, logs: string[] = []) {
    const tlsPort = await freePort();
    pivot = await startTestPivot({
      log: (level, message, fields) => logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`),
      carrierPort: 5090,
      carrierUris: [carrierUri],
      tls: { port: tlsPort, ...pivotCert, ca: ca.ca, clientCertificates: mode },
      trunk: { tlsClient: { fingerprints: [fingerprintOf(pbxCert.certificate)] } },
      extraTrunks: [
        {
          name: 'other',
          domain: OTHER_DOMAIN,
          acl: ['127.0.0.1/32'],
          originationUri: 'sip:127.0.0.1:5071',
          numbers: ['+15550100001'],
          transferMode: 'enable-all',
          rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
          tlsClient: { names: ['pbx-other'] },
        },
        {
          name: 'plain',
          domain: PLAIN_DOMAIN,
          acl: ['127.0.0.1/32'],
          originationUri: 'sip:127.0.0.1:5072',
          numbers: ['+15550100002'],
          transferMode: 'enable-all',
          rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
        },
      ],
    });
    return tlsPort;
  }

  it("baresip as the PBX presents acme's certificate and calls a baresip carrier over TLS: sips: all the way", async () => {
    const peers: Baresip[] = [];
    try {
      const carrierPhone = await startBaresip({
        ip: CARRIER_IP,
        aor: (port) => `sip:+15550200000@${CARRIER_IP}:${port}`,
        name: 'mtls-carrier',
        certificate: ca.issue('carrier-phone', [CARRIER_IP]).bundle,
        ca: ca.ca,
      });
      peers.push(carrierPhone);
      const tlsPort = await mutualPivot('require', `sips:${CARRIER_IP}:${carrierPhone.sipPort + 1}`);
      const pbx = await startBaresip({
        ip: '127.0.0.1',
        aor: (port) => `sip:+15550100000@127.0.0.1:${port}`,
        name: 'mtls-pbx',
        certificate: pbxCert.bundle,
        ca: ca.ca,
        outbound: `127.0.0.1:${tlsPort};transport=tls`,
      });
      peers.push(pbx);
      await pbx.command('dial', `sip:+15550200000@${TRUNK_DOMAIN}`);
      await pbx.waitFor('CALL_ESTABLISHED', (e) => e.type === 'CALL_ESTABLISHED');
      await pbx.command('hangup');
      await carrierPhone.waitFor('CALL_CLOSED', (e) => e.type === 'CALL_CLOSED');

      const sent = pbx.sipTrace().find((e) => e.firstLine.startsWith('INVITE '));
      expect(sent?.transport).toBe('TLS');
      expect(sent?.destination).toBe(`127.0.0.1:${tlsPort}`);
      const received = carrierPhone.sipTrace().find((e) => e.firstLine.startsWith('INVITE '))!;
      expect(received.transport).toBe('TLS');
      expect(received.firstLine).toBe(`INVITE sips:+15550200000@${CARRIER_IP} SIP/2.0`);
      expect(header(received.text, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${tlsPort};`));
      expect(header(received.text, 'Contact')).toBe(`<sips:pivot@127.0.0.1:${tlsPort}>`);
      // The carrier's in-dialog requests come back over TLS, the BYE too.
      const bye = carrierPhone.sipTrace().find((e) => e.firstLine.startsWith('BYE '))!;
      expect(bye.transport).toBe('TLS');
      const events = await pivot!.events();
      expect(events[0]).toMatchObject({
        type: 'CallReceived',
        data: { trunkName: 'acme', outboundUri: `sips:+15550200000@${CARRIER_IP}` },
      });
      expect(events.map((e) => e.type)).toContain('CallEnded');
    } finally {
      await Promise.all(peers.map((peer) => peer.stop()));
    }
  });

  it("baresip presenting the other trunk's certificate calls acme's domain: 403, nothing stored", async () => {
    const tlsPort = await mutualPivot('require', `sips:${CARRIER_IP}:5061`);
    const pbx = await startBaresip({
      ip: '127.0.0.1',
      aor: (port) => `sip:+15550100000@127.0.0.1:${port}`,
      name: 'mtls-other',
      certificate: otherCert.bundle,
      ca: ca.ca,
      outbound: `127.0.0.1:${tlsPort};transport=tls`,
    });
    try {
      await pbx.command('dial', `sip:+15550200000@${TRUNK_DOMAIN}`);
      const refused = await pbx.waitForSip('the answer', (e) => /^SIP\/2\.0 [2-6]\d\d /.test(e.firstLine));
      expect(refused.transport).toBe('TLS');
      expect(refused.firstLine).toBe('SIP/2.0 403 Forbidden');
      expect(header(refused.text, 'Warning')).toMatch(/is not trunk acme's/);
    } finally {
      await pbx.stop();
    }
    expect(await pivot!.events()).toEqual([]);
  });

  it.each([
    ['no certificate', undefined],
    ['a certificate no trusted CA signed', 'stranger'],
  ] as const)(
    'clientCertificates: require, a PBX with %s: the handshake is refused, no SIP gets through',
    async (_, kind) => {
      const logs: string[] = [];
      const tlsPort = await mutualPivot('require', `sips:${CARRIER_IP}:5061`, logs);
      const client = kind ? strangerCert : undefined;
      const outcome = await new Promise<string>((resolve) => {
        let received = '';
        const socket = tls.connect(
          {
            host: '127.0.0.1',
            port: tlsPort,
            ca: readFileSync(ca.ca),
            ...(client ? { cert: readFileSync(client.certificate), key: readFileSync(client.key) } : {}),
          },
          () => socket.write(pbxRequest('INVITE', 1, undefined, SDP)),
        );
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString();
        });
        socket.once('error', (error) => resolve(`error: ${error.message}`));
        socket.once('close', () => resolve(`closed: ${received}`));
      });
      // TLS 1.3: the client's side of the handshake is done before the pivot judges its certificate,
      // so it learns by an alert or a bare close; either way no SIP comes back.
      expect(outcome).toMatch(/^(error: .*(alert|certificate)|closed: $)/i);
      // The pivot ended the handshake (with no certificate OpenSSL says so; with an unknown CA's the
      // alert surfaces as a reset).
      expect(logs.join('\n')).toMatch(
        kind ? /sip tls handshake failed/ : /sip tls handshake failed .*peer did not return a certificate/,
      );
      expect(await pivot!.events()).toEqual([]);
    },
  );

  it.each([
    [
      'no certificate',
      'none',
      TRUNK_DOMAIN,
      '403',
      /trunk acme takes calls only over TLS with its client certificate/,
    ],
    ['no certificate', 'none', PLAIN_DOMAIN, '503', undefined],
    ["acme's certificate", 'acme', TRUNK_DOMAIN, '503', undefined],
    ["acme's certificate", 'acme', OTHER_DOMAIN, '403', /is not trunk other's/],
    ["other's certificate (by its name)", 'other', OTHER_DOMAIN, '503', undefined],
    ["other's certificate", 'other', PLAIN_DOMAIN, '403', /is trunk other's, not plain's/],
    ["a certificate of the CA's that no trunk lists", 'nobody', TRUNK_DOMAIN, '403', /is not trunk acme's/],
    [
      "other's name on a certificate no trusted CA signed",
      'stranger',
      OTHER_DOMAIN,
      '403',
      /trunk other takes calls only over TLS with its/,
    ],
    ['a certificate no trusted CA signed', 'stranger', PLAIN_DOMAIN, '503', undefined],
  ] as const)(
    'clientCertificates: request, a raw TLS client with %s (%s) calls %s: %s',
    async (_, presented, domain, status, warning) => {
      const tlsPort = await mutualPivot('request', `sips:${CARRIER_IP}:5061`);
      const client = {
        none: undefined,
        acme: pbxCert,
        other: otherCert,
        nobody: nobodyCert,
        stranger: strangerCert,
      }[presented];
      const pbx = await pbxConnect(tlsPort, client);
      pbx.send(pbxRequest('INVITE', 1, undefined, SDP, `sip:+15550200000@${domain}`));
      // Nothing listens at the carrier: a call past the trunk's checks gets 503 when the carrier is tried.
      const answer = await nextMatching(pbx, /^SIP\/2\.0 [2-6]\d\d /);
      expect(answer.split('\r\n')[0]).toMatch(new RegExp(`^SIP/2\\.0 ${status} `));
      const events = await pivot!.events();
      if (warning) {
        expect(header(answer, 'Warning')).toMatch(warning);
        expect(events).toEqual([]);
      } else {
        expect(events[0]).toMatchObject({ type: 'CallReceived', data: { to: '+15550200000' } });
      }
    },
  );
});

function fingerprintOf(certificate: string): string {
  return new X509Certificate(readFileSync(certificate)).fingerprint256;
}
