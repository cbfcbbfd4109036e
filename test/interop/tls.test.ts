/**
 * SIP over TLS (RFC 3261 §26) with real TLS stacks on both sides (node:tls peers, certificates from a
 * CA made with openssl at test time): a PBX calls over TLS to the pivot's TLS listener; the carrier is
 * `sips:` and is reached over TLS, its certificate verified against the configured CA; Via says TLS and
 * Contact asks for TLS; the ACK and BYE reuse the connections. A carrier whose certificate the CA did not
 * sign fails the call at once (transport error, 503), without a clear-text fallback. A carrier with its
 * own CA (`sip.tls.peers`) is verified against that CA only; a carrier pinned by fingerprint is reached
 * with exactly that certificate, whoever signed it, and any other gets no byte of SIP. baresip, a real
 * TLS user agent with a self-signed certificate, is such a pinned carrier and answers over TLS.
 */

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CARRIER_IP, type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
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
  pivotCert = ca.issue('pivot', ['127.0.0.1']);
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

function pbxConnect(port: number): Promise<TcpPeer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca.ca) }, () =>
      resolve(wrapSocket(socket)),
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
    expect(invite.split('\r\n')[0]).toBe(`INVITE sip:+15550200000@${CARRIER_IP} SIP/2.0`);
    expect(header(invite, 'Via')).toMatch(
      new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${tlsPort};branch=z9hG4bK-`),
    );
    expect(header(invite, 'Contact')).toBe(`<sip:pivot@127.0.0.1:${tlsPort};transport=tls>`);
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
        expect(invite.split('\r\n')[0]).toBe(`INVITE sip:+15550200000@${CARRIER_IP} SIP/2.0`);
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
        expect(invite.split('\r\n')[0]).toBe(`INVITE sip:+15550200000@${CARRIER_IP} SIP/2.0`);
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
