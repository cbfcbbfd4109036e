import { describe, expect, it } from 'vitest';
import {
  answeredCall,
  at,
  CHILD,
  CHILD_2,
  hangup,
  noAnswerFired,
  ROOT,
  referReceived,
  TRANSFER,
  TRANSFER_2,
  targetInvited,
  timerFired,
  transferorHungUp,
  transferResponse,
  tx,
} from '../test/helpers/fixtures.ts';
import { fold, live } from '../test/helpers/sessionSpec.ts';
import type { SessionEvent } from './events.ts';
import { decide, emptySession, evolve, machineOf, type SessionState } from './session.ts';

/** Every machine of a session as plain data: state value, status and context. */
function shape(session: SessionState) {
  const view = (s: { value: unknown; status: string; context: unknown }) => ({
    value: s.value,
    status: s.status,
    context: s.context,
  });
  return {
    rootCallSid: session.rootCallSid,
    calls: Object.fromEntries(Object.entries(session.calls).map(([sid, s]) => [sid, view(s)])),
    transfers: Object.fromEntries(Object.entries(session.transfers).map(([sid, s]) => [sid, view(s)])),
  };
}

/** Decides `inputs` live and checks that folding the stored events gives the same session at every step. */
function expectReplayable(inputs: SessionEvent[]) {
  const decisions = live(inputs);
  const stored: SessionEvent[] = [];
  for (const decision of decisions) {
    stored.push(...decision.events);
    expect(shape(fold(stored))).toEqual(shape(decision.session));
  }
  return { decisions, stored, final: decisions.at(-1)!.session };
}

const SECOND_REFER = referReceived({
  transferSid: TRANSFER_2,
  childCallSid: CHILD_2,
  cseq: 3,
  at: at(60),
  refer: tx('z9hG4bK-pbx-refer-3|REFER'),
  referTo: ['<tel:+4930123456>'],
  targetDestination: undefined,
});
const second = <T extends SessionEvent>(event: T): T => ({ ...event, transferSid: TRANSFER_2, at: at(61) });

describe('session: replay determinism', () => {
  it('a full blind transfer folds back into the states and contexts decided live', () => {
    const { stored, final } = expectReplayable([
      ...targetInvited(),
      transferResponse('TargetRinging'),
      transferResponse('TargetAnswered', { at: at(30) }),
      transferResponse('TransfereeReconnected', { at: at(31) }),
      hangup('customer', { at: at(33) }),
      hangup('far', { callSid: CHILD, at: at(300) }),
    ]);
    expect(stored.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallAnswered',
      'ReferReceived',
      'ReferAccepted',
      'TransfereeHeld',
      'TargetInvited',
      'TimerScheduled',
      'TargetRinging',
      'TargetAnswered',
      'TimerCanceled',
      'TransfereeReconnected',
      'TransferCompleted',
      'TimerScheduled',
      'ChildCallStarted',
      'HangupReceived',
      'TimerCanceled',
      'CallEnded',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(final.calls[ROOT]?.value).toBe('ended');
    expect(final.calls[CHILD]?.value).toBe('ended');
    expect(final.transfers[TRANSFER]?.value).toBe('completed');
  });

  it('a failed transfer (no answer, late 200) then a second, PSTN transfer folds back alike', () => {
    const { final } = expectReplayable([
      ...targetInvited(),
      noAnswerFired(),
      transferResponse('TargetAnswered', { at: at(51) }),
      transferResponse('TransfereeResumed', { at: at(52) }),
      SECOND_REFER,
      second(transferResponse('TransfereeHeld')),
      second(transferResponse('NotifyAnswered', { status: 481, reason: 'Call/Transaction Does Not Exist' })),
      second(transferorHungUp()),
      second(transferResponse('TargetAnswered')),
      second(transferResponse('TransfereeReconnected')),
      hangup('target', { callSid: CHILD_2 }),
    ]);
    expect(final.transfers[TRANSFER]?.value).toBe('failed');
    expect(final.transfers[TRANSFER_2]?.value).toBe('completed');
    expect(final.calls[ROOT]?.value).toBe('ended');
    expect(final.calls[CHILD_2]?.value).toBe('ended');
    expect(final.calls[CHILD_2]?.context.to).toBe('+4930123456');
  });

  it('a late 200 after a failed transfer, and a refused reconnect, fold back alike', () => {
    const { stored, final } = expectReplayable([
      ...targetInvited(),
      noAnswerFired(),
      transferResponse('TransfereeResumed', { at: at(52) }),
      transferResponse('TargetAnswered', { at: at(53) }),
      SECOND_REFER,
      second(transferResponse('TransfereeHeld')),
      second(transferResponse('TargetAnswered')),
      second(transferResponse('TransfereeReconnected', { status: 488, reason: 'Not Acceptable Here' })),
      second(transferResponse('TransfereeResumed')),
      hangup('customer', { at: at(90) }),
    ]);
    expect(stored.filter((e) => e.type === 'TargetReleased').map((e) => e.why)).toEqual([
      'late-answer',
      'reconnect-refused',
    ]);
    expect(final.transfers[TRANSFER]?.value).toBe('failed');
    expect(final.transfers[TRANSFER_2]?.value).toBe('failed');
    expect(final.calls[ROOT]?.value).toBe('ended');
    expect(Object.keys(final.calls)).toEqual([ROOT]);
  });

  it('the BYE fallback path folds back alike', () => {
    const { final } = expectReplayable([
      ...targetInvited(),
      transferResponse('TargetAnswered', { at: at(30) }),
      transferResponse('TransfereeReconnected', { at: at(31) }),
      timerFired('bye-fallback', `${ROOT}:bye-fallback`, { at: at(63) }),
    ]);
    expect(final.calls[ROOT]?.context.legs.customer?.localCseq).toBe(3);
  });

  it('deciding a stored event again from the folded session is refused (no double storage)', () => {
    const { stored } = expectReplayable([...answeredCall(), hangup('customer')]);
    const session = fold(stored);
    for (const event of stored.filter((e) => machineOf(e) !== undefined)) {
      expect(decide(session, event).accepted).toBe(false);
    }
  });
});

describe('session: routing of events', () => {
  it('maps inputs and facts to their machine; facts nobody reacts to belong to none', () => {
    expect(machineOf(referReceived())).toEqual({ kind: 'transfer', sid: TRANSFER });
    expect(machineOf(noAnswerFired())).toEqual({ kind: 'transfer', sid: TRANSFER });
    expect(machineOf(timerFired('bye-fallback', 'x'))).toEqual({ kind: 'call', sid: ROOT });
    expect(machineOf(hangup('far', { callSid: CHILD }))).toEqual({ kind: 'call', sid: CHILD });
    expect(machineOf({ type: 'CallEnded', callSid: ROOT, at: at(1), status: 'completed' })).toBeUndefined();
    expect(
      machineOf({
        type: 'TargetReleased',
        callSid: ROOT,
        transferSid: TRANSFER,
        at: at(1),
        why: 'late-answer',
        targetCallId: 'x',
      }),
    ).toBeUndefined();
    // A refused REFER is the call's: it records the REFER's CSeq in the leg's dialog (remote CSeq).
    expect(
      machineOf({
        type: 'ReferRejected',
        callSid: ROOT,
        transferSid: TRANSFER,
        at: at(1),
        status: 403,
        reason: 'x',
      }),
    ).toEqual({ kind: 'call', sid: ROOT });
  });

  it('evolving a fact that belongs to no machine leaves the session as it was', () => {
    const session = fold(live(answeredCall()).flatMap((d) => d.events));
    const next = evolve(session, { type: 'CallEnded', callSid: ROOT, at: at(1), status: 'completed' });
    expect(next).toBe(session);
  });

  it('an input for a transfer that does not exist is not accepted', () => {
    const decision = decide(emptySession(ROOT), transferResponse('TargetAnswered'));
    expect(decision).toMatchObject({ accepted: false, events: [], commands: [] });
  });
});
