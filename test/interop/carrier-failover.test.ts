/**
 * A carrier with several gateways: a termination call refused by the first for overload (503), or
 * whose first gateway cannot be reached at all, is offered to the next one and completes there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, received, renderScenario } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

const SECOND_GATEWAY = '127.0.0.4';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

function pbxCall(address: string) {
  return runSipp({
    scenario: renderScenario('vendors/freeswitch-pbx.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
    remote: address,
  });
}

describe('carrier gateway failover', () => {
  it('a 503 from the first gateway: the call goes to the second and is answered there', async () => {
    const [first, second] = [await freePort(), await freePort()];
    pivot = await startTestPivot({
      carrierPort: first,
      carrierUris: [`sip:${CARRIER_IP}:${first}`, `sip:${SECOND_GATEWAY}:${second}`],
    });
    const overloaded = runSipp({
      scenario: 'vendors/carrier-overloaded.xml',
      localIp: CARRIER_IP,
      localPort: first,
    });
    const answering = runSipp({
      scenario: 'vendors/carrier-answer.xml',
      localIp: SECOND_GATEWAY,
      localPort: second,
    });
    await Promise.all([overloaded.ready, answering.ready]);
    const [overloadedResult, answeringResult] = await allPassed(
      overloaded,
      answering,
      pbxCall(pivot.address),
    );
    expect(received(overloadedResult!).map((l) => l.split(' ')[0])).toEqual(['INVITE', 'ACK']);
    expect(received(answeringResult!)[0]).toBe(`INVITE sip:+15550200000@${SECOND_GATEWAY} SIP/2.0`);
    // The second INVITE is a new transaction in the same call: next CSeq, same Call-ID and From tag.
    // The PBX's Reason for hanging up (RFC 3326, a Q.850 cause) reaches the carrier with the BYE.
    expect(answeringResult!.messages).toMatch(
      /^BYE [^\n]*\n(?:[^\n]+\n)*Reason: Q\.850;cause=16;text="NORMAL_CLEARING"\r?$/m,
    );
    const [firstInvite] = overloadedResult!.messages.match(/^CSeq: \d+ INVITE$/m) ?? [];
    const [secondInvite] = answeringResult!.messages.match(/^CSeq: \d+ INVITE$/m) ?? [];
    expect([firstInvite, secondInvite]).toEqual(['CSeq: 1 INVITE', 'CSeq: 2 INVITE']);

    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallRejected',
      'CallProgress',
      'CallAnswered',
      'CallAcked',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(events[1]!.data).toMatchObject({ status: 503, retryable: true });
    expect(events.at(-1)!.data.status).toBe('completed');
  });

  it('an unreachable first gateway (TCP refused): the call goes to the second', async () => {
    const [first, second] = [await freePort(), await freePort()];
    pivot = await startTestPivot({
      carrierPort: first,
      carrierUris: [`sip:${CARRIER_IP}:${first};transport=tcp`, `sip:${SECOND_GATEWAY}:${second}`],
    });
    const answering = runSipp({
      scenario: 'vendors/carrier-answer.xml',
      localIp: SECOND_GATEWAY,
      localPort: second,
    });
    await answering.ready;
    await allPassed(answering, pbxCall(pivot.address));
    const events = await pivot.events();
    expect(events.find((e) => e.type === 'CallRejected')?.data).toMatchObject({
      status: 503,
      retryable: true,
    });
    expect(events.find((e) => e.type === 'CallEnded')?.data.status).toBe('completed');
  });

  it('a 486 Busy from the first gateway ends the call: busy is an answer, not a failure', async () => {
    const [first, second] = [await freePort(), await freePort()];
    pivot = await startTestPivot({
      carrierPort: first,
      carrierUris: [`sip:${CARRIER_IP}:${first}`, `sip:${SECOND_GATEWAY}:${second}`],
    });
    const busy = runSipp({ scenario: 'vendors/carrier-busy.xml', localIp: CARRIER_IP, localPort: first });
    await busy.ready;
    const [, pbxResult] = await allPassed(busy, pbxCall(pivot.address));
    expect(received(pbxResult!)).toContain('SIP/2.0 486 Busy Here');
    expect(pbxResult!.messages).toMatch(
      /^SIP\/2\.0 486 Busy Here\r?\n(?:[^\n]+\n)*Reason: Q\.850;cause=17;text="user busy"\r?$/m,
    );
    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual(['CallReceived', 'CallRejected', 'CallEnded']);
  });
});
