/**
 * Given/when/then specifications for the session decider (in the spirit of Emmett's
 * `deciderSpecification`): the given events are folded with `evolve` from `emptySession(rootSid)`, the
 * input goes through `decide` once, and the outcome exposes what a spec asserts on: the events that
 * would be stored, the SIP commands that would go on the wire and the machines' resulting states.
 *
 *   const then = given(history(callReceived(), callAnswered())).when(hangup('customer'));
 *   expect(then.eventTypes).toEqual(['HangupReceived', 'CallEnded']);
 *   expect(then.request('BYE').cseq).toEqual({ seq: 2, method: 'BYE' });
 *   expect(then.callState()).toBe('ended');
 *
 * or, declaratively: `spec({ given, when, thenEvents, thenCommands, thenState })`.
 */
import { expect } from 'vitest';
import type { SessionEvent, SessionEventType } from '../../machines/events.ts';
import {
  type CallSnapshot,
  type Decision,
  decide,
  emptySession,
  evolve,
  type SessionState,
  type TransferSnapshot,
} from '../../machines/session.ts';
import type { SendRequestCommand, SendResponseCommand, SipCommand } from '../../src/shared/messages.ts';
import { ROOT, TRANSFER } from './fixtures.ts';

export type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;

export interface Outcome extends Decision {
  /** The session the input was decided against (the given events folded). */
  before: SessionState;
  eventTypes: SessionEventType[];
  requests: SendRequestCommand[];
  responses: SendResponseCommand[];
  /** `METHOD` of requests and `status` of responses, in wire order: a readable summary of the commands. */
  wire: string[];
  /** The only request with this method (fails the spec when there are none or several). */
  request(method: string): SendRequestCommand;
  /** The only response with this status. */
  response(status: number): SendResponseCommand;
  /** The only stored event of this type. */
  event<T extends SessionEventType>(type: T): EventOf<T>;
  call(callSid?: string): CallSnapshot;
  callState(callSid?: string): string;
  transfer(transferSid?: string): TransferSnapshot;
  transferState(transferSid?: string): string;
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) {
    throw new Error(`expected exactly one ${what}, got ${items.length}`);
  }
  return items[0]!;
}

function isRequest(command: SipCommand): command is SendRequestCommand {
  return command.kind === 'request';
}

function isResponse(command: SipCommand): command is SendResponseCommand {
  return command.kind === 'response';
}

/** Accessors over a session: the snapshot of a call or transfer, failing loudly when absent. */
export function inspect(session: SessionState) {
  const call = (callSid = session.rootCallSid): CallSnapshot => {
    const snapshot = session.calls[callSid];
    if (!snapshot) throw new Error(`no call ${callSid} in the session`);
    return snapshot;
  };
  const transfer = (transferSid = TRANSFER): TransferSnapshot => {
    const snapshot = session.transfers[transferSid];
    if (!snapshot) throw new Error(`no transfer ${transferSid} in the session`);
    return snapshot;
  };
  return {
    call,
    callState: (callSid?: string) => String(call(callSid).value),
    transfer,
    transferState: (transferSid?: string) => String(transfer(transferSid).value),
  };
}

function outcome(before: SessionState, decision: Decision): Outcome {
  const requests = decision.commands.filter(isRequest);
  const responses = decision.commands.filter(isResponse);
  return {
    ...decision,
    ...inspect(decision.session),
    before,
    eventTypes: decision.events.map((e) => e.type),
    requests,
    responses,
    wire: decision.commands.map((c) => (isRequest(c) ? c.method : String(c.status))),
    request: (method) =>
      only(
        requests.filter((r) => r.method === method),
        `${method} request`,
      ),
    response: (status) =>
      only(
        responses.filter((r) => r.status === status),
        `${status} response`,
      ),
    event: <T extends SessionEventType>(type: T) =>
      only(
        decision.events.filter((e): e is EventOf<T> => e.type === type),
        `${type} event`,
      ),
  };
}

/** Folds stored events into a session, as the engine does when it loads a stream. */
export function fold(events: SessionEvent[], rootSid = ROOT): SessionState {
  return events.reduce(evolve, emptySession(rootSid));
}

export function given(events: SessionEvent[], rootSid = ROOT) {
  const session = fold(events, rootSid);
  return {
    session,
    ...inspect(session),
    when: (input: SessionEvent): Outcome => outcome(session, decide(session, input)),
  };
}

/**
 * Decides `inputs` one after the other from an empty session and returns every event that would have
 * been stored: realistic `given` histories without writing the facts by hand. Throws on an input that
 * is not accepted, so a broken history fails where it breaks.
 */
export function history(...inputs: SessionEvent[]): SessionEvent[] {
  return live(inputs).flatMap((d) => d.events);
}

/** The live decisions for `inputs`, in order, starting from `start` (an empty root session by default). */
export function live(inputs: SessionEvent[], start: SessionState = emptySession(ROOT)): Decision[] {
  const decisions: Decision[] = [];
  let session = start;
  for (const input of inputs) {
    const decision = decide(session, input);
    if (!decision.accepted) {
      const states = Object.entries(session.calls).map(([sid, s]) => `${sid}=${String(s.value)}`);
      throw new Error(`history: ${input.type} was not accepted (calls: ${states.join(', ')})`);
    }
    decisions.push(decision);
    session = decision.session;
  }
  return decisions;
}

export interface Specification {
  given: SessionEvent[];
  when: SessionEvent;
  /** The stored events' types in order, or partial events matched in order. */
  thenEvents?: Array<SessionEventType | Record<string, unknown>>;
  /** Partial commands matched in order (every command must be listed). */
  thenCommands?: Array<Record<string, unknown>>;
  /** State values of the calls and transfers named. */
  thenState?: { calls?: Record<string, string>; transfers?: Record<string, string> };
  /** False for an input the session must refuse (nothing stored, nothing sent). */
  thenAccepted?: boolean;
}

/** The declarative form: asserts what the specification lists and returns the outcome for the rest. */
export function spec(s: Specification): Outcome {
  const then = given(s.given).when(s.when);
  expect(then.accepted).toBe(s.thenAccepted ?? true);
  if (s.thenAccepted === false) {
    expect(then.events).toEqual([]);
    expect(then.commands).toEqual([]);
  }
  if (s.thenEvents) {
    expect(then.events).toHaveLength(s.thenEvents.length);
    s.thenEvents.forEach((expected, i) => {
      if (typeof expected === 'string') expect(then.events[i]?.type).toBe(expected);
      else expect(then.events[i]).toMatchObject(expected);
    });
  }
  if (s.thenCommands) {
    expect(then.commands).toHaveLength(s.thenCommands.length);
    s.thenCommands.forEach((expected, i) => {
      expect(then.commands[i]).toMatchObject(expected);
    });
  }
  for (const [sid, value] of Object.entries(s.thenState?.calls ?? {})) {
    expect(then.callState(sid)).toBe(value);
  }
  for (const [sid, value] of Object.entries(s.thenState?.transfers ?? {})) {
    expect(then.transferState(sid)).toBe(value);
  }
  return then;
}

// ---- wire helpers -----------------------------------------------------------------------------------

/** The lines of an SDP body (CRLF split, empty lines dropped). */
export function sdpLines(sdp: string | undefined): string[] {
  if (sdp === undefined) throw new Error('no SDP body');
  return sdp.split('\r\n').filter((l) => l !== '');
}

/** The `o=` line of an SDP body. */
export function originLine(sdp: string | undefined): string {
  return only(
    sdpLines(sdp).filter((l) => l.startsWith('o=')),
    'o= line',
  );
}

/** The direction attributes of an SDP body. */
export function directions(sdp: string | undefined): string[] {
  return sdpLines(sdp).filter((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l));
}

/** The sipfrag status line a NOTIFY carries. */
export function sipfrag(notify: SendRequestCommand): string {
  return (notify.body ?? '').replace(/\r\n$/, '');
}
