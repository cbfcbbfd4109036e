/**
 * DTMF by SIP INFO (RFC 6086) across the pivot: an Asterisk PBX sends keys as application/dtmf-relay
 * and application/dtmf, a Cisco-style carrier accepts the first, refuses the second and sends a key
 * back. Each INFO reaches the other party in the pivot's dialog with it, and its answer comes back.
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

describe('DTMF by INFO, relayed end to end', () => {
  it("each INFO reaches the other party unchanged and the other party's answer comes back", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const carrier = runSipp({
      scenario: 'vendors/carrier-dtmf-info.xml',
      localIp: CARRIER_IP,
      localPort: carrierPort,
    });
    await carrier.ready;
    const pbx = runSipp({
      scenario: renderScenario('vendors/asterisk-pbx-dtmf-info.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
      remote: pivot.address,
    });
    const [carrierResult, pbxResult] = await allPassed(carrier, pbx);
    expect(withoutTrying(received(pbxResult!))).toEqual([
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
      'SIP/2.0 415 Unsupported Media Type',
      expect.stringMatching(/^INFO sip:asterisk@127\.0\.0\.1:\d+ SIP\/2\.0$/),
      'SIP/2.0 200 OK',
    ]);
    expect(received(carrierResult!).map((line) => line.split(' ')[0])).toEqual([
      'INVITE',
      'ACK',
      'INFO',
      'INFO',
      'SIP/2.0',
      'BYE',
    ]);

    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallAnswered',
      'CallAcked',
      'InfoReceived',
      'InfoAnswered',
      'InfoReceived',
      'InfoAnswered',
      'InfoReceived',
      'InfoAnswered',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(events[3]!.data).toMatchObject({ leg: 'customer', contentType: 'application/dtmf-relay' });
    expect(events[6]!.data).toMatchObject({ status: 415, reason: 'Unsupported Media Type' });
    expect(events[7]!.data).toMatchObject({ leg: 'far', body: 'Signal=9\r\nDuration=160\r\n' });
  });
});
