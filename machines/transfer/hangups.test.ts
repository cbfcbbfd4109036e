import { describe, expect, it } from 'vitest';
import {
  at,
  CHILD,
  noAnswerFired,
  ROOT,
  referred,
  TRANSFER,
  targetBusy,
  targetInvited,
  targetUp,
  transfereeHungUp,
  transferorHungUp,
  transferResponse,
  tx,
} from '../../test/helpers/fixtures.ts';
import { given, history, sipfrag, spec } from '../../test/helpers/sessionSpec.ts';

describe('transfer: the transferor (PBX) hangs up mid-transfer', () => {
  it('is answered 200 and gets no NOTIFY after that', () => {
    const then = spec({
      given: history(...targetInvited()),
      when: transferorHungUp(),
      thenEvents: ['TransferorHungUp'],
      thenCommands: [{ kind: 'response', ...tx('z9hG4bK-pbx-bye-9|BYE'), status: 200, reason: 'OK' }],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'inviting' } },
    });
    expect(then.transfer().context.transferorGone).toBe(true);
    const ringing = given([...history(...targetInvited()), ...then.events]).when(
      transferResponse('TargetRinging'),
    );
    expect(ringing.accepted).toBe(true);
    expect(ringing.commands).toEqual([]);
  });

  it('the transfer still completes; the root call ends and the child call starts', () => {
    const gone = history(...targetInvited(), transferorHungUp());
    const answered = given(gone).when(transferResponse('TargetAnswered'));
    expect(answered.wire).toEqual(['ACK', 'INVITE']);
    const then = spec({
      given: [...gone, ...answered.events],
      when: transferResponse('TransfereeReconnected', { at: at(31) }),
      thenEvents: [
        'TransfereeReconnected',
        { type: 'TransferCompleted', transferorGone: true },
        { type: 'CallEnded', callSid: ROOT, status: 'completed', at: at(31) },
        { type: 'ChildCallStarted', callSid: CHILD },
      ],
      thenState: {
        calls: { [ROOT]: 'ended', [CHILD]: 'inProgress' },
        transfers: { [TRANSFER]: 'completed' },
      },
    });
    expect(then.wire).toEqual(['ACK']);
  });

  it('a failed target then ends everything: the call BYEs the far party', () => {
    const then = spec({
      given: history(...targetInvited(), transferorHungUp()),
      when: transferResponse('TargetFailed'),
      thenEvents: [
        'TargetFailed',
        'TimerCanceled',
        { type: 'TransferFailed', status: 486, transferorGone: true, transfereeGone: false },
        { type: 'CallEnded', callSid: ROOT, status: 'completed' },
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['BYE']);
    expect(then.request('BYE')).toMatchObject({
      cseq: { seq: 3, method: 'BYE' },
      to: { params: { tag: 'carrier-a9' } },
    });
  });

  it('no answer then CANCELs the target and BYEs the far party, no NOTIFY', () => {
    const then = spec({
      given: history(...targetInvited(), transferorHungUp()),
      when: noAnswerFired(),
      thenEvents: ['TimerFired', { type: 'TransferFailed', status: 408, transferorGone: true }, 'CallEnded'],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['CANCEL', 'BYE']);
  });

  it('while resuming: the resumed far party is hung up by the call', () => {
    const then = spec({
      given: history(...targetBusy(), transferorHungUp()),
      when: transferResponse('TransfereeResumed'),
      thenEvents: ['TransfereeResumed', { type: 'TransferFailed', transferorGone: true }, 'CallEnded'],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE']);
    expect(then.request('BYE').cseq).toEqual({ seq: 4, method: 'BYE' });
  });
});

describe('transfer: the transferee (far party) hangs up mid-transfer', () => {
  it('holding: 200, final NOTIFY 487, TransferFailed (transfereeGone) and the call BYEs the PBX', () => {
    const then = spec({
      given: history(...referred()),
      when: transfereeHungUp(),
      thenEvents: [
        'TransfereeHungUp',
        { type: 'TransferFailed', status: 487, transfereeGone: true, transferorGone: false },
        { type: 'CallEnded', callSid: ROOT, status: 'completed' },
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['200', 'NOTIFY', 'BYE']);
    expect(then.response(200)).toMatchObject(tx('z9hG4bK-carrier-bye-7|BYE'));
    const notify = then.request('NOTIFY');
    expect(sipfrag(notify)).toBe('SIP/2.0 487 Request Terminated');
    expect(notify.headers?.['Subscription-State']).toBe('terminated;reason=noresource');
    expect(then.request('BYE')).toMatchObject({
      callId: '5c1d8e2a-77f0@10.20.0.10',
      cseq: { seq: 3, method: 'BYE' },
    });
  });

  it('inviting: 200, CANCEL the target, timer canceled, NOTIFY 487, BYE the PBX', () => {
    const then = spec({
      given: history(...targetInvited()),
      when: transfereeHungUp({ at: at(24) }),
      thenEvents: [
        'TransfereeHungUp',
        { type: 'TimerCanceled', timerId: `${TRANSFER}:no-answer` },
        { type: 'TransferFailed', transfereeGone: true },
        'CallEnded',
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['200', 'CANCEL', 'NOTIFY', 'BYE']);
    expect(then.request('CANCEL')).toMatchObject({
      branch: 'z9hG4bK-000000001234t-1-invite',
      cseq: { seq: 1, method: 'CANCEL' },
    });
    expect(sipfrag(then.request('NOTIFY'))).toBe('SIP/2.0 487 Request Terminated');
    expect(then.request('BYE').cseq.seq).toBe(3);
  });

  it('reconnecting: 200, BYE the answered target, BYE the PBX (the 200 NOTIFY was already sent)', () => {
    const then = spec({
      given: history(...targetUp()),
      when: transfereeHungUp(),
      thenEvents: [
        'TransfereeHungUp',
        { type: 'TargetReleased', why: 'transferee-hung-up' },
        { type: 'TransferFailed', transfereeGone: true },
        'CallEnded',
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['200', 'BYE', 'BYE']);
    const [target, pbx] = then.requests;
    expect(target).toMatchObject({
      branch: 'z9hG4bK-000000001234t-2-bye',
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 2, method: 'BYE' },
    });
    expect(pbx).toMatchObject({ callId: '5c1d8e2a-77f0@10.20.0.10', cseq: { seq: 3, method: 'BYE' } });
  });

  it('resuming: 200 and BYE the PBX; the failure keeps the target status', () => {
    const then = spec({
      given: history(...targetBusy()),
      when: transfereeHungUp(),
      thenEvents: [
        'TransfereeHungUp',
        { type: 'TransferFailed', status: 486, reason: 'Busy Here', transfereeGone: true },
        'CallEnded',
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['200', 'BYE']);
  });

  it('both gone: no NOTIFY, no BYE to the PBX', () => {
    const then = spec({
      given: history(...targetInvited(), transferorHungUp()),
      when: transfereeHungUp(),
      thenEvents: [
        'TransfereeHungUp',
        'TimerCanceled',
        { type: 'TransferFailed', transferorGone: true, transfereeGone: true },
        'CallEnded',
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['200', 'CANCEL']);
  });
});
