import { describe, expect, it } from 'vitest';
import {
  at,
  CARRIER,
  CHILD,
  carrierLeg,
  hangup,
  PSTN_CALLEE,
  PUBLIC_HOST,
  ROOT,
  SDP,
  SIP_TARGET,
  TARGET,
  TRANSFER,
  TRUNK,
  timerFired,
} from '../../test/helpers/fixtures.ts';
import { given, spec } from '../../test/helpers/sessionSpec.ts';
import type { LegDialog } from '../dialog.ts';
import type { ChildCallStarted } from '../events.ts';

/** The far leg after hold and reconnect, and the target leg after its INVITE was answered. */
const farLeg: LegDialog = {
  ...carrierLeg('outbound'),
  remote: { uri: `sip:${PSTN_CALLEE}@carrier.example.net`, params: { tag: 'carrier-a9' } },
  remoteTarget: 'sip:gw@192.0.2.50:5090',
  localCseq: 3,
  remoteSdp: SDP.carrier,
  origin: { sessionId: '1002', version: 3, address: PUBLIC_HOST },
};
const targetLeg: LegDialog = {
  legId: '000000001234t',
  callId: `pv-${ROOT}-000000001234t@${PUBLIC_HOST}`,
  local: { uri: `sip:${PSTN_CALLEE}@${PUBLIC_HOST}`, params: { tag: 'pv000000001234t' } },
  remote: { uri: SIP_TARGET, params: { tag: 'alice-t3' } },
  localCseq: 1,
  remoteTarget: 'sip:alice@198.51.100.7:5060',
  routeSet: [],
  destination: TARGET,
  contact: `sip:pivot@${PUBLIC_HOST}:5060`,
  remoteSdp: SDP.target,
  origin: { sessionId: '4663', version: 1, address: PUBLIC_HOST },
};

const childCallStarted: ChildCallStarted = {
  type: 'ChildCallStarted',
  callSid: CHILD,
  at: at(41),
  parentCallSid: ROOT,
  transferSid: TRANSFER,
  trunkSid: TRUNK,
  trunkName: 'acme',
  direction: 'trunking-terminating',
  from: PSTN_CALLEE,
  to: 'alice',
  farLeg,
  targetLeg,
  targetKind: 'sip',
};

describe('child call', () => {
  it('starts in progress with the far and target legs and sends nothing', () => {
    const then = spec({
      given: [],
      when: childCallStarted,
      thenEvents: ['ChildCallStarted'],
      thenCommands: [],
      thenState: { calls: { [CHILD]: 'inProgress' } },
    });
    expect(then.call(CHILD).context).toMatchObject({
      callSid: CHILD,
      parentCallSid: ROOT,
      status: 'in-progress',
      from: PSTN_CALLEE,
      to: 'alice',
      inbound: 'far',
      outbound: 'target',
      legs: { far: farLeg, target: targetLeg },
    });
  });

  it('a BYE from the far party hangs up the target with its next CSeq', () => {
    const then = spec({
      given: [childCallStarted],
      when: hangup('far', { callSid: CHILD }),
      thenEvents: ['HangupReceived', { type: 'CallEnded', callSid: CHILD, status: 'completed' }],
      thenState: { calls: { [CHILD]: 'ended' } },
    });
    expect(then.wire).toEqual(['200', 'BYE']);
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-000000001234t-2-bye',
      uri: 'sip:alice@198.51.100.7:5060',
      destination: TARGET,
      callId: targetLeg.callId,
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 2, method: 'BYE' },
    });
  });

  it('a BYE from the target hangs up the far party with its next CSeq', () => {
    const then = spec({
      given: [childCallStarted],
      when: hangup('target', { callSid: CHILD }),
      thenEvents: ['HangupReceived', { type: 'CallEnded', callSid: CHILD }],
      thenState: { calls: { [CHILD]: 'ended' } },
    });
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-fa0000000002-4-bye',
      destination: CARRIER,
      callId: farLeg.callId,
      cseq: { seq: 4, method: 'BYE' },
    });
    expect(given([childCallStarted]).callState(CHILD)).toBe('inProgress');
  });
});

describe("child call: the trunk limit (maxCallSeconds from the child call's start)", () => {
  const limited: ChildCallStarted = { ...childCallStarted, maxCallSeconds: 60 };
  const limitTimer = `${CHILD}:max-call`;

  it('a child call started with a limit schedules it from its start', () => {
    spec({
      given: [],
      when: limited,
      thenEvents: [
        'ChildCallStarted',
        {
          type: 'TimerScheduled',
          callSid: CHILD,
          name: 'max-call',
          timerId: limitTimer,
          dueAt: new Date(Date.parse(at(41)) + 60_000).toISOString(),
        },
      ],
      thenCommands: [],
    });
  });

  it('when the limit is reached both legs are BYEd and the child call ends saying why', () => {
    const then = spec({
      given: [limited],
      when: timerFired('max-call', limitTimer, { callSid: CHILD }),
      thenEvents: ['TimerFired', { type: 'CallEnded', callSid: CHILD, status: 'completed' }],
      thenState: { calls: { [CHILD]: 'ended' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(then.commands.map((c) => (c as { callId?: string }).callId)).toEqual([
      farLeg.callId,
      targetLeg.callId,
    ]);
    expect(then.event('CallEnded').why).toBe("the call reached its trunk's limit of 60 s (maxCallSeconds)");
  });

  it('a hang-up cancels the limit', () => {
    const then = spec({ given: [limited], when: hangup('far', { callSid: CHILD }) });
    expect(then.events.filter((e) => e.type === 'TimerCanceled')).toMatchObject([{ timerId: limitTimer }]);
  });

  it('a child call stored without a limit schedules nothing and ignores a stray limit timer', () => {
    const then = spec({ given: [], when: childCallStarted, thenEvents: ['ChildCallStarted'] });
    expect(then.events.filter((e) => e.type === 'TimerScheduled')).toEqual([]);
    spec({
      given: [childCallStarted],
      when: timerFired('max-call', limitTimer, { callSid: CHILD }),
      thenAccepted: false,
    });
    expect(given([childCallStarted]).callState(CHILD)).toBe('inProgress');
  });
});
