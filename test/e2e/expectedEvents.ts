/**
 * The event types a transfer stores, in order, as the end-to-end tests expect them of one call's
 * stream: the runs every transfer shares, so that a change to the flow is made in one place.
 */

/** The root call from its INVITE until the transfer target rings (the transferee held meanwhile). */
export const UNTIL_TARGET_RINGS = [
  'CallReceived',
  'CallProgress',
  'CallAnswered',
  'ReferReceived',
  'ReferAccepted',
  'TransfereeHeld',
  'TargetInvited',
  'TimerScheduled',
  'TargetRinging',
];

/** The root call of a transfer that completes and whose PBX then hangs up. */
export const COMPLETED_AND_PBX_HUNG_UP = [
  ...UNTIL_TARGET_RINGS,
  'TargetAnswered',
  'TimerCanceled',
  'TransfereeReconnected',
  'TransferCompleted',
  'TimerScheduled',
  'HangupReceived',
  'TimerCanceled',
  'CallEnded',
];

/** The child call a completed transfer started, ended by one of its two sides hanging up. */
export const CHILD_CALL_HUNG_UP = ['ChildCallStarted', 'HangupReceived', 'CallEnded'];
