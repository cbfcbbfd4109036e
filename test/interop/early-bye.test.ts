/**
 * A transferor that hangs up as soon as it has its 202 and the first NOTIFY, as many desk phones do: the transfer goes on
 * without it, the target is bridged to the far party, and no NOTIFY follows the phone's BYE.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, carrier, received, renderScenario, target } from '../e2e/parties.ts';
import { type PivotUnderTest, startTestPivot, the, typesOf } from '../e2e/pivot.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('a phone that hangs up right after the 202 and the first NOTIFY', () => {
  it('the transfer completes without it; nothing is sent to it after its BYE', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const phone = runSipp({
      scenario: renderScenario('vendors/phone-bye-after-notify.xml', {
        TARGET: `target@127.0.0.1:${bob.port}`,
      }),
      remote: pivot.address,
    });
    const [phoneResult] = await allPassed(phone, far, bob);
    const seen = received(phoneResult!);
    // The BYE is the phone's last request: its 200 is the last response it received.
    const byeAnswered = seen.findLastIndex((line) => line.startsWith('SIP/2.0 200'));
    // At most the NOTIFY 100 sent with the 202 reaches the phone, and only before its BYE was answered.
    expect(seen.slice(byeAnswered + 1).filter((line) => line.startsWith('NOTIFY'))).toEqual([]);
    expect(seen.filter((line) => line.startsWith('NOTIFY')).length).toBeLessThanOrEqual(1);

    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root)).toContain('TransferorHungUp');
    expect(the(events, 'TransferCompleted').data.transferorGone).toBe(true);
    const child = the(events, 'ChildCallStarted').data.callSid;
    expect(typesOf(events, child)).toEqual(['ChildCallStarted', 'HangupReceived', 'CallEnded']);
  });
});
