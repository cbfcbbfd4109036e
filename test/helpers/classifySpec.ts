/**
 * Given/when/then specifications for the classifier (src/engine/classify.ts), pure like the machines'
 * specs (sessionSpec.ts): the given SIP messages are classified and decided in turn from an empty
 * session, as the engine would, and the message under test is only classified. The outcome tells what
 * the engine would do with it: an input for a machine, a direct answer, or nothing.
 *
 *   const world = given(pbxInvite());
 *   world.and(answer(world.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
 *   const then = world.when(pbxInDialog(world.invite, world.pivotTag(), 'BYE', 2));
 *   expect(then.input('HangupReceived').leg).toBe('customer');
 */
import type { SessionEvent, SessionEventType } from '../../machines/events.ts';
import { decide, emptySession, type SessionState } from '../../machines/session.ts';
import type { PivotConfig } from '../../src/config/index.ts';
import { type Classification, classify } from '../../src/engine/classify.ts';
import { trunkDirectory } from '../../src/engine/trunks.ts';
import type {
  SendRequestCommand,
  SendResponseCommand,
  SipCommand,
  SipInput,
  SipRequestInput,
} from '../../src/shared/messages.ts';
import { sessionOf } from '../../src/shared/sessionKeys.ts';
import { testConfig } from './sipInputs.ts';

export const NOW = '2026-03-14T09:00:00.000Z';

/** The event of this type, also where one interface stands for several types (TargetRinging...). */
type EventOf<T extends SessionEventType> = SessionEvent extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? E & { type: T }
      : never
    : never
  : never;

export interface ClassifyThen {
  classification: Classification;
  /** The input a machine is handed; fails the spec unless the message became an input of this type. */
  input<T extends SessionEventType>(type: T): EventOf<T>;
  /** The direct answer; fails the spec unless the message was answered with this status. */
  reply(status: number): { command: SendResponseCommand; why: string };
  /** Why the message was dropped; fails the spec unless it was. */
  ignored(): string;
}

export interface ClassifyWorld {
  /** The first message (the INVITE that started the session). */
  invite: SipRequestInput;
  session(): SessionState;
  /** Every command decided so far, in order. */
  sent: SipCommand[];
  /** The last request of this method the pivot sent. */
  lastRequest(method: string): SendRequestCommand;
  /** The pivot's tag on the customer leg (from its answer to the INVITE). */
  pivotTag(): string;
  /** Classifies and decides one more message; fails unless a machine accepted it. */
  and(input: SipInput): ClassifyWorld;
  when(input: SipInput): ClassifyThen;
}

let sids = 0;

export function given(invite: SipRequestInput, config: PivotConfig = testConfig()): ClassifyWorld {
  const env = {
    config,
    trunks: trunkDirectory(config),
    now: NOW,
    newSid: (prefix: 'CA' | 'TR') => `${prefix}${(++sids).toString(16).padStart(32, '0')}`,
  };
  let session = emptySession(sessionOf(invite));
  const sent: SipCommand[] = [];
  const world: ClassifyWorld = {
    invite,
    session: () => session,
    sent,
    lastRequest(method) {
      const found = sent.filter((c): c is SendRequestCommand => c.kind === 'request' && c.method === method);
      if (found.length === 0) throw new Error(`no ${method} sent`);
      return found.at(-1)!;
    },
    pivotTag() {
      const ok = sent.find(
        (c): c is SendResponseCommand =>
          c.kind === 'response' && c.transactionKey === invite.transactionKey && c.toTag !== undefined,
      );
      if (!ok) throw new Error('the pivot has not answered the INVITE with a tag');
      return ok.toTag!;
    },
    and(input) {
      const classified = classify(session, input, env);
      if (classified.kind !== 'input') throw new Error(`given: ${JSON.stringify(classified)}`);
      const decision = decide(session, classified.event);
      if (!decision.accepted) throw new Error(`given: ${classified.event.type} was not accepted`);
      session = decision.session;
      sent.push(...decision.commands);
      return world;
    },
    when(input) {
      return outcome(classify(session, input, env));
    },
  };
  return world.and(invite);
}

function outcome(classification: Classification): ClassifyThen {
  const unexpected = (wanted: string) =>
    new Error(`expected ${wanted}, got ${JSON.stringify(classification)}`);
  return {
    classification,
    input(type) {
      if (classification.kind !== 'input' || classification.event.type !== type) throw unexpected(type);
      return classification.event as EventOf<typeof type>;
    },
    reply(status) {
      if (classification.kind !== 'reply' || classification.command.status !== status) {
        throw unexpected(`a ${status} answer`);
      }
      return { command: classification.command, why: classification.why };
    },
    ignored() {
      if (classification.kind !== 'ignore') throw unexpected('the message to be dropped');
      return classification.why;
    },
  };
}
