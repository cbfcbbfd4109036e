/**
 * Streams stored before delayed offers, offer-less re-INVITEs, the RFC 3725 reconnect and the retried
 * hold 491 fold to the states they recorded (`pivot replay --check`): their events lack the new optional
 * fields (`delayedOffer`, `offerless`, `policy.reconnect`, `policy.holdGlare`), so the machines take the
 * paths those events took then. The recorded states are written out here as the machines of that time stored them.
 */
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../machines/events.ts';
import { toEventData } from '../../src/engine/codec.ts';
import { checkAll } from '../../src/engine/replay.ts';
import { streamOf } from '../../src/shared/sids.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import {
  at,
  callAnswered,
  callProgress,
  callReceived,
  hangup,
  policy,
  ROOT,
  referReceived,
  SDP,
  transferResponse,
  tx,
} from '../helpers/fixtures.ts';
import { history, live } from '../helpers/sessionSpec.ts';

/** Stores `events` with the state each input recorded (`recorded[i]`, undefined for a fact). */
async function stored(events: SessionEvent[], recorded: Record<string, string>) {
  const store = createInMemoryEventStore();
  const data = events.map((event) => {
    const stateAfter = recorded[event.type];
    return toEventData(event, stateAfter === undefined ? {} : { stateAfter });
  });
  await store.appendToStream(streamOf(ROOT), data, { expectedRevision: 'no-stream' });
  return store;
}

describe('streams stored before the new fields fold as they did', () => {
  it('a call whose INVITE and re-INVITE had no SDP, from before delayed offers were relayed as such', async () => {
    const events = history(
      callReceived({ sdp: '' }),
      callAnswered(),
      {
        type: 'ReInviteReceived',
        callSid: ROOT,
        at: at(10),
        leg: 'customer',
        reinvite: tx('z9hG4bK-reinv|INVITE'),
        sdp: '',
        cseq: 2,
      },
      { type: 'ReInviteAnswered', callSid: ROOT, at: at(11), status: 200, reason: 'OK', sdp: SDP.carrier },
      hangup('far'),
    );
    expect(events.map((e) => e.type)).not.toContain('CallAcked');
    const store = await stored(events, {
      CallReceived: 'ringing',
      CallAnswered: 'inProgress',
      ReInviteReceived: 'relaying',
      ReInviteAnswered: 'inProgress',
      HangupReceived: 'ended',
    });
    const result = await checkAll(store);
    expect(result.events).toBe(events.length);
    expect(result.mismatches).toEqual([]);
  });

  it('a transfer whose REFER policy has no reconnect field: the target was offered SDP and ACKed at once', async () => {
    const events = history(
      callReceived(),
      callAnswered(),
      referReceived(),
      transferResponse('TransfereeHeld'),
      transferResponse('TargetAnswered', { at: at(30) }),
      transferResponse('TransfereeReconnected', { at: at(31) }),
    );
    const store = await stored(events, {
      CallReceived: 'ringing',
      CallAnswered: 'inProgress',
      ReferReceived: 'holding',
      ReferAccepted: 'transferring',
      TransfereeHeld: 'inviting',
      TargetAnswered: 'reconnecting',
      TransfereeReconnected: 'completed',
      TransferCompleted: 'handedOff',
      ChildCallStarted: 'inProgress',
    });
    expect((await checkAll(store)).mismatches).toEqual([]);
    // Decided again (a repeated input), they send what they sent then: an offer to the target, and its
    // 200 ACKed at once.
    const [, , , held, answered] = live([
      callReceived(),
      callAnswered(),
      referReceived(),
      transferResponse('TransfereeHeld'),
      transferResponse('TargetAnswered', { at: at(30) }),
    ]);
    const invite = held?.commands.find((c) => c.kind === 'request' && c.method === 'INVITE');
    expect(invite?.kind === 'request' && invite.body).toMatch(/^m=audio 30000 /m);
    expect(answered?.commands.map((c) => (c.kind === 'request' ? c.method : c.status))).toEqual([
      'ACK',
      'INVITE',
      'NOTIFY',
    ]);
  });

  it('a call stored before 100rel and session timers: no PRACK, no timer, its ACK at the INVITE CSeq', async () => {
    // Its CallProgress has no rseq even where the callee's 183 required 100rel, and its CallReceived no
    // sessionExpires or requires100rel: it folds as then, and decided again it sends what it sent then.
    const inputs = [
      callReceived(),
      callProgress({ status: 183, reason: 'Session Progress', remoteTag: 'carrier-a9' }),
      callAnswered(),
    ];
    const store = await stored(history(...inputs), {
      CallReceived: 'ringing',
      CallProgress: 'ringing',
      CallAnswered: 'inProgress',
    });
    expect((await checkAll(store)).mismatches).toEqual([]);
    const [, progress, answered] = live(inputs);
    expect(progress?.commands.map((c) => (c.kind === 'request' ? c.method : c.status))).toEqual([183]);
    expect(answered?.events.map((e) => e.type)).toEqual(['CallAnswered']);
    const ack = answered?.commands.find((c) => c.kind === 'request' && c.method === 'ACK');
    expect(ack?.kind === 'request' && ack.cseq.seq).toBe(1);
  });

  it('a transfer whose hold got 491 before a hold was retried: the hold skipped, the target INVITEd at once', async () => {
    // Its REFER policy has no `holdGlare`: the 491 was taken as a refused hold, as any other status.
    const { holdGlare: _, ...before } = policy();
    const inputs = [
      callReceived(),
      callAnswered(),
      referReceived({ policy: before }),
      transferResponse('HoldRefused', { status: 491, reason: 'Request Pending', at: at(21) }),
      transferResponse('TargetAnswered', { at: at(30) }),
      transferResponse('TransfereeReconnected', { at: at(31) }),
    ];
    const events = history(...inputs);
    const store = await stored(events, {
      CallReceived: 'ringing',
      CallAnswered: 'inProgress',
      ReferReceived: 'holding',
      ReferAccepted: 'transferring',
      HoldRefused: 'inviting',
      TargetAnswered: 'reconnecting',
      TransfereeReconnected: 'completed',
      TransferCompleted: 'handedOff',
      ChildCallStarted: 'inProgress',
    });
    expect((await checkAll(store)).mismatches).toEqual([]);
    // Decided again, the 491 INVITEs the target, as it did then; no back-off timer.
    const refused = live(inputs)[3]!;
    expect(refused.events.map((e) => e.type)).toContain('TargetInvited');
    expect(refused.events.some((e) => e.type === 'TimerScheduled' && e.name === 'reinvite-retry')).toBe(
      false,
    );
    // Today's REFERs record the retry: the same 491 keeps the transfer holding for its back-off.
    const today = live([...inputs.slice(0, 2), referReceived(), inputs[3]!])[3]!;
    expect(today.events.map((e) => e.type)).toEqual(['HoldRefused', 'TimerScheduled']);
  });
});
