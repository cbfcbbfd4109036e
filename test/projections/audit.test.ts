import { afterEach, describe, expect, it } from 'vitest';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { UK_NUMBER } from './drive.ts';
import { rows, type World, world } from './support.ts';

const TRUNK = trunkSidOf('acme');

let w: World;
afterEach(async () => {
  await w?.close();
});

const view = (db: Parameters<typeof rows>[0]) =>
  db.prepare('SELECT kind, action, trunk_sid, what, why, by FROM audit ORDER BY position').all();

describe('audit: every trunk change and every transfer decision, with what, when and why', () => {
  it('trunk seeded from the config, then changed through the API with a reason', async () => {
    w = await world();
    await w.trunks.update(
      TRUNK,
      { transferMode: 'sip-only' },
      { reason: 'PSTN fraud spike', by: 'ops@acme' },
    );
    await w.trunks.update(
      TRUNK,
      { transferCallerId: 'from-transferor', acl: ['127.0.0.1/32', '10.0.0.0/8'] },
      { by: 'ops@acme' },
    );
    const { db } = await w.project();
    expect(view(db)).toEqual([
      {
        kind: 'trunk',
        action: 'TrunkCreated',
        trunk_sid: TRUNK,
        what: 'trunk acme created (transferMode enable-all, transferCallerId from-transferee)',
        why: 'seeded from the configuration file',
        by: null,
      },
      {
        kind: 'trunk',
        action: 'TrunkTransferModeChanged',
        trunk_sid: TRUNK,
        what: 'trunk acme: transferMode enable-all -> sip-only',
        why: 'PSTN fraud spike',
        by: 'ops@acme',
      },
      {
        kind: 'trunk',
        action: 'TrunkCallerIdModeChanged',
        trunk_sid: TRUNK,
        what: 'trunk acme: transferCallerId from-transferee -> from-transferor',
        why: 'no reason given',
        by: 'ops@acme',
      },
      {
        kind: 'trunk',
        action: 'TrunkAclChanged',
        trunk_sid: TRUNK,
        what: 'trunk acme: acl 127.0.0.1/32 -> 127.0.0.1/32,10.0.0.0/8',
        why: 'no reason given',
        by: 'ops@acme',
      },
    ]);
    const at = db.prepare<[], { at: string }>('SELECT at FROM audit').all();
    expect(at.every((r) => r.at === '2025-03-14T08:00:00.000Z')).toBe(true);
  });

  it('transfer decisions: accepted and completed, refused by policy, failed with the target status', async () => {
    w = await world();
    const call = await w.driver.terminating();
    await call.answer();
    const ok = await call.refer('<sip:bob@127.0.0.1:5080>');
    await ok.complete();
    await call.hangup('customer');

    await w.trunks.update(TRUNK, { transferMode: 'sip-only' }, { reason: 'no PSTN transfers' });
    const second = await w.driver.terminating();
    await second.answer();
    const refused = await second.refer(`<tel:${UK_NUMBER}>`);
    const busy = await second.refer('<sip:carol@127.0.0.1:5080>');
    await busy.held();
    await busy.targetFailed(486, 'Busy Here');

    const { db } = await w.project();
    const transfers = db
      .prepare(
        "SELECT action, trunk_sid, call_sid, transfer_sid, what, why, details FROM audit WHERE kind = 'transfer' ORDER BY position",
      )
      .all() as Record<string, string>[];
    const okSid = ok.sid;
    const child = db
      .prepare<[string], { sid: string }>('SELECT sid FROM calls WHERE parent_call_sid = ?')
      .get(call.sid)!;
    expect(transfers.map(({ details: _, ...r }) => r)).toEqual([
      {
        action: 'ReferAccepted',
        trunk_sid: TRUNK,
        call_sid: call.sid,
        transfer_sid: okSid,
        what: 'REFER to sip:bob@127.0.0.1:5080 accepted (sip target)',
        why: 'transferMode enable-all allows sip targets',
      },
      {
        action: 'TransferCompleted',
        trunk_sid: TRUNK,
        call_sid: call.sid,
        transfer_sid: okSid,
        what: `transfer completed: child call ${child.sid} from +15550200000 to bob`,
        why: 'the target answered',
      },
      {
        action: 'ReferRejected',
        trunk_sid: TRUNK,
        call_sid: second.sid,
        transfer_sid: refused.sid,
        what: `REFER to <tel:${UK_NUMBER}> refused with 403`,
        why: 'PSTN targets are not allowed on trunk acme (sip-only)',
      },
      {
        action: 'ReferAccepted',
        trunk_sid: TRUNK,
        call_sid: second.sid,
        transfer_sid: busy.sid,
        what: 'REFER to sip:carol@127.0.0.1:5080 accepted (sip target)',
        why: 'transferMode sip-only allows sip targets',
      },
      {
        action: 'TransferFailed',
        trunk_sid: TRUNK,
        call_sid: second.sid,
        transfer_sid: busy.sid,
        what: 'transfer failed with 486',
        why: 'target: 486 Busy Here',
      },
    ]);
    expect(JSON.parse(transfers[2]!.details!)).toEqual({
      policy: { transferMode: 'sip-only', transferCallerId: 'from-transferee', maxTransfersPerCall: 5 },
      status: 403,
    });
    expect(rows(db, 'audit_refers')).toEqual([]);
  });
  it('a target leg released after the transfer failed: its late 200 was ACKed and BYEd', async () => {
    w = await world();
    const call = await w.driver.terminating();
    await call.answer();
    const transfer = await call.refer('<sip:bob@127.0.0.1:5080>');
    await transfer.held();
    await transfer.ringing();
    w.driver.advance(30);
    await transfer.noAnswer();
    await transfer.answered();
    const { db } = await w.project();
    const last = db
      .prepare(
        "SELECT action, trunk_sid, transfer_sid, what, why, details FROM audit WHERE kind = 'transfer' ORDER BY position",
      )
      .all()
      .at(-1);
    expect(last).toEqual({
      action: 'TargetReleased',
      trunk_sid: TRUNK,
      transfer_sid: transfer.sid,
      what: 'target leg released with BYE',
      why: 'the target answered after the transfer had failed (its 200 crossed the CANCEL)',
      details: JSON.stringify({ why: 'late-answer' }),
    });
  });
});
