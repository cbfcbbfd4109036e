/**
 * Checks on the events a completed transfer stored (read from the pivot's SQLite file): the same for a
 * SIP or a PSTN target and for either direction of the root call.
 */
import { expect } from 'vitest';
import {
  CHILD_CALL_HUNG_UP,
  COMPLETED_AND_PBX_HUNG_UP,
  PBX_HUNG_UP_WHILE_RECONNECTING,
} from './expectedEvents.ts';
import { type StoredEvent, the, typesOf } from './pivot.ts';

/** The root and child call Sids of a transfer that completed and whose PBX then hung up, checked by type. */
export function completedTransferCalls(events: StoredEvent[]): { rootCall: string; childCall: string } {
  const rootCall: string = the(events, 'CallReceived').data.callSid;
  const childCall: string = the(events, 'ChildCallStarted').data.callSid;
  expect([COMPLETED_AND_PBX_HUNG_UP, PBX_HUNG_UP_WHILE_RECONNECTING]).toContainEqual(
    typesOf(events, rootCall),
  );
  expect(typesOf(events, childCall)).toEqual(CHILD_CALL_HUNG_UP);
  return { rootCall, childCall };
}

/**
 * The PBX hung up the root call, `childLeg` the child call, and both ended completed. The two hang-ups
 * are independent, so each is looked up by its call rather than by its position.
 */
export function expectBothHungUp(
  events: StoredEvent[],
  calls: { rootCall: string; childCall: string },
  childLeg: 'far' | 'target',
): void {
  const hangups = events.filter((e) => e.type === 'HangupReceived' || e.type === 'TransferorHungUp');
  expect(hangups).toHaveLength(2);
  // The PBX's BYE: the call's on its customer leg, or the transfer's while it reconnected the far party.
  const pbxBye = hangups.find((e) => e.data.callSid === calls.rootCall);
  expect(pbxBye?.type === 'TransferorHungUp' || pbxBye?.data.leg === 'customer').toBe(true);
  expect(hangups.find((e) => e.data.callSid === calls.childCall)?.data.leg).toBe(childLeg);
  expect(events.filter((e) => e.type === 'CallEnded').map((e) => e.data.status)).toEqual([
    'completed',
    'completed',
  ]);
}
