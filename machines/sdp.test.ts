import { describe, expect, it } from 'vitest';
import { hasSdp, holdDirection, rejectingAnswer } from './sdp.ts';

const OFFER = [
  'v=0',
  'o=target 3 3 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'a=sendrecv',
  'm=audio 50000 RTP/AVP 0 8 101',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'm=video 50002/2 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=recvonly',
  '',
].join('\r\n');

describe('sdp', () => {
  it('hasSdp: an empty body or one without a v= line is no session description', () => {
    expect(hasSdp(undefined)).toBe(false);
    expect(hasSdp('')).toBe(false);
    expect(hasSdp('o=sip-pivot 1 1 IN IP4 127.0.0.1\r\n')).toBe(false);
    expect(hasSdp(OFFER)).toBe(true);
  });

  it('holdDirection (RFC 3264 §8.4): sendonly, but inactive for a recvonly or inactive stream', () => {
    expect(holdDirection('sendrecv')).toBe('sendonly');
    expect(holdDirection('sendonly')).toBe('sendonly');
    expect(holdDirection('recvonly')).toBe('inactive');
    expect(holdDirection('inactive')).toBe('inactive');
  });

  it('rejectingAnswer (RFC 3264 §6): every m-line kept in order with port 0, its formats kept', () => {
    const answer = rejectingAnswer(OFFER);
    const lines = answer.split('\r\n');
    expect(lines.filter((l) => l.startsWith('m='))).toEqual([
      'm=audio 0 RTP/AVP 0 8 101',
      'm=video 0 RTP/AVP 96',
    ]);
    // No direction or other attributes that would describe a stream in use.
    expect(lines.filter((l) => /^a=(sendrecv|recvonly|sendonly|ptime)/.test(l))).toEqual([]);
    expect(lines).toContain('a=rtpmap:96 H264/90000');
    expect(answer.endsWith('\r\n')).toBe(true);
  });
});
