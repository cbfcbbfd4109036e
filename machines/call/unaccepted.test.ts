import { describe, expect, it } from 'vitest';
import {
  at,
  callAnswered,
  callCanceled,
  callProgress,
  callReceived,
  callRejected,
  hangup,
  ROOT,
  TRANSFER,
  timerFired,
} from '../../test/helpers/fixtures.ts';
import { given, history, spec } from '../../test/helpers/sessionSpec.ts';
import type { SessionEvent } from '../events.ts';

const ringing = () => history(callReceived());
const answered = () => history(callReceived(), callAnswered());
const ended = () => history(callReceived(), callAnswered(), hangup('customer'));

const cases: Array<[string, () => SessionEvent[], SessionEvent]> = [
  ['CallAnswered in idle', () => [], callAnswered()],
  ['CallProgress in idle', () => [], callProgress()],
  ['HangupReceived in idle', () => [], hangup('customer')],
  ['a second CallReceived', ringing, callReceived()],
  ['HangupReceived while ringing', ringing, hangup('customer')],
  [
    'ReferAccepted while ringing',
    ringing,
    {
      type: 'ReferAccepted',
      callSid: ROOT,
      transferSid: TRANSFER,
      at: at(2),
      referTo: 'sip:a@b',
      targetKind: 'sip',
      referSub: true,
    },
  ],
  ['CallProgress after the answer', answered, callProgress()],
  ['CallAnswered twice', answered, callAnswered()],
  ['CallRejected after the answer', answered, callRejected(486, 'Busy Here')],
  ['CallCanceled after the answer', answered, callCanceled()],
  ['a timer that is not armed', answered, timerFired('bye-fallback', `${ROOT}:bye-fallback`)],
  ['a BYE after the call ended', ended, hangup('far')],
  ['a retransmitted BYE after the call ended', ended, hangup('customer')],
  ['a BYE while the CANCEL is pending', () => history(callReceived(), callCanceled()), hangup('customer')],
  [
    'a 200 after the 487 that followed a CANCEL',
    () => history(callReceived(), callCanceled(), callRejected(487, 'Request Terminated')),
    callAnswered(),
  ],
];

describe('call: inputs not accepted', () => {
  it.each(cases)('%s: nothing stored, nothing sent, state unchanged', (_name, before, input) => {
    const events = before();
    const state = events.length > 0 ? given(events).callState() : undefined;
    const then = spec({ given: events, when: input, thenAccepted: false });
    expect(then.session).toBe(then.before);
    if (state) expect(then.callState()).toBe(state);
  });
});
