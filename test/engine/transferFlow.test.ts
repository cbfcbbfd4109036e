import { describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import type { SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { lastRequest as lastSent } from '../helpers/engineHarness.ts';
import {
  answer,
  pbxInDialog,
  pbxInvite,
  SDP_CARRIER,
  SDP_TARGET,
  testConfig,
  withoutReaperTimers,
} from '../helpers/sipInputs.ts';

function harness(
  store: EventStore = createInMemoryEventStore(),
  config = testConfig({ maxCallSeconds: false }),
) {
  const sent: SipCommand[] = [];
  const engine = createEngine({ store, config, send: (command) => sent.push(command) });
  const lastRequest = (method: string) => lastSent(sent, method);
  return { store, engine, sent, lastRequest };
}

/** Drives a termination call to answered; returns the PBX INVITE and the pivot's tag toward the PBX. */
async function answeredCall(engine: Engine, h: ReturnType<typeof harness>) {
  const invite = pbxInvite();
  await engine.handle(invite);
  const farInvite = h.lastRequest('INVITE');
  await engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
  const ok = h.sent.find((c) => c.kind === 'response' && c.status === 200);
  if (ok?.kind !== 'response' || !ok.toTag) throw new Error('no 200 to the PBX');
  await engine.handle(pbxInDialog(invite, ok.toTag, 'ACK', invite.cseq.seq));
  return { invite, pivotTag: ok.toTag, farInvite };
}

describe('engine: blind transfer from REFER to child call', () => {
  it('stores every input and fact, and the original call ends with a child call in progress', async () => {
    const h = harness();
    const { invite, pivotTag, farInvite } = await answeredCall(h.engine, h);
    expect(farInvite.uri).toBe('sip:+15550200000@127.0.0.2');

    await h.engine.handle(
      pbxInDialog(invite, pivotTag, 'REFER', 2, {
        'refer-to': ['<sip:bob@127.0.0.1:5080>'],
        'referred-by': ['<sip:+15550100000@127.0.0.1>'],
      }),
    );
    const accepted = h.sent.find((c) => c.kind === 'response' && c.status === 202);
    expect(accepted).toBeDefined();
    const notify = h.lastRequest('NOTIFY');
    expect(notify.body).toBe('SIP/2.0 100 Trying\r\n');
    expect(notify.headers?.Event).toBe('refer');
    const hold = h.lastRequest('INVITE');
    expect(hold.callId).toBe(farInvite.callId);
    expect(hold.body).toContain('a=sendonly');

    await h.engine.handle(answer(hold, 200, 'OK', SDP_CARRIER, 'gw'));
    const targetInvite = h.lastRequest('INVITE');
    expect(targetInvite.uri).toBe('sip:bob@127.0.0.1:5080');
    expect(targetInvite.destination).toEqual({ transport: 'udp', host: '127.0.0.1', port: 5080 });
    expect(targetInvite.headers?.['Referred-By']).toBe('<sip:+15550100000@127.0.0.1>');
    expect(targetInvite.from.uri).toBe('sip:+15550200000@127.0.0.1');
    expect(h.engine.pendingTimers().map((t) => t.timer.name)).toEqual(['no-answer']);

    await h.engine.handle(answer(targetInvite, 180, 'Ringing', '', 'bob'));
    expect(h.lastRequest('NOTIFY').body).toBe('SIP/2.0 180 Ringing\r\n');
    await h.engine.handle(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob'));
    const final = h.lastRequest('NOTIFY');
    expect(final.body).toBe('SIP/2.0 200 OK\r\n');
    expect(final.headers?.['Subscription-State']).toBe('terminated;reason=noresource');
    const reconnect = h.lastRequest('INVITE');
    expect(reconnect.callId).toBe(farInvite.callId);
    expect(reconnect.body).toContain('m=audio 30000');

    await h.engine.handle(answer(reconnect, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(h.engine.pendingTimers().map((t) => t.timer.name)).toEqual(['bye-fallback']);
    const outcome = await h.engine.handle(pbxInDialog(invite, pivotTag, 'BYE', 3));
    expect(outcome.kind).toBe('stored');
    expect(h.engine.pendingTimers()).toEqual([]);

    const all = await h.store.readAll();
    // Timer C of the call's INVITE, scheduled and canceled by the answer, is left out (reapers.test.ts).
    expect(withoutReaperTimers(all).map((e) => e.type)).toEqual([
      'CallReceived',
      'CallAnswered',
      'CallAcked',
      'ReferReceived',
      'ReferAccepted',
      'TransfereeHeld',
      'TargetInvited',
      'TimerScheduled',
      'TargetRinging',
      'TargetAnswered',
      'TimerCanceled',
      'TransfereeReconnected',
      'TransferCompleted',
      'TimerScheduled',
      'ChildCallStarted',
      'HangupReceived',
      'TimerCanceled',
      'CallEnded',
    ]);
    // One stream for the session, facts caused by their input, states recorded for replay checks.
    expect(new Set(all.map((e) => e.streamName)).size).toBe(1);
    const referAccepted = all.find((e) => e.type === 'ReferAccepted')!;
    expect(referAccepted.metadata.causationId).toBe(all.find((e) => e.type === 'ReferReceived')!.id);
    expect(all.find((e) => e.type === 'ChildCallStarted')!.metadata.stateAfter).toBe('inProgress');
  });

  it('a retransmitted REFER becomes one event and gets the same answers again', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h.engine, h);
    const refer = pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
    const first = await h.engine.handle(refer);
    const again = await h.engine.handle(refer);
    expect(again.kind).toBe('repeated');
    // Same 202, same NOTIFY and hold re-INVITE (same branches and CSeqs): retransmissions to the peers.
    expect(first.kind === 'stored' && again.kind === 'repeated' && again.commands).toEqual(
      first.kind === 'stored' && first.commands,
    );
    const refers = (await h.store.readAll()).filter((e) => e.type === 'ReferReceived');
    expect(refers).toHaveLength(1);
  });

  it('a repeated 200 from the carrier is stored once and ACKed again', async () => {
    const h = harness();
    const invite = pbxInvite();
    await h.engine.handle(invite);
    const ok = answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw');
    await h.engine.handle(ok);
    const again = await h.engine.handle(ok);
    expect(
      again.kind === 'repeated' && again.commands.map((c) => (c.kind === 'request' ? c.method : c.status)),
    ).toEqual(['ACK', 200]);
    expect((await h.store.readAll()).filter((e) => e.type === 'CallAnswered')).toHaveLength(1);
  });

  it('a BYE for an unknown dialog gets 481 and stores nothing', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h.engine, h);

    const stray = { ...pbxInDialog(invite, pivotTag, 'BYE', 9), callId: 'unknown@x' };
    const before = await h.store.headPosition();
    const outcome = await h.engine.handle(stray);
    expect(outcome.kind).toBe('replied');
    expect(h.sent.at(-1)).toMatchObject({ kind: 'response', status: 481 });
    expect(await h.store.headPosition()).toBe(before);
  });

  it('refuses a REFER on a trunk with transfers disabled, recording why', async () => {
    const h = harness(createInMemoryEventStore(), testConfig({ transferMode: 'disable-all' }));
    const { invite, pivotTag } = await answeredCall(h.engine, h);
    await h.engine.handle(
      pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] }),
    );
    expect(h.sent.at(-1)).toMatchObject({ kind: 'response', status: 403 });
    const rejected = (await h.store.readAll()).find((e) => e.type === 'ReferRejected');
    expect(rejected?.data).toMatchObject({ status: 403, reason: 'transfers are disabled on trunk acme' });
  });
});
