/**
 * The engine's part of an attended transfer between two sessions (src/engine/handOver.ts,
 * docs/decisions/0005-join-across-sessions.md): inputs delivered from one session to the other, messages
 * on the lent far leg forwarded, and a hand-over that a crash interrupted completed by the next engine.
 */
import { describe, expect, it } from 'vitest';
import { shortId } from '../../machines/ids.ts';
import { createEngine } from '../../src/engine/engine.ts';
import type { TimerHost } from '../../src/engine/timers.ts';
import type { SendRequestCommand, SipCommand, SipRequestInput } from '../../src/shared/messages.ts';
import { sessionOf } from '../../src/shared/sessionKeys.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import {
  answer,
  pbxInDialog,
  pbxInvite,
  peerInDialog,
  SDP_CARRIER,
  testConfig,
} from '../helpers/sipInputs.ts';

const heldTimers: TimerHost = { set: () => ({}), clear: () => {} };
const SDP_COLLEAGUE = SDP_CARRIER.replace('m=audio 20000', 'm=audio 40000');

const requests = (sent: SipCommand[], method: string) =>
  sent.filter((c): c is SendRequestCommand => c.kind === 'request' && c.method === method);

/** Waits until `test` holds: the hand-over runs on other sessions' mailboxes, after `handle` resolved. */
async function until<T>(test: () => T | undefined): Promise<T> {
  for (;;) {
    const found = test();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Two answered calls through the engine: A to the customer, B (the consultation) to the colleague. */
async function twoCalls(engine: ReturnType<typeof createEngine>, sent: SipCommand[]) {
  const a = pbxInvite();
  const b = { ...pbxInvite(), to: { uri: 'sip:+15550300000@acme.pstn.pivot.test', params: {} } };
  b.uri = 'sip:+15550300000@acme.pstn.pivot.test';
  for (const invite of [a, b]) {
    await engine.handle(invite);
    const out = requests(sent, 'INVITE').at(-1)!;
    await engine.handle(
      answer(out, 200, 'OK', invite === a ? SDP_CARRIER : SDP_COLLEAGUE, `gw-${invite.callId}`),
    );
  }
  const [aFar, bFar] = requests(sent, 'INVITE');
  return { a, b, aFar: aFar!, bFar: bFar! };
}

function referWithReplaces(a: SipRequestInput, b: SipRequestInput): SipRequestInput {
  const pivotTag = (invite: SipRequestInput) => `pv${shortId(sessionOf(invite))}c`;
  const replaces = encodeURIComponent(`${b.callId};to-tag=${pivotTag(b)};from-tag=pbxtag`);
  return pbxInDialog(a, pivotTag(a), 'REFER', 3, {
    'refer-to': [`<sip:+15550300000@acme.pstn.pivot.test?Replaces=${replaces}>`],
  });
}

describe('engine: attended transfer across two sessions', () => {
  it("delivers the hand-over both ways, forwards the lent leg's answer, and ends B for its PBX", async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const engine = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => sent.push(c),
    });
    const { a, b, aFar, bFar } = await twoCalls(engine, sent);

    const outcome = await engine.handle(referWithReplaces(a, b));
    expect(outcome.kind).toBe('stored');
    // B lends its far leg; A re-INVITEs it without SDP in B's far dialog.
    const reinvite = await until(() =>
      requests(sent, 'INVITE').find((r) => r.callId === bFar.callId && r.cseq.seq > 1),
    );
    expect(reinvite.body).toBeUndefined();

    // The colleague's 200 maps to session B by its Call-ID: B forwards it to A.
    const forwarded = await engine.handle(answer(reinvite, 200, 'OK', SDP_COLLEAGUE, `gw-${b.callId}`));
    expect(forwarded).toMatchObject({ kind: 'stored', sessionSid: sessionOf(a) });
    const reconnect = requests(sent, 'INVITE').find((r) => r.callId === aFar.callId && r.cseq.seq > 1)!;
    expect(reconnect.body).toMatch(/m=audio 40000 /);
    await engine.handle(answer(reconnect, 200, 'OK', SDP_CARRIER, `gw-${a.callId}`));

    const bye = await until(() => requests(sent, 'BYE').find((r) => r.callId === b.callId));
    expect(bye.to.params.tag).toBe('pbxtag');
    const streamB = (await store.readStream(`call-${sessionOf(b)}`)).map((e) => e.type);
    expect(streamB).toEqual(
      expect.arrayContaining(['HandOverRequested', 'FarLegHandedOver', 'ReplacedCallJoined', 'CallEnded']),
    );

    // After the join, the colleague's BYE (B's Call-ID) reaches the joined call in A's session.
    const colleagueBye = peerInDialog(
      { ...reinvite, to: { ...reinvite.to, params: { tag: `gw-${b.callId}` } } },
      'BYE',
      5,
    );
    const ended = await engine.handle(colleagueBye);
    expect(ended).toMatchObject({ kind: 'stored', sessionSid: sessionOf(a) });
    expect(requests(sent, 'BYE').some((r) => r.callId === aFar.callId)).toBe(true);
    await engine.stop();
  });

  it("a hand-over a crash interrupted (B's input never stored) is delivered by the next engine's recovery", async () => {
    const memory = createInMemoryEventStore();
    let crashed = false;
    let streamB = '';
    // The process dies as it would have written B's stream: that append never happens.
    const store: EventStore = {
      ...memory,
      appendToStream: (stream, events, options) => {
        if (stream === streamB && events[0]?.type === 'HandOverRequested' && !crashed) {
          crashed = true;
          return Promise.reject(new Error('process killed'));
        }
        return memory.appendToStream(stream, events, options);
      },
    };
    const sent: SipCommand[] = [];
    const first = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => sent.push(c),
    });
    const { a, b, bFar } = await twoCalls(first, sent);
    streamB = `call-${sessionOf(b)}`;
    await first.handle(referWithReplaces(a, b));
    await until(() => (crashed ? true : undefined));
    expect((await memory.readStream(streamB)).map((e) => e.type)).not.toContain('HandOverRequested');

    const after: SipCommand[] = [];
    const next = createEngine({
      store: memory,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => after.push(c),
    });
    await next.start();
    const reinvite = await until(() => requests(after, 'INVITE').find((r) => r.callId === bFar.callId));
    expect(reinvite.body).toBeUndefined();
    const lent = (await memory.readStream(streamB)).filter((e) => e.type === 'FarLegHandedOver');
    expect(lent).toHaveLength(1);
    await next.stop();
  });

  it("judges the REFER on B as B's mailbox leaves it: a BYE B is deciding is stored first, and seen", async () => {
    const memory = createInMemoryEventStore();
    let streamB = '';
    let releaseBye: () => void = () => {};
    const byeHeld = new Promise<void>((resolve) => {
      releaseBye = resolve;
    });
    let byeAppending = false;
    // B's PBX hangs up and B's mailbox is busy storing it when the REFER on A arrives.
    const store: EventStore = {
      ...memory,
      appendToStream: async (stream, events, options) => {
        if (stream === streamB && events[0]?.type === 'HangupReceived') {
          byeAppending = true;
          await byeHeld;
        }
        return memory.appendToStream(stream, events, options);
      },
    };
    const sent: SipCommand[] = [];
    const engine = createEngine({
      store,
      config: testConfig(),
      timers: heldTimers,
      send: (c) => sent.push(c),
    });
    const { a, b } = await twoCalls(engine, sent);
    streamB = `call-${sessionOf(b)}`;

    const hangup = engine.handle(pbxInDialog(b, `pv${shortId(sessionOf(b))}c`, 'BYE', 2));
    await until(() => (byeAppending ? true : undefined));
    const refer = referWithReplaces(a, b);
    const judged = engine.handle(refer);
    // Whatever the REFER's handling could do without B's mailbox, it has done by the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    releaseBye();
    await hangup;
    await judged;

    const answers = sent.filter((c) => c.kind === 'response' && c.transactionKey === refer.transactionKey);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ status: 403 });
    expect(JSON.stringify(answers[0])).toContain('the replaced call has ended');
    const streamA = (await memory.readStream(`call-${sessionOf(a)}`)).map((e) => e.type);
    expect(streamA).toContain('ReferRejected');
    expect(streamA).not.toContain('JoinRequested');
    expect((await memory.readStream(streamB)).map((e) => e.type)).not.toContain('HandOverRequested');
    await engine.stop();
  });

  it("B's call limit, due while its far leg is lent, waits; the join gives up on a far party that never answers; then the limit ends B", async () => {
    const store = createInMemoryEventStore();
    const sent: SipCommand[] = [];
    const engine = createEngine({
      store,
      config: testConfig({ maxCallSeconds: 60 }),
      timers: heldTimers,
      send: (c) => sent.push(c),
    });
    const { a, b, bFar } = await twoCalls(engine, sent);
    const [sessionA, sessionB] = [sessionOf(a), sessionOf(b)];
    await engine.handle(referWithReplaces(a, b));
    // The colleague never answers the join's re-INVITE.
    await until(() => requests(sent, 'INVITE').find((r) => r.callId === bFar.callId && r.cseq.seq > 1));
    const pending = (session: string, name: string, not?: string) =>
      engine
        .pendingTimers()
        .find((t) => t.sessionSid === session && t.timer.name === name && t.timer.timerId !== not)?.timer;
    const fire = (session: string, timer: NonNullable<ReturnType<typeof pending>>) =>
      engine.fireTimer(session, {
        type: 'TimerFired',
        callSid: timer.callSid,
        at: timer.dueAt,
        timerId: timer.timerId,
        name: timer.name,
        ...(timer.transferSid ? { transferSid: timer.transferSid } : {}),
      });

    const limit = pending(sessionB, 'max-call')!;
    expect(await fire(sessionB, limit)).toMatchObject({ kind: 'stored' });
    expect(requests(sent, 'BYE')).toEqual([]);
    const again = pending(sessionB, 'max-call', limit.timerId)!;
    expect(Date.parse(again.dueAt) - Date.parse(limit.dueAt)).toBe(30_000);

    await fire(sessionA, pending(sessionA, 'no-answer')!);
    expect(requests(sent, 'CANCEL').map((r) => r.callId)).toEqual([bFar.callId]);
    expect(requests(sent, 'NOTIFY').at(-1)?.body).toBe('SIP/2.0 408 Request Timeout\r\n');
    // The leg goes back to B through B's mailbox.
    const streamB = () => store.readStream(`call-${sessionB}`);
    while (!(await streamB()).some((e) => e.type === 'FarLegReturned')) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    await fire(sessionB, again);
    const byes = requests(sent, 'BYE').map((r) => r.callId);
    expect(byes.sort()).toEqual([b.callId, bFar.callId].sort());
    const ended = (await streamB()).filter((e) => e.type === 'CallEnded');
    expect(ended.map((e) => (e.data as { why?: string }).why)).toEqual([
      expect.stringContaining('maxCallSeconds'),
    ]);
    await engine.stop();
  });
});
