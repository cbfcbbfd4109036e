/**
 * The event types a transfer stores, in order, as the end-to-end tests expect them of one call's
 * stream: the runs every transfer shares, so that a change to the flow is made in one place.
 */

/** The root call from its INVITE until the transfer target rings (the transferee held meanwhile). */
export const UNTIL_TARGET_RINGS = [
  'CallReceived',
  'CallProgress',
  'CallAnswered',
  'CallAcked',
  'ReferReceived',
  'ReferAccepted',
  'TransfereeHeld',
  'TargetInvited',
  'TimerScheduled',
  'TargetRinging',
];

/**
 * The root call of a transfer that completes and whose PBX then hangs up. The final NOTIFY goes out when
 * the target answers, so the PBX's BYE may come after the far party is reconnected (the call takes it,
 * and the BYE fallback is cancelled) or while it is being reconnected (the transfer takes it): both are
 * the protocol's, and which one a run sees depends only on timing.
 */
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
export const PBX_HUNG_UP_WHILE_RECONNECTING = [
  ...UNTIL_TARGET_RINGS,
  'TargetAnswered',
  'TimerCanceled',
  'TransferorHungUp',
  'TransfereeReconnected',
  'TransferCompleted',
  'CallEnded',
];

/** The child call a completed transfer started, ended by one of its two sides hanging up. */
export const CHILD_CALL_HUNG_UP = ['ChildCallStarted', 'HangupReceived', 'CallEnded'];
