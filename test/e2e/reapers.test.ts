/**
 * Reapers over the wire: a carrier that rings and never answers is CANCELed when Timer C (set short in
 * the config) fires, and the PBX gets 408.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '../helpers/sipp.ts';
import { allPassed } from './parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, the } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('Timer C', () => {
  it('a callee that only rings is CANCELed and the PBX answered 408', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, timerCSeconds: 2 });
    const carrier = runSipp({
      scenario: 'e2e-carrier-rings.xml',
      localIp: CARRIER_IP,
      localPort: carrierPort,
      timeoutMs: 30_000,
    });
    await carrier.ready;
    const customer = runSipp({ scenario: 'e2e-pbx-timer-c.xml', remote: pivot.address, timeoutMs: 30_000 });
    await allPassed(carrier, customer);

    const events = await pivot.allEvents();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'TimerScheduled',
      'CallProgress',
      'TimerFired',
      'CallEnded',
      'CallRejected',
    ]);
    expect(the(events, 'CallEnded').data).toMatchObject({ status: 'no-answer', sipStatus: 408 });
  });
});
