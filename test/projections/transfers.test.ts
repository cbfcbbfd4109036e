import { afterEach, describe, expect, it } from 'vitest';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { billingConfig, UK_NUMBER, US_NUMBER } from './drive.ts';
import { row, rows, type World, world } from './support.ts';

const TRUNK = trunkSidOf('acme');
const T0 = '2025-03-14T09:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

let w: World;
afterEach(async () => {
  await w?.close();
});

/** An answered terminating call with a REFER at 20 s. */
async function referred(referTo: string, referredBy?: string) {
  const call = await w.driver.terminating({ to: US_NUMBER });
  w.driver.advance(5);
  await call.answer();
  w.driver.advance(15);
  const transfer = await call.refer(referTo, referredBy);
  return { call, transfer };
}

/** A transfer to a SIP target left ringing 30 s, until its no-answer timer fires (at 50 s: the REFER came at 20 s). */
async function unansweredUntilTimeout() {
  const { transfer } = await referred('<sip:bob@127.0.0.1:5080>');
  await transfer.held();
  await transfer.ringing();
  w.driver.advance(30);
  await transfer.noAnswer();
  return transfer;
}

describe('transfers: one row per REFER', () => {
  it('completed to a SIP target: who, what, REFER->202 and REFER->answer', async () => {
    w = await world();
    const { call, transfer } = await referred('<sip:bob@127.0.0.1:5080>', '<sip:agent-204@127.0.0.1>');
    await transfer.held();
    await transfer.ringing();
    w.driver.advance(7.25);
    await transfer.answered();
    await transfer.reconnected();
    const { db } = await w.project();
    const child = row(db, 'calls', 'parent_call_sid = ?', call.sid).sid;
    expect(row(db, 'transfers', 'sid = ?', transfer.sid)).toEqual({
      sid: transfer.sid,
      call_sid: call.sid,
      session_sid: call.sid,
      trunk_sid: TRUNK,
      child_call_sid: child,
      kind: 'blind',
      replaced_call_sid: null,
      referred_by: '<sip:agent-204@127.0.0.1>',
      refer_to: 'sip:bob@127.0.0.1:5080',
      target_kind: 'sip',
      target_uri: 'sip:bob@127.0.0.1:5080',
      caller_id: US_NUMBER,
      transfer_mode: 'enable-all',
      transfer_caller_id: 'from-transferee',
      outcome: 'completed',
      refer_status: 202,
      target_status: 200,
      rejection_reason: null,
      failure_reason: null,
      refer_time: at(20),
      accept_time: at(20),
      answer_time: at(27.25),
      end_time: at(27.25),
      // The engine answers 202 in the same decision that stores the REFER.
      refer_to_202_ms: 0,
      refer_to_answer_ms: 7250,
      position: expect.any(Number),
    });
  });

  it('to a PSTN target: the carrier is invited with sip:+E164@<carrier host>', async () => {
    w = await world();
    const { transfer } = await referred(`<tel:${UK_NUMBER}>`);
    await transfer.complete();
    const { db } = await w.project();
    expect(row(db, 'transfers', 'sid = ?', transfer.sid)).toMatchObject({
      refer_to: `tel:${UK_NUMBER}`,
      target_kind: 'pstn',
      target_uri: `sip:${UK_NUMBER}@127.0.0.2`,
      outcome: 'completed',
    });
  });

  it('target busy: failed with the target status, the call goes on', async () => {
    w = await world();
    const { transfer } = await referred('<sip:bob@127.0.0.1:5080>');
    await transfer.held();
    w.driver.advance(3);
    await transfer.targetFailed(486, 'Busy Here');
    const { db } = await w.project();
    expect(row(db, 'transfers', 'sid = ?', transfer.sid)).toMatchObject({
      outcome: 'failed',
      refer_status: 202,
      target_status: 486,
      failure_reason: 'Busy Here',
      answer_time: null,
      refer_to_answer_ms: null,
      end_time: at(23),
      child_call_sid: null,
    });
  });

  it('no answer within noAnswerTimeoutSeconds: failed with 408', async () => {
    w = await world();
    const transfer = await unansweredUntilTimeout();
    const { db } = await w.project();
    expect(row(db, 'transfers', 'sid = ?', transfer.sid)).toMatchObject({
      outcome: 'failed',
      target_status: 408,
      failure_reason: 'Request Timeout',
      end_time: at(50),
    });
  });

  it('a late 200 from the target after the timeout leaves the failed row as it was', async () => {
    w = await world();
    const transfer = await unansweredUntilTimeout();
    w.driver.advance(1);
    // The CANCEL crossed the target's 200: the pivot ACKs and BYEs it; the transfer stays failed.
    await transfer.answered();
    const { db } = await w.project();
    expect(row(db, 'transfers', 'sid = ?', transfer.sid)).toMatchObject({
      outcome: 'failed',
      target_status: 408,
      answer_time: null,
      refer_to_answer_ms: null,
      end_time: at(50),
    });
  });

  it('refused by policy: rejected with the status and the reason', async () => {
    w = await world({ config: billingConfig({ transferMode: 'sip-only' }) });
    const { transfer } = await referred(`<tel:${UK_NUMBER}>`);
    const { db } = await w.project();
    expect(row(db, 'transfers', 'sid = ?', transfer.sid)).toMatchObject({
      outcome: 'rejected',
      refer_status: 403,
      refer_to: `<tel:${UK_NUMBER}>`,
      target_kind: null,
      transfer_mode: 'sip-only',
      rejection_reason: 'PSTN targets are not allowed on trunk acme (sip-only)',
      accept_time: null,
      end_time: at(20),
    });
  });

  it('a malformed REFER is recorded as rejected with 400', async () => {
    w = await world();
    const { transfer } = await referred('<sip:bob@127.0.0.1:5080>, <sip:carol@127.0.0.1:5080>');
    const { db } = await w.project();
    expect(row(db, 'transfers', 'sid = ?', transfer.sid)).toMatchObject({
      outcome: 'rejected',
      refer_status: 400,
      rejection_reason: 'exactly one Refer-To',
    });
  });

  it('pending while the target rings; working rows are dropped when calls end', async () => {
    w = await world();
    const { call, transfer } = await referred('<sip:bob@127.0.0.1:5080>');
    await transfer.held();
    await transfer.ringing();
    const ringing = await w.project();
    expect(row(ringing.db, 'transfers', 'sid = ?', transfer.sid)).toMatchObject({
      outcome: 'pending',
      refer_status: 202,
      target_status: null,
    });
    await transfer.answered();
    await transfer.reconnected();
    await call.hangup('customer');
    await transfer.child().hangup('far');
    const ended = await w.project();
    expect(rows(ended.db, 'transfer_call_trunks')).toEqual([]);
  });
});
