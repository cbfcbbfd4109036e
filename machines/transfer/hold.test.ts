/**
 * Putting the transferee on hold (RFC 3264 §8.4): the re-INVITE offers the PBX's SDP marked sendonly,
 * but a stream that was recvonly is marked inactive (sendonly would ask the far party to receive from a
 * side that never sends), and an inactive one stays inactive.
 */
import { describe, expect, it } from 'vitest';
import { callAnswered, callReceived, referReceived, SDP } from '../../test/helpers/fixtures.ts';
import { directions, history, spec } from '../../test/helpers/sessionSpec.ts';
import { type MediaDirection, withDirection } from '../sdp.ts';

describe('transfer: the hold re-INVITE to the transferee', () => {
  for (const [pbx, hold] of [
    ['sendrecv', 'sendonly'],
    ['sendonly', 'sendonly'],
    ['recvonly', 'inactive'],
    ['inactive', 'inactive'],
  ] as [MediaDirection, MediaDirection][]) {
    it(`a PBX stream that was ${pbx} is held ${hold}`, () => {
      const then = spec({
        given: history(callReceived({ sdp: withDirection(SDP.pbx, pbx) }), callAnswered()),
        when: referReceived(),
      });
      expect(directions(then.request('INVITE').body)).toEqual([`a=${hold}`]);
    });
  }
});
