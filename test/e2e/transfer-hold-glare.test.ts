/**
 * A blind transfer whose hold re-INVITE crosses an offer of the far party's: the carrier answers it
 * 491 Request Pending, and the pivot sends the hold again after the RFC 3261 §14.1 back-off (a durable
 * timer) instead of going on without it; the transfer then completes as usual. On the wire (the SIPp
 * carrier expects the hold twice) and in the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { allPassed, carrier, pbx, received, target } from './parties.ts';
import { type PivotUnderTest, startTestPivot } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('491 to the hold re-INVITE of a blind transfer', () => {
  it('is tried again after the back-off; the far party is held, then reconnected to the target', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'glare_hold_then_reconnect', childEnd: 'hangs_up' });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, { flow: 'transfer', target: `target@127.0.0.1:${bob.port}` });
    const [, resultFar] = await allPassed(agent, far, bob);

    // The carrier saw the initial INVITE, the refused hold, its retry and the reconnect.
    const invites = received(resultFar!).filter((line) => line.startsWith('INVITE'));
    expect(invites).toHaveLength(4);

    const events = await pivot.events();
    const types = events.map((e) => e.type);
    const refused = events.find((e) => e.type === 'HoldRefused');
    expect(refused?.data).toMatchObject({ status: 491 });
    const retry = events.find((e) => e.type === 'TimerScheduled' && e.data.name === 'reinvite-retry');
    expect(retry?.data.timerId).toMatch(/:hold-retry-1$/);
    expect(types.indexOf('HoldRefused')).toBeLessThan(types.indexOf('TransfereeHeld'));
    // The target is INVITEd only once the far party is held.
    expect(types.indexOf('TransfereeHeld')).toBeLessThan(types.indexOf('TargetInvited'));
    expect(types).toContain('TransferCompleted');
  });
});
