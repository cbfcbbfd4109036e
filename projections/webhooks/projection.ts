/**
 * Status callbacks, as a projection: each call and transfer event of a trunk with a status callback
 * becomes a row of `webhook_outbox` (what to send, for which trunk), in the transaction that moves the
 * checkpoint, so it replays and resumes like any projection. The dispatcher (dispatcher.ts) sends them.
 *
 * Callback events: initiated (CallReceived, ChildCallStarted), ringing (the first 180/183), answered,
 * completed (CallEnded, any final status), transfer-requested (ReferReceived), transfer-completed,
 * transfer-failed (TransferFailed, or the REFER refused).
 */
import type { Database } from 'better-sqlite3';
import type { StatusCallbackConfig } from '../../src/config/schema.ts';
import {
  defineProjection,
  type HandledEvent,
  type PivotEventType,
  type ProjectionDefinition,
} from '../api.ts';

export type CallbackEvent = StatusCallbackConfig['events'][number];

const outbox = `
CREATE TABLE IF NOT EXISTS webhook_outbox (
  position  INTEGER NOT NULL,
  event     TEXT    NOT NULL,  -- a callback event: initiated, answered, transfer-completed, ...
  trunk_sid TEXT    NOT NULL,
  call_sid  TEXT    NOT NULL,
  body      TEXT    NOT NULL,  -- the JSON body, as signed and sent
  PRIMARY KEY (position, event, trunk_sid)
)`;

// Which trunk each live call is on, and whether it rang yet (only the first ringing is reported).
const calls = `
CREATE TABLE IF NOT EXISTS webhook_calls (
  call_sid        TEXT    PRIMARY KEY,
  trunk_sid       TEXT    NOT NULL,
  parent_call_sid TEXT,
  rang            INTEGER NOT NULL DEFAULT 0
)`;

const prepare = (db: Database) => ({
  enqueue: db.prepare(
    'INSERT OR IGNORE INTO webhook_outbox (position, event, trunk_sid, call_sid, body) VALUES (?, ?, ?, ?, ?)',
  ),
  remember: db.prepare(
    'INSERT OR REPLACE INTO webhook_calls (call_sid, trunk_sid, parent_call_sid) VALUES (?, ?, ?)',
  ),
  call: db.prepare<[string], { trunk_sid: string; parent_call_sid: string | null; rang: number }>(
    'SELECT trunk_sid, parent_call_sid, rang FROM webhook_calls WHERE call_sid = ?',
  ),
  rang: db.prepare('UPDATE webhook_calls SET rang = 1 WHERE call_sid = ?'),
  forget: db.prepare('DELETE FROM webhook_calls WHERE call_sid = ?'),
});

type Statements = ReturnType<typeof prepare>;

/** The trunk sids with a callback, and the callback events each wants. */
export type Subscriptions = ReadonlyMap<string, ReadonlySet<CallbackEvent>>;

export function createWebhookDefinition(subscriptions: Subscriptions): ProjectionDefinition<Statements> {
  /** Queues `event` for the call's trunk, if that trunk wants it. */
  function send(
    s: Statements,
    recorded: HandledEvent<PivotEventType>,
    event: CallbackEvent,
    callSid: string,
    fields: Record<string, unknown>,
  ): void {
    const call = s.call.get(callSid);
    const trunkSid = (fields.TrunkSid as string | undefined) ?? call?.trunk_sid;
    if (!trunkSid || !subscriptions.get(trunkSid)?.has(event)) return;
    const body = {
      EventType: event,
      CallSid: callSid,
      ParentCallSid: call?.parent_call_sid ?? null,
      TrunkSid: trunkSid,
      Timestamp: (recorded.data as { at: string }).at,
      SequenceNumber: recorded.position,
      ...fields,
    };
    s.enqueue.run(recorded.position, event, trunkSid, callSid, JSON.stringify(body));
  }

  /** A transfer that did not happen: its REFER refused (`rejected`), or failed once accepted. */
  function sendTransferFailed(
    s: Statements,
    recorded: HandledEvent<'ReferRejected' | 'TransferFailed'>,
    status: 'rejected' | 'failed',
  ): void {
    const e = recorded.data;
    send(s, recorded, 'transfer-failed', e.callSid, {
      TransferSid: e.transferSid,
      TransferStatus: status,
      SipStatus: e.status,
      Reason: e.reason,
    });
  }

  return defineProjection({
    name: 'webhooks',
    version: 1,
    description: 'status callbacks to send, per trunk (the dispatcher delivers them)',
    tables: { webhook_outbox: outbox, webhook_calls: calls },
    prepare,
    handlers: {
      CallReceived(event, s) {
        const e = event.data;
        s.remember.run(e.callSid, e.trunkSid, null);
        send(s, event, 'initiated', e.callSid, {
          TrunkSid: e.trunkSid,
          CallStatus: 'ringing',
          Direction: e.direction,
          From: e.from,
          To: e.to,
        });
      },
      ChildCallStarted(event, s) {
        const e = event.data;
        s.remember.run(e.callSid, e.trunkSid, e.parentCallSid);
        send(s, event, 'initiated', e.callSid, {
          TrunkSid: e.trunkSid,
          CallStatus: 'in-progress',
          Direction: e.direction,
          From: e.from,
          To: e.to,
          TransferSid: e.transferSid,
        });
      },
      CallProgress(event, s) {
        const e = event.data;
        if (e.status !== 180 && e.status !== 183) return;
        const call = s.call.get(e.callSid);
        if (!call || call.rang) return;
        s.rang.run(e.callSid);
        send(s, event, 'ringing', e.callSid, { CallStatus: 'ringing', SipStatus: e.status });
      },
      CallAnswered(event, s) {
        send(s, event, 'answered', event.data.callSid, { CallStatus: 'in-progress' });
      },
      CallEnded(event, s) {
        const e = event.data;
        send(s, event, 'completed', e.callSid, { CallStatus: e.status, SipStatus: e.sipStatus ?? null });
        s.forget.run(e.callSid);
      },
      ReferReceived(event, s) {
        const e = event.data;
        send(s, event, 'transfer-requested', e.callSid, {
          TransferSid: e.transferSid,
          ReferTo: e.referTo.join(', '),
          ReferredBy: e.referredBy ?? null,
        });
      },
      ReferRejected(event, s) {
        sendTransferFailed(s, event, 'rejected');
      },
      TransferCompleted(event, s) {
        const e = event.data;
        send(s, event, 'transfer-completed', e.callSid, {
          TransferSid: e.transferSid,
          TransferStatus: 'completed',
          ChildCallSid: e.childCallSid,
          TargetKind: e.targetKind,
          TargetNumber: e.targetNumber,
        });
      },
      TransferFailed(event, s) {
        sendTransferFailed(s, event, 'failed');
      },
    },
  });
}
