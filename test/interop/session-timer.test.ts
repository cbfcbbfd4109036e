/**
 * Session timers (RFC 4028) on the wire: a FreeSWITCH-style PBX calls with Session-Expires 120, is made
 * the refresher, refreshes once, then vanishes without a BYE. When the session expires the pivot BYEs
 * both the PBX and the carrier and ends the call, so a dead dialog does not stay up forever. The timer is
 * fired as soon as it is scheduled (rather than 120 s later): what is tested is that it is scheduled
 * for the right time, moved by the refresh, and what its firing does.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { allPassed, received, renderScenario } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, typesOf } from '../e2e/pivot.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('a caller that vanishes during a session with a timer', () => {
  it('is found when the session expires: both legs get a BYE and the call ends', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const carrier = runSipp({
      scenario: 'vendors/carrier-answer-reinvite.xml',
      localIp: CARRIER_IP,
      localPort: carrierPort,
    });
    await carrier.ready;
    const pbx = runSipp({
      scenario: renderScenario('vendors/freeswitch-pbx-session-timer.xml', {
        DOMAIN: 'acme.pstn.pivot.test',
      }),
      remote: pivot.address,
    });
    const engine = pivot.engine;
    // The refresh replaced the first timer: the second one is the one that counts.
    const pending = await vi.waitFor(
      () => {
        const found = engine.pendingTimers().find((p) => p.timer.timerId.endsWith(':session-expires:2'));
        if (!found) throw new Error('no refreshed session timer yet');
        return found;
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(engine.pendingTimers().filter((p) => p.timer.name === 'session-expires')).toHaveLength(1);
    expect(Date.parse(pending.timer.dueAt) - Date.parse(pending.timer.at)).toBe(120_000);
    await engine.fireTimer(pending.sessionSid, {
      type: 'TimerFired',
      callSid: pending.timer.callSid,
      at: pending.timer.dueAt,
      timerId: pending.timer.timerId,
      name: 'session-expires',
    });
    const [carrierResult, pbxResult] = await allPassed(carrier, pbx);
    expect(received(pbxResult!).at(-1)).toMatch(/^BYE /);
    expect(received(carrierResult!).at(-1)).toMatch(/^BYE /);

    const events = await pivot.events();
    const root = pending.sessionSid;
    expect(typesOf(events, root)).toEqual([
      'CallReceived',
      'CallAnswered',
      'TimerScheduled',
      'CallAcked',
      'ReInviteReceived',
      'ReInviteAnswered',
      'TimerCanceled',
      'TimerScheduled',
      'TimerFired',
      'CallEnded',
    ]);
    expect(events.find((e) => e.type === 'CallReceived')!.data.sessionExpires).toBe(120);
    expect(events.at(-1)!.data).toMatchObject({
      status: 'completed',
      why: 'session expired: no refresh from the customer leg within 120 s (RFC 4028 §10)',
    });
  });
});
