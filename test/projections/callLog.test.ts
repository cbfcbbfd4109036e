import { afterEach, describe, expect, it } from 'vitest';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { CALLER, TRUNK_NUMBER, UK_NUMBER, US_NUMBER } from './drive.ts';
import { row, rows, type World, world } from './support.ts';

const TRUNK = trunkSidOf('acme');
const T0 = '2025-03-14T09:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

let w: World;
afterEach(async () => {
  await w?.close();
});

async function callRow(sid: string) {
  const { db } = await w.project();
  return row(db, 'calls', 'sid = ?', sid);
}

describe('call log: one row per call, every status', () => {
  it('ringing: received, 180 relayed, nothing else', async () => {
    w = await world();
    const call = await w.driver.terminating({ to: UK_NUMBER });
    w.driver.advance(1);
    await call.progress(180);
    expect(await callRow(call.sid)).toEqual({
      sid: call.sid,
      session_sid: call.sid,
      parent_call_sid: null,
      transfer_sid: null,
      joined_call_sid: null,
      trunk_sid: TRUNK,
      trunk_name: 'acme',
      direction: 'trunking-terminating',
      from_number: TRUNK_NUMBER,
      to_number: UK_NUMBER,
      caller_id: TRUNK_NUMBER,
      target_kind: null,
      status: 'ringing',
      sip_status: null,
      start_time: T0,
      answer_time: null,
      end_time: null,
      duration: null,
      transfers: 0,
      position: expect.any(Number),
    });
  });

  it('in-progress: answered, not ended', async () => {
    w = await world();
    const call = await w.driver.terminating();
    w.driver.advance(4);
    await call.answer();
    expect(await callRow(call.sid)).toMatchObject({
      status: 'in-progress',
      answer_time: at(4),
      end_time: null,
    });
  });

  it('completed: duration runs from answer to end, a started second counting', async () => {
    w = await world();
    const call = await w.driver.terminating();
    w.driver.advance(5);
    await call.answer();
    w.driver.advance(61.2);
    await call.hangup('customer');
    expect(await callRow(call.sid)).toMatchObject({
      status: 'completed',
      start_time: T0,
      answer_time: at(5),
      end_time: at(66.2),
      duration: 62,
      sip_status: null,
    });
  });

  it('completed when the far party hangs up, on an originating call', async () => {
    w = await world();
    const call = await w.driver.originating();
    w.driver.advance(3);
    await call.answer();
    w.driver.advance(30);
    await call.hangup('far');
    expect(await callRow(call.sid)).toMatchObject({
      direction: 'trunking-originating',
      from_number: CALLER,
      to_number: TRUNK_NUMBER,
      status: 'completed',
      duration: 30,
    });
  });

  it.each([
    [486, 'Busy Here', 'busy'],
    [600, 'Busy Everywhere', 'busy'],
    [503, 'Service Unavailable', 'failed'],
    [404, 'Not Found', 'failed'],
    [480, 'Temporarily Unavailable', 'no-answer'],
    [408, 'Request Timeout', 'no-answer'],
  ])('%i %s from the callee: %s, never answered, duration 0', async (status, reason, expected) => {
    w = await world();
    const call = await w.driver.terminating();
    w.driver.advance(7);
    await call.reject(status, reason);
    expect(await callRow(call.sid)).toMatchObject({
      status: expected,
      sip_status: status,
      answer_time: null,
      end_time: at(7),
      duration: 0,
    });
  });

  it('canceled: the caller gave up while it rang', async () => {
    w = await world();
    const call = await w.driver.terminating();
    await call.progress();
    w.driver.advance(9);
    await call.cancel();
    expect(await callRow(call.sid)).toMatchObject({
      status: 'canceled',
      sip_status: 487,
      end_time: at(9),
      duration: 0,
    });
  });
});

describe('call log: a transferred call has a child call from the transferee to the target', () => {
  it('terminating call to a SIP target: parent completed, child from the callee to the target', async () => {
    w = await world();
    const call = await w.driver.terminating({ to: US_NUMBER });
    w.driver.advance(5);
    await call.answer();
    w.driver.advance(20);
    const transfer = await call.refer('<sip:bob@127.0.0.1:5080>');
    await transfer.complete(6);
    w.driver.advance(1);
    await call.hangup('customer');
    const { db } = await w.project();
    const child = row(db, 'calls', 'parent_call_sid = ?', call.sid);
    expect(row(db, 'calls', 'sid = ?', call.sid)).toMatchObject({
      status: 'completed',
      transfers: 1,
      end_time: at(32),
      duration: 27,
    });
    expect(child).toMatchObject({
      session_sid: call.sid,
      transfer_sid: transfer.sid,
      joined_call_sid: null,
      trunk_sid: TRUNK,
      direction: 'trunking-terminating',
      from_number: US_NUMBER,
      to_number: 'bob',
      caller_id: US_NUMBER,
      target_kind: 'sip',
      status: 'in-progress',
      start_time: at(31),
      answer_time: at(31),
      end_time: null,
    });

    w.driver.advance(90);
    await transfer.child().hangup('target');
    const after = await w.project();
    expect(row(after.db, 'calls', 'sid = ?', child.sid)).toMatchObject({
      status: 'completed',
      end_time: at(122),
      duration: 91,
    });
    expect(rows(after.db, 'calls')).toHaveLength(2);
  });

  it('caller id follows the trunk: from-transferor shows the PBX number to the target', async () => {
    w = await world();
    await w.trunks.update(TRUNK, { transferCallerId: 'from-transferor' });
    const call = await w.driver.originating({ from: CALLER });
    await call.answer();
    const transfer = await call.refer(`<tel:${UK_NUMBER}>`);
    await transfer.complete();
    const { db } = await w.project();
    expect(row(db, 'calls', 'parent_call_sid = ?', call.sid)).toMatchObject({
      direction: 'trunking-originating',
      from_number: CALLER,
      to_number: UK_NUMBER,
      caller_id: TRUNK_NUMBER,
      target_kind: 'pstn',
    });
  });

  it('a failed transfer leaves no child call and the call goes on', async () => {
    w = await world();
    const call = await w.driver.terminating();
    await call.answer();
    const transfer = await call.refer('<sip:bob@127.0.0.1:5080>');
    await transfer.held();
    await transfer.targetFailed(486, 'Busy Here');
    const { db } = await w.project();
    expect(rows(db, 'calls')).toHaveLength(1);
    expect(row(db, 'calls', 'sid = ?', call.sid)).toMatchObject({ status: 'in-progress', transfers: 1 });
    expect(rows(db, 'call_log_caller_ids')).toEqual([]);
  });
});
