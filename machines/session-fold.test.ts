import { describe, expect, it } from 'vitest';
import {
  at,
  CHILD_2,
  hangup,
  noAnswerFired,
  ROOT,
  referReceived,
  TRANSFER,
  TRANSFER_2,
  targetInvited,
  transferResponse,
  tx,
} from '../test/helpers/fixtures.ts';
import { live } from '../test/helpers/sessionSpec.ts';
import type { SessionEvent } from './events.ts';
import {
  decide,
  emptySession,
  evolve,
  evolveAll,
  foldFrom,
  machineOf,
  type SessionState,
} from './session.ts';

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

/** A session with two transfers and a child call: every record of the session changes along the way. */
const inputs: SessionEvent[] = [
  ...targetInvited(),
  noAnswerFired(),
  transferResponse('TransfereeResumed', { at: at(52) }),
  SECOND_REFER,
  second(transferResponse('TransfereeHeld')),
  second(transferResponse('TargetAnswered')),
  second(transferResponse('TransfereeReconnected')),
  hangup('target', { callSid: CHILD_2 }),
];
const stored = live(inputs).flatMap((decision) => decision.events);

/** The session's machines as state values, to compare sessions without their identity. */
function values(session: SessionState) {
  const of = (record: Record<string, { value: unknown }>) =>
    Object.fromEntries(Object.entries(record).map(([sid, s]) => [sid, s.value]));
  return { calls: of(session.calls), transfers: of(session.transfers) };
}

const oneByOne = (events: SessionEvent[]) => events.reduce(evolve, emptySession(ROOT));

describe('session fold without a copy per event', () => {
  it('folding all events at once reaches the session folded event by event', () => {
    const folded = evolveAll(emptySession(ROOT), stored);
    expect(values(folded)).toEqual(values(oneByOne(stored)));
    expect(values(folded)).toEqual({
      calls: { [ROOT]: 'handedOff', [CHILD_2]: 'ended' },
      transfers: { [TRANSFER]: 'failed', [TRANSFER_2]: 'completed' },
    });
  });

  it('a state handed out during a fold never changes afterwards', () => {
    const fold = foldFrom(emptySession(ROOT));
    const handedOut: Array<{ state: SessionState; expected: ReturnType<typeof values> }> = [];
    stored.forEach((event, index) => {
      fold.add(event);
      const state = fold.state;
      handedOut.push({ state, expected: values(oneByOne(stored.slice(0, index + 1))) });
    });
    for (const { state, expected } of handedOut) expect(values(state)).toEqual(expected);
  });

  it('the session folding starts from is left as it was', () => {
    const half = Math.floor(stored.length / 2);
    const start = oneByOne(stored.slice(0, half));
    const before = values(start);
    evolveAll(start, stored.slice(half));
    expect(values(start)).toEqual(before);
  });

  it('a decision leaves its session alone and gives each event the snapshot its machine reached', () => {
    let session = emptySession(ROOT);
    for (const input of inputs) {
      const before = values(session);
      const decision = decide(session, input);
      expect(values(session)).toEqual(before);
      let replayed = session;
      decision.events.forEach((event, index) => {
        replayed = evolve(replayed, event);
        const owner = machineOf(event);
        const expected = owner
          ? (owner.kind === 'call' ? replayed.calls : replayed.transfers)[owner.sid]?.value
          : undefined;
        expect(decision.snapshots[index]?.value).toEqual(expected);
      });
      session = decision.session;
    }
    expect(values(session)).toEqual(values(oneByOne(stored)));
  });
});
