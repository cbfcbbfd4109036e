import { describe, expect, it } from 'vitest';
import {
  callAnswered,
  callCanceled,
  callProgress,
  callReceived,
  ROOT,
  SDP,
} from '../../test/helpers/fixtures.ts';
import { history, spec } from '../../test/helpers/sessionSpec.ts';

const reliable = (rseq: number, status = 180) =>
  callProgress({
    status,
    reason: status === 180 ? 'Ringing' : 'Session Progress',
    remoteTag: 'carrier-a9',
    remoteTarget: 'sip:gw@192.0.2.50:5090',
    routeSet: ['<sip:192.0.2.50:5090;lr>'],
    rseq,
  });

describe('reliable provisional responses from the callee (RFC 3262)', () => {
  it("the call's INVITE says it supports 100rel", () => {
    const then = spec({ given: [], when: callReceived() });
    expect(then.request('INVITE').headers?.Supported).toBe('norefersub, 100rel, replaces');
  });

  it('given a ringing call, when the callee sends a reliable 180, then it is PRACKed in its early dialog and relayed to the caller unreliably', () => {
    const then = spec({
      given: history(callReceived()),
      when: reliable(1),
      thenEvents: ['CallProgress'],
      thenState: { calls: { [ROOT]: 'ringing' } },
    });
    expect(then.wire).toEqual(['PRACK', '180']);
    const prack = then.request('PRACK');
    expect(prack.cseq).toEqual({ seq: 2, method: 'PRACK' });
    expect(prack.headers).toEqual({ RAck: '1 1 INVITE' });
    expect(prack.to.params.tag).toBe('carrier-a9');
    expect(prack.uri).toBe('sip:gw@192.0.2.50:5090');
    expect(prack.route).toEqual(['<sip:192.0.2.50:5090;lr>']);
    expect(then.response(180).headers).toBeUndefined();
  });

  it('a second reliable provisional is PRACKed at the next CSeq; the ACK and a CANCEL still carry the INVITE CSeq', () => {
    const given = history(callReceived(), reliable(1), reliable(2, 183));
    const second = spec({ given: history(callReceived(), reliable(1)), when: reliable(2, 183) });
    expect(second.request('PRACK')).toMatchObject({ cseq: { seq: 3 }, headers: { RAck: '2 1 INVITE' } });

    const answered = spec({ given, when: callAnswered(), thenState: { calls: { [ROOT]: 'inProgress' } } });
    expect(answered.request('ACK').cseq).toEqual({ seq: 1, method: 'ACK' });
    expect(answered.request('ACK').branch).toBe(
      `z9hG4bK-${answered.call().context.legs.far?.legId}-1-ack-ack`,
    );

    const canceled = spec({ given, when: callCanceled() });
    const cancel = canceled.request('CANCEL');
    expect(cancel.cseq).toEqual({ seq: 1, method: 'CANCEL' });
    // The CANCEL matches the INVITE: same To (no tag), same branch.
    expect(cancel.to.params.tag).toBeUndefined();
    expect(cancel.branch).toBe(`z9hG4bK-${canceled.call().context.legs.far?.legId}-1-invite`);
  });

  it('after the PRACKs, requests in the confirmed dialog go on from the PRACKed CSeq', () => {
    const then = spec({
      given: history(callReceived(), reliable(1), callAnswered()),
      when: {
        type: 'HangupReceived',
        callSid: ROOT,
        at: callAnswered().at,
        leg: 'customer',
        bye: { adapterId: 'a', transactionKey: 'b' },
      },
    });
    expect(then.request('BYE').cseq).toEqual({ seq: 3, method: 'BYE' });
  });

  it('a retransmitted reliable provisional (an RSeq already PRACKed) is not accepted', () => {
    const then = spec({
      given: history(callReceived(), reliable(1)),
      when: reliable(1),
      thenAccepted: false,
    });
    expect(then.events).toEqual([]);
  });

  it('an ordinary provisional is relayed without a PRACK', () => {
    const then = spec({ given: history(callReceived()), when: callProgress() });
    expect(then.wire).toEqual(['180']);
  });

  it('given a caller that requires 100rel, provisionals are not relayed to it (reliable ones still PRACKed), and its call is answered', () => {
    const given = history(callReceived({ requires100rel: true }));
    expect(spec({ given, when: callProgress() }).wire).toEqual([]);
    expect(spec({ given, when: reliable(1, 183) }).wire).toEqual(['PRACK']);
    const answered = spec({
      given: history(...given, reliable(1, 183)),
      when: callAnswered({ sdp: SDP.carrier }),
    });
    expect(answered.wire).toEqual(['ACK', '200']);
  });
});
