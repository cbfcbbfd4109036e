/**
 * Valid SIP messages the fuzzer starts from: the requests and responses a PBX or carrier sends the pivot
 * (INVITE with SDP, REFER, BYE, NOTIFY with a sipfrag, OPTIONS, CANCEL, ACK, provisional and final
 * responses). Every message has its own branch and Call-ID, so a mutation never hits another
 * message's transaction by accident; the Request-URI names the test trunk, so what survives parsing
 * reaches the engine's trunk and ACL rules.
 */
import type { Random } from './random.ts';

export interface Seed {
  /** Where the sender says it is (Via, Contact). */
  host: string;
  port: number;
  trunkDomain: string;
  /** Unique per message. */
  id: string;
}

const SDP = [
  'v=0',
  'o=pbx 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 8 101',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');

function request(
  method: string,
  uri: string,
  s: Seed,
  options: { toTag?: string; cseq?: number; extra?: string[]; body?: string; contentType?: string } = {},
): string {
  const body = options.body ?? '';
  const lines = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${s.host}:${s.port};branch=z9hG4bK-fz-${s.id};rport`,
    'Max-Forwards: 70',
    `From: "Agent 1001" <sip:1001@${s.host}>;tag=fz-from-${s.id}`,
    `To: <${uri}>${options.toTag ? `;tag=${options.toTag}` : ''}`,
    `Call-ID: fz-${s.id}@${s.host}`,
    `CSeq: ${options.cseq ?? 1} ${method}`,
    `Contact: <sip:1001@${s.host}:${s.port}>`,
    'User-Agent: sip-pivot-fuzz',
    ...(options.extra ?? []),
    ...(body ? [`Content-Type: ${options.contentType ?? 'application/sdp'}`] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function response(status: number, reason: string, method: string, s: Seed, body = ''): string {
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-pv-${s.id}`,
    `From: <sip:pivot@127.0.0.1>;tag=pv-${s.id}`,
    `To: <sip:+15550100000@${s.trunkDomain}>;tag=fz-to-${s.id}`,
    `Call-ID: pv-${s.id}@127.0.0.1`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:carrier@${s.host}:${s.port}>`,
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const TEMPLATES: ReadonlyArray<(s: Seed) => string> = [
  (s) =>
    request('INVITE', `sip:+15550100000@${s.trunkDomain}`, s, {
      body: SDP,
      extra: ['P-Asserted-Identity: <sip:+15550101001@127.0.0.1>', 'Allow: INVITE, ACK, BYE, CANCEL, REFER'],
    }),
  (s) =>
    request('REFER', `sip:pivot@127.0.0.1`, s, {
      toTag: `pv-${s.id}`,
      cseq: 2,
      extra: ['Refer-To: <sip:+15550109999@127.0.0.2>', `Referred-By: <sip:1001@${s.host}>`],
    }),
  (s) => request('BYE', 'sip:pivot@127.0.0.1', s, { toTag: `pv-${s.id}`, cseq: 3 }),
  (s) =>
    request('NOTIFY', 'sip:pivot@127.0.0.1', s, {
      toTag: `pv-${s.id}`,
      cseq: 4,
      extra: ['Event: refer', 'Subscription-State: terminated;reason=noresource'],
      body: 'SIP/2.0 200 OK\r\n',
      contentType: 'message/sipfrag;version=2.0',
    }),
  (s) => request('OPTIONS', 'sip:pivot@127.0.0.1', s, { extra: ['Accept: application/sdp'] }),
  (s) => request('CANCEL', `sip:+15550100000@${s.trunkDomain}`, s),
  (s) => request('ACK', `sip:+15550100000@${s.trunkDomain}`, s, { toTag: `pv-${s.id}` }),
  (s) => response(100, 'Trying', 'INVITE', s),
  (s) => response(180, 'Ringing', 'INVITE', s),
  (s) => response(200, 'OK', 'INVITE', s, SDP),
  (s) => response(486, 'Busy Here', 'INVITE', s),
  (s) => response(202, 'Accepted', 'REFER', s),
  (s) => response(481, 'Call/Transaction Does Not Exist', 'NOTIFY', s),
];

export function validMessage(random: Random, seed: Seed): string {
  return random.pick(TEMPLATES)(seed);
}
