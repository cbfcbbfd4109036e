import { describe, expect, it } from 'vitest';
import {
  CHILD,
  ROOT,
  referred,
  TRANSFER,
  TRANSFER_2,
  targetInvited,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { given, history, spec } from '../../test/helpers/sessionSpec.ts';

describe('transfer: the implicit subscription (NOTIFY answers)', () => {
  it('a 481 to a NOTIFY ends the subscription, not the transfer', () => {
    const then = spec({
      given: history(...targetInvited()),
      when: transferResponse('NotifyAnswered', { status: 481, reason: 'Call/Transaction Does Not Exist' }),
      thenEvents: ['NotifyAnswered'],
      thenCommands: [],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'inviting' } },
    });
    expect(then.transfer().context.subscribed).toBe(false);
  });

  it('after a 481 no NOTIFY is sent, and the transfer completes', () => {
    const stopped = history(
      ...targetInvited(),
      transferResponse('NotifyAnswered', { status: 481, reason: 'Call/Transaction Does Not Exist' }),
    );
    expect(given(stopped).when(transferResponse('TargetRinging')).commands).toEqual([]);
    const answered = given(stopped).when(transferResponse('TargetAnswered'));
    expect(answered.wire).toEqual(['ACK', 'INVITE']);
    const done = given([...stopped, ...answered.events]).when(transferResponse('TransfereeReconnected'));
    expect(done.eventTypes).toEqual([
      'TransfereeReconnected',
      'TransferCompleted',
      'TimerScheduled',
      'ChildCallStarted',
    ]);
    expect(done.callState()).toBe('handedOff');
    expect(done.callState(CHILD)).toBe('inProgress');
  });

  it('a 481 in holding stops the NOTIFYs of a later failure too', () => {
    const stopped = history(
      ...referred(),
      transferResponse('NotifyAnswered', { status: 481, reason: 'Call/Transaction Does Not Exist' }),
      transferResponse('TransfereeHeld'),
    );
    expect(given(stopped).when(transferResponse('TargetFailed')).wire).toEqual(['INVITE']);
  });

  it.each([200, 408, 500])('a %i to a NOTIFY is not accepted (nothing stored)', (status) => {
    spec({
      given: history(...targetInvited()),
      when: transferResponse('NotifyAnswered', { status, reason: 'x' }),
      thenAccepted: false,
    });
  });

  it('a NOTIFY answer for an unknown transfer is not accepted', () => {
    spec({
      given: history(...targetInvited()),
      when: transferResponse('NotifyAnswered', { transferSid: TRANSFER_2, status: 481 }),
      thenAccepted: false,
    });
  });
});
