/**
 * The call machine's side of a transfer: the facts the transfer machine emits (ReferAccepted,
 * TransferFailed, TransferCompleted) decided directly as inputs of the call, then what the call does
 * with the legs it gets back.
 */
import { describe, expect, it } from 'vitest';
import {
  at,
  CHILD,
  callAnswered,
  callReceived,
  hangup,
  ROOT,
  SIP_TARGET,
  TRANSFER,
  timerFired,
  tx,
} from '../../test/helpers/fixtures.ts';
import { given, history, spec } from '../../test/helpers/sessionSpec.ts';
import type { LegDialog } from '../dialog.ts';
import type { ReferAccepted, TransferCompleted, TransferFailed } from '../events.ts';

const referAccepted: ReferAccepted = {
  type: 'ReferAccepted',
  callSid: ROOT,
  transferSid: TRANSFER,
  at: at(20),
  referTo: SIP_TARGET,
  targetKind: 'sip',
  referSub: true,
};

const transferring = () => history(callReceived(), callAnswered(), referAccepted);

/** The legs as the transfer hands them back: NOTIFYs on the customer leg, hold/resume on the far leg. */
function handedBack(): { customer: LegDialog; far: LegDialog } {
  const { legs } = given(transferring()).call().context;
  return {
    customer: { ...legs.customer!, localCseq: 2 },
    far: { ...legs.far!, localCseq: 3, origin: { ...legs.far!.origin, version: 3 } },
  };
}

function transferFailed(overrides: Partial<TransferFailed> = {}): TransferFailed {
  const { customer, far } = handedBack();
  return {
    type: 'TransferFailed',
    callSid: ROOT,
    transferSid: TRANSFER,
    at: at(40),
    status: 486,
    reason: 'Busy Here',
    customerLeg: customer,
    farLeg: far,
    transferorGone: false,
    transfereeGone: false,
    ...overrides,
  };
}

function transferCompleted(overrides: Partial<TransferCompleted> = {}): TransferCompleted {
  const { customer, far } = handedBack();
  return {
    type: 'TransferCompleted',
    callSid: ROOT,
    transferSid: TRANSFER,
    at: at(40),
    childCallSid: CHILD,
    customerLeg: customer,
    farLeg: far,
    targetLeg: { ...far, legId: '000000001234t' },
    targetKind: 'sip',
    targetNumber: 'alice',
    transfereeNumber: '+442079460000',
    transferorGone: false,
    byeFallbackSeconds: 32,
    ...overrides,
  };
}

describe('call: ReferAccepted', () => {
  it('moves the call to transferring and counts the transfer', () => {
    const then = spec({
      given: history(callReceived(), callAnswered()),
      when: referAccepted,
      thenEvents: ['ReferAccepted'],
      thenCommands: [],
      thenState: { calls: { [ROOT]: 'transferring' } },
    });
    expect(then.call().context).toMatchObject({
      activeTransferSid: TRANSFER,
      transfersAccepted: 1,
      status: 'in-progress',
    });
  });

  it('does not take a BYE as HangupReceived while the transfer owns the legs', () => {
    spec({ given: transferring(), when: hangup('customer'), thenAccepted: false });
  });
});

describe('call: TransferFailed', () => {
  it('with both parties there, goes back to inProgress with the advanced CSeqs', () => {
    const then = spec({
      given: transferring(),
      when: transferFailed(),
      thenEvents: ['TransferFailed'],
      thenCommands: [],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    const { context } = then.call();
    expect(context.activeTransferSid).toBeUndefined();
    expect(context.legs.customer?.localCseq).toBe(2);
    expect(context.legs.far?.localCseq).toBe(3);
    expect(context.transfersAccepted).toBe(1);
    // The next BYE uses the CSeq after the transfer's requests.
    const bye = given([...transferring(), transferFailed()])
      .when(hangup('customer'))
      .request('BYE');
    expect(bye.cseq).toEqual({ seq: 4, method: 'BYE' });
    expect(bye.branch).toBe('z9hG4bK-fa0000000002-4-bye');
  });

  it('with the transferor gone, hangs up the far party and completes the call', () => {
    const then = spec({
      given: transferring(),
      when: transferFailed({ transferorGone: true }),
      thenEvents: ['TransferFailed', { type: 'CallEnded', status: 'completed' }],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE']);
    expect(then.request('BYE')).toMatchObject({
      callId: `pv-${ROOT}-f@203.0.113.5`,
      cseq: { seq: 4, method: 'BYE' },
    });
  });

  it('with the transferee gone, hangs up the customer leg with its next CSeq', () => {
    const then = spec({
      given: transferring(),
      when: transferFailed({ transfereeGone: true, status: 487, reason: 'Request Terminated' }),
      thenEvents: ['TransferFailed', { type: 'CallEnded', status: 'completed' }],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE']);
    expect(then.request('BYE')).toMatchObject({
      callId: '5c1d8e2a-77f0@10.20.0.10',
      cseq: { seq: 3, method: 'BYE' },
      to: { params: { tag: 'pbx-a1' } },
    });
  });

  it('with both gone, only ends the call', () => {
    spec({
      given: transferring(),
      when: transferFailed({ transferorGone: true, transfereeGone: true }),
      thenEvents: ['TransferFailed', 'CallEnded'],
      thenCommands: [],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
  });
});

describe('call: TransferCompleted and the BYE fallback', () => {
  const handedOff = () => [...transferring(), transferCompleted()];

  it('hands the far leg off and schedules the BYE fallback at +byeFallbackSeconds', () => {
    const then = spec({
      given: transferring(),
      when: transferCompleted(),
      thenEvents: [
        'TransferCompleted',
        {
          type: 'TimerScheduled',
          callSid: ROOT,
          timerId: `${ROOT}:bye-fallback`,
          name: 'bye-fallback',
          at: at(40),
          dueAt: at(72),
        },
      ],
      thenCommands: [],
      thenState: { calls: { [ROOT]: 'handedOff' } },
    });
    expect(then.event('TimerScheduled').transferSid).toBeUndefined();
    expect(Object.keys(then.call().context.legs)).toEqual(['customer']);
    expect(then.call().context.byeFallbackTimerId).toBe(`${ROOT}:bye-fallback`);
  });

  it('counts the fallback from the final NOTIFY when the transfer sent one', () => {
    const then = given(transferring()).when(transferCompleted({ finalNotifyAt: at(30) }));
    expect(then.event('TimerScheduled')).toMatchObject({ at: at(40), dueAt: at(62) });
  });

  it('completes at once when the transferor already hung up', () => {
    spec({
      given: transferring(),
      when: transferCompleted({ transferorGone: true }),
      thenEvents: ['TransferCompleted', { type: 'CallEnded', status: 'completed' }],
      thenCommands: [],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
  });

  it('the PBX BYE is answered 200, the fallback timer canceled and the call completed', () => {
    const then = spec({
      given: handedOff(),
      when: hangup('customer', { at: at(45) }),
      thenEvents: [
        'HangupReceived',
        { type: 'TimerCanceled', timerId: `${ROOT}:bye-fallback`, at: at(45) },
        { type: 'CallEnded', status: 'completed', at: at(45) },
      ],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['200']);
    expect(then.response(200)).toMatchObject(tx('z9hG4bK-bye-customer|BYE'));
  });

  it('a BYE for the far leg no longer belongs to the root call', () => {
    spec({ given: handedOff(), when: hangup('far'), thenAccepted: false });
  });

  it('the fallback timer BYEs the PBX itself with the next CSeq of the customer leg', () => {
    const then = spec({
      given: handedOff(),
      when: timerFired('bye-fallback', `${ROOT}:bye-fallback`, { at: at(72) }),
      thenEvents: ['TimerFired', { type: 'CallEnded', status: 'completed', at: at(72) }],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE']);
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-c0ffee000001-3-bye',
      callId: '5c1d8e2a-77f0@10.20.0.10',
      cseq: { seq: 3, method: 'BYE' },
    });
  });

  it('ignores a timer that is not its fallback, and the fallback after the PBX hung up', () => {
    spec({
      given: handedOff(),
      when: timerFired('bye-fallback', 'CAother:bye-fallback'),
      thenAccepted: false,
    });
    const afterBye = given(handedOff()).when(hangup('customer'));
    spec({
      given: [...handedOff(), ...afterBye.events],
      when: timerFired('bye-fallback', `${ROOT}:bye-fallback`),
      thenAccepted: false,
    });
  });
});
