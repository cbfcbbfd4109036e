/**
 * UPDATE (RFC 3311) on the wire: a FreeSWITCH-style PBX holds the carrier with an UPDATE offer, relayed
 * to the carrier as an UPDATE of the pivot's own dialog and answered back, then refreshes its session
 * timer with an UPDATE without SDP that the pivot answers itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, received, renderScenario, withoutTrying } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('UPDATE relayed in a confirmed call', () => {
  it('an offer goes across and its answer comes back; a refresh is answered by the pivot alone', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const carrier = runSipp({
      scenario: 'vendors/carrier-answer-update.xml',
      localIp: CARRIER_IP,
      localPort: carrierPort,
    });
    await carrier.ready;
    const pbx = runSipp({
      scenario: renderScenario('vendors/freeswitch-pbx-update.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
      remote: pivot.address,
    });
    const [carrierResult, pbxResult] = await allPassed(carrier, pbx);
    expect(received(carrierResult!).map((line) => line.split(' ')[0])).toEqual([
      'INVITE',
      'ACK',
      'UPDATE',
      'BYE',
    ]);
    expect(withoutTrying(received(pbxResult!))).toEqual([
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
    ]);

    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallAnswered',
      'TimerScheduled',
      'CallAcked',
      'UpdateReceived',
      'UpdateAnswered',
      'TimerCanceled',
      'TimerScheduled',
      'UpdateReceived',
      'TimerCanceled',
      'TimerScheduled',
      'HangupReceived',
      'TimerCanceled',
      'CallEnded',
    ]);
    expect(events[8]!.data.sdp).toBeUndefined();
  });
});
