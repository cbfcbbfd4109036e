/**
 * The pcap export read back byte by byte: the libpcap header, one raw IP packet per message with the
 * peer and the pivot as source and destination by direction, a valid IPv4 header checksum, IPv6 too.
 */
import { describe, expect, it } from 'vitest';
import { toPcap } from '../../src/trace/pcap.ts';
import type { TracedMessage } from '../../src/trace/store.ts';
import { readPcap } from '../helpers/pcap.ts';

const message = (over: Partial<TracedMessage>): TracedMessage => ({
  id: 1,
  sessionSid: `CA${'0'.repeat(32)}`,
  at: '2026-03-14T09:00:00.123Z',
  direction: 'in',
  transport: 'udp',
  remoteHost: '192.0.2.10',
  remotePort: 5070,
  localHost: '198.51.100.1',
  localPort: 5060,
  callId: 'c@h',
  cseq: '1 INVITE',
  method: 'INVITE',
  status: null,
  firstLine: 'INVITE sip:x SIP/2.0',
  text: 'INVITE sip:x SIP/2.0\r\nCall-ID: c@h\r\n\r\n',
  ...over,
});

describe('the SIP trace as pcap', () => {
  it('writes each message as a packet from the peer (in) or from the pivot (out), IPv4 and IPv6', () => {
    const packets = readPcap(
      toPcap([
        message({}),
        message({ direction: 'out', text: 'SIP/2.0 180 Ringing\r\n\r\n', at: '2026-03-14T09:00:01.500Z' }),
        message({ remoteHost: '2001:db8::7', localHost: '::1', direction: 'out', remotePort: 5080 }),
        message({ remoteHost: '::ffff:192.0.2.1', localHost: null, localPort: null }),
      ]),
    );
    expect(packets.map(({ at: _, payload: __, ...p }) => p)).toEqual([
      {
        source: '192.0.2.10',
        destination: '198.51.100.1',
        sourcePort: 5070,
        destinationPort: 5060,
        headerValid: true,
      },
      {
        source: '198.51.100.1',
        destination: '192.0.2.10',
        sourcePort: 5060,
        destinationPort: 5070,
        headerValid: true,
      },
      {
        source: '0:0:0:0:0:0:0:1',
        destination: '2001:db8:0:0:0:0:0:7',
        sourcePort: 5060,
        destinationPort: 5080,
        headerValid: true,
      },
      {
        source: '0:0:0:0:0:ffff:c000:201',
        destination: '0:0:0:0:0:0:0:0',
        sourcePort: 5070,
        destinationPort: 5060,
        headerValid: true,
      },
    ]);
    expect(packets[0]!.payload).toBe('INVITE sip:x SIP/2.0\r\nCall-ID: c@h\r\n\r\n');
    expect(packets[0]!.at).toBe(Date.parse('2026-03-14T09:00:00.123Z'));
    expect(packets[1]!.at).toBe(Date.parse('2026-03-14T09:00:01.500Z'));
  });
});
