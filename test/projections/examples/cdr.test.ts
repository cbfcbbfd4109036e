import { afterEach, describe, expect, it } from 'vitest';
import cdrProjection, { CDR_COLUMNS, cdrCsv } from '../../../projections/examples/cdr.ts';
import { loadProjectionModules } from '../../../projections/index.ts';
import { trunkSidOf } from '../../../src/shared/sids.ts';
import { TRUNK_NUMBER, UK_NUMBER, US_NUMBER } from '../drive.ts';
import { type World, world } from '../support.ts';

const T0 = '2025-03-14T09:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const TRUNK = trunkSidOf('acme');

let w: World;
afterEach(async () => {
  await w?.close();
});

describe('example projection cdr: CSV call detail records', () => {
  it('one line per ended call with the documented columns; transfers and unanswered calls included', async () => {
    w = await world({ start: T0 });
    const busy = await w.driver.terminating({ to: US_NUMBER });
    w.driver.advance(2);
    await busy.reject(486, 'Busy Here');
    const call = await w.driver.terminating({ to: US_NUMBER });
    w.driver.advance(5);
    await call.answer();
    w.driver.advance(20);
    const transfer = await call.refer(`<tel:${UK_NUMBER}>`, '<sip:2001@127.0.0.1>');
    await transfer.complete(3);
    await call.hangup('customer');
    w.driver.advance(60.5);
    await transfer.child().hangup('target');
    const stillRinging = await w.driver.terminating({ to: US_NUMBER });

    const [loaded] = await loadProjectionModules([{ module: 'projections/examples/cdr.ts' }]);
    expect(loaded!.name).toBe(cdrProjection.name);
    const { db } = await w.project([loaded!]);
    const child = db.prepare('SELECT call_sid FROM cdr WHERE parent_call_sid = ?').get(call.sid) as {
      call_sid: string;
    };

    const lines = cdrCsv(db).split('\r\n');
    expect(lines[0]).toBe(CDR_COLUMNS.join(','));
    expect(lines.slice(1)).toEqual([
      [
        busy.sid,
        '',
        '',
        TRUNK,
        'trunking-terminating',
        TRUNK_NUMBER,
        US_NUMBER,
        at(0),
        '',
        at(2),
        0,
        'busy',
        486,
        0,
      ].join(','),
      [
        call.sid,
        '',
        '',
        TRUNK,
        'trunking-terminating',
        TRUNK_NUMBER,
        US_NUMBER,
        at(2),
        at(7),
        at(30),
        23,
        'completed',
        '',
        1,
      ].join(','),
      [
        child.call_sid,
        call.sid,
        transfer.sid,
        TRUNK,
        'trunking-terminating',
        US_NUMBER,
        UK_NUMBER,
        at(30),
        at(30),
        at(90.5),
        61,
        'completed',
        '',
        0,
      ].join(','),
      '',
    ]);
    // Still ringing: not a record yet. A time range selects by end time.
    expect(cdrCsv(db)).not.toContain(stillRinging.sid);
    expect(cdrCsv(db, { since: at(3) }).split('\r\n').length).toBe(4);
  });
});
