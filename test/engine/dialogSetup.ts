/**
 * A test engine over an in-memory store that records what it sends and logs, an answered termination
 * call to work on, and the check that a request was refused without a machine.
 */
import { expect } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import type { SipCommand, SipRequestInput } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { lastRequest as lastSent } from '../helpers/engineHarness.ts';
import {
  answer,
  pbxInDialog,
  pbxInvite,
  SDP_CARRIER,
  testConfig,
  withoutReaperTimers,
} from '../helpers/sipInputs.ts';

interface LogEntry {
  level: string;
  message: string;
  fields?: object;
}

export function harness(store: EventStore = createInMemoryEventStore(), config = testConfig()) {
  const sent: SipCommand[] = [];
  const logs: LogEntry[] = [];
  const engine = createEngine({
    store,
    config,
    send: (command) => sent.push(command),
    log: (level, message, fields) => logs.push({ level, message, ...(fields ? { fields } : {}) }),
  });
  const lastRequest = (method: string) => lastSent(sent, method);
  // Every call schedules and cancels reaper timers (Timer C, ACK timeout, call limit); they have their
  // own tests (reapers.test.ts), so the event lists here leave them out.
  const types = async () => withoutReaperTimers(await store.readAll()).map((e) => e.type);
  return { store, engine, sent, logs, lastRequest, types };
}

export type H = ReturnType<typeof harness>;

/** A termination call (PBX INVITE with CSeq 1) answered by the carrier (tag `gw`): the PBX INVITE, the pivot's tag, the far INVITE. */
export async function answeredCall(h: H) {
  const invite = pbxInvite();
  await h.engine.handle(invite);
  const farInvite = h.lastRequest('INVITE');
  await h.engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
  const ok = h.sent.find((c) => c.kind === 'response' && c.status === 200);
  if (ok?.kind !== 'response' || !ok.toTag) throw new Error('no 200 to the PBX');
  // The PBX confirms the call, as it must (RFC 3261 §13.2.2.4); without it the ACK timeout would run.
  await h.engine.handle(pbxInDialog(invite, ok.toTag, 'ACK', invite.cseq.seq));
  return { invite, pivotTag: ok.toTag, farInvite };
}

/** Handles a request that must be refused: the status sent, nothing stored, the refusal logged. */
export async function expectRefused(h: H, input: SipRequestInput, status: number, why: RegExp) {
  const before = await h.store.headPosition();
  const outcome = await h.engine.handle(input);
  expect(outcome).toMatchObject({ kind: 'replied', why: expect.stringMatching(why) });
  expect(h.sent.at(-1)).toMatchObject({
    kind: 'response',
    transactionKey: input.transactionKey,
    status,
  });
  expect(await h.store.headPosition()).toBe(before);
  expect(h.logs).toContainEqual(
    expect.objectContaining({
      message: 'answered without a machine',
      fields: expect.objectContaining({ status, why: expect.stringMatching(why) }),
    }),
  );
}

/** The CANCEL of an in-dialog re-INVITE: same dialog and branch, CSeq number of the re-INVITE, no body. */
export function cancelOf(reinvite: SipRequestInput): SipRequestInput {
  return {
    ...reinvite,
    transactionKey: `${reinvite.transactionKey}-c:CANCEL`,
    method: 'CANCEL',
    cseq: { seq: reinvite.cseq.seq, method: 'CANCEL' },
    body: '',
  };
}
