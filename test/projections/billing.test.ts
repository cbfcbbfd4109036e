/**
 * Billing specs: the transfer itself is free; each leg is billed per started minute at the trunk's rate
 * deck (longest prefix wins). Rates in billingConfig(): origination "" 0.0034, "+1312" 0.005;
 * termination "" 0.0045, "+44" 0.011 (USD per minute).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { billingProjection } from '../../projections/billing.ts';
import { projectionsFor } from '../../projections/index.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { CALLER, createDriver, UK_NUMBER, US_NUMBER } from './drive.ts';
import { row, rows, type World, world } from './support.ts';

const TRUNK = trunkSidOf('acme');

let w: World;
afterEach(async () => {
  await w?.close();
});

function lines(db: Parameters<typeof rows>[0], callSid: string) {
  return db
    .prepare(
      'SELECT line, kind, number, rate, minutes, amount_micros, currency FROM billing_lines WHERE call_sid = ?',
    )
    .all(callSid);
}

/** A call answered after 5 s that lasts `seconds`, then the PBX hangs up. */
async function plainCall(direction: 'terminating' | 'originating', party: string, seconds: number) {
  const call =
    direction === 'terminating'
      ? await w.driver.terminating({ to: party })
      : await w.driver.originating({ from: party });
  w.driver.advance(5);
  await call.answer();
  w.driver.advance(seconds);
  await call.hangup('customer');
  return call;
}

/**
 * A call transferred after 20 s of talk (the target rings 4 s), the PBX leaves 1 s later, the child call
 * lasts `childSeconds`.
 */
async function transferredCall(
  direction: 'terminating' | 'originating',
  party: string,
  referTo: string,
  childSeconds: number,
) {
  const call =
    direction === 'terminating'
      ? await w.driver.terminating({ to: party })
      : await w.driver.originating({ from: party });
  w.driver.advance(5);
  await call.answer();
  w.driver.advance(20);
  const transfer = await call.refer(referTo);
  await transfer.complete(4);
  w.driver.advance(1);
  await call.hangup('customer');
  w.driver.advance(childSeconds - 1);
  await transfer.child().hangup('target');
  const { db } = await w.project();
  const child = row(db, 'calls', 'parent_call_sid = ?', call.sid).sid as string;
  return { db, parent: call.sid, child };
}

describe('billing: a normal call is billed for its own duration', () => {
  it('terminating: termination rate of the called number, per started minute', async () => {
    w = await world();
    const call = await plainCall('terminating', US_NUMBER, 61);
    const { db } = await w.project();
    expect(lines(db, call.sid)).toEqual([
      {
        line: 1,
        kind: 'termination',
        number: US_NUMBER,
        rate: 0.0045,
        minutes: 2,
        amount_micros: 9000,
        currency: 'USD',
      },
    ]);
    expect(row(db, 'billing_calls', 'sid = ?', call.sid)).toMatchObject({
      duration: 61,
      minutes: 2,
      amount_micros: 9000,
      currency: 'USD',
    });
  });

  it('terminating to +44: the longest prefix wins; exactly 60 s is one minute', async () => {
    w = await world();
    const call = await plainCall('terminating', UK_NUMBER, 60);
    const { db } = await w.project();
    expect(lines(db, call.sid)).toMatchObject([
      { number: UK_NUMBER, rate: 0.011, minutes: 1, amount_micros: 11000 },
    ]);
  });

  it('originating: origination rate of the calling number', async () => {
    w = await world();
    const call = await plainCall('originating', CALLER, 125);
    const { db } = await w.project();
    expect(lines(db, call.sid)).toMatchObject([
      { kind: 'origination', number: CALLER, rate: 0.005, minutes: 3, amount_micros: 15000 },
    ]);
  });

  it('a call never answered costs nothing and has no lines', async () => {
    w = await world();
    const call = await w.driver.terminating();
    w.driver.advance(10);
    await call.reject(486, 'Busy Here');
    const { db } = await w.project();
    expect(lines(db, call.sid)).toEqual([]);
    expect(row(db, 'billing_calls', 'sid = ?', call.sid)).toMatchObject({
      duration: 0,
      minutes: 0,
      amount_micros: 0,
      currency: 'USD',
    });
    expect(rows(db, 'billing_daily')).toEqual([]);
  });

  it('a call in progress has no price yet', async () => {
    w = await world();
    const call = await w.driver.terminating();
    await call.answer();
    const { db } = await w.project();
    expect(row(db, 'billing_calls', 'sid = ?', call.sid)).toMatchObject({
      amount_micros: null,
      currency: null,
    });
  });
});

describe('billing: the four transfer cases (docs/architecture.md "Billing")', () => {
  it('terminating A->B, SIP C: the child is billed termination to B x child duration', async () => {
    w = await world();
    const { db, parent, child } = await transferredCall(
      'terminating',
      UK_NUMBER,
      '<sip:bob@127.0.0.1:5080>',
      90,
    );
    expect(lines(db, child)).toEqual([
      {
        line: 1,
        kind: 'termination',
        number: UK_NUMBER,
        rate: 0.011,
        minutes: 2,
        amount_micros: 22000,
        currency: 'USD',
      },
    ]);
    // The original call: answered at 5 s, ended when the PBX left at 30 s -> 1 minute to B.
    expect(lines(db, parent)).toMatchObject([{ kind: 'termination', number: UK_NUMBER, minutes: 1 }]);
  });

  it('terminating A->B, PSTN C: termination to B + termination to C, each x child duration', async () => {
    w = await world();
    const { db, child } = await transferredCall('terminating', US_NUMBER, `<tel:${UK_NUMBER}>`, 61);
    expect(lines(db, child)).toMatchObject([
      { line: 1, kind: 'termination', number: US_NUMBER, rate: 0.0045, minutes: 2, amount_micros: 9000 },
      { line: 2, kind: 'termination', number: UK_NUMBER, rate: 0.011, minutes: 2, amount_micros: 22000 },
    ]);
    expect(row(db, 'billing_calls', 'sid = ?', child)).toMatchObject({ duration: 61, amount_micros: 31000 });
  });

  it('originating A->B, SIP C: origination from A x child duration', async () => {
    w = await world();
    const { db, parent, child } = await transferredCall(
      'originating',
      CALLER,
      '<sip:bob@127.0.0.1:5080>',
      30,
    );
    expect(lines(db, child)).toEqual([
      {
        line: 1,
        kind: 'origination',
        number: CALLER,
        rate: 0.005,
        minutes: 1,
        amount_micros: 5000,
        currency: 'USD',
      },
    ]);
    expect(lines(db, parent)).toMatchObject([{ kind: 'origination', number: CALLER, minutes: 1 }]);
  });

  it('originating A->B, PSTN C: origination from A + termination to C (sip:+E164@trunk domain)', async () => {
    w = await world();
    const { db, child } = await transferredCall(
      'originating',
      '+15557654321',
      `<sip:${UK_NUMBER}@acme.pstn.pivot.test>`,
      181,
    );
    expect(lines(db, child)).toMatchObject([
      { kind: 'origination', number: '+15557654321', rate: 0.0034, minutes: 4, amount_micros: 13600 },
      { kind: 'termination', number: UK_NUMBER, rate: 0.011, minutes: 4, amount_micros: 44000 },
    ]);
  });

  it('the per-trunk, per-day summary adds every billed leg', async () => {
    w = await world();
    await plainCall('terminating', US_NUMBER, 61); // 2 min x 0.0045
    const { db, child } = await transferredCall('terminating', US_NUMBER, `<tel:${UK_NUMBER}>`, 61);
    // Parent: 26 s -> 1 min x 0.0045; child: 2 x 0.0045 + 2 x 0.011.
    expect(rows(db, 'billing_daily')).toEqual([
      {
        trunk_sid: TRUNK,
        day: '2025-03-14',
        currency: 'USD',
        calls: 3,
        legs: 4,
        minutes: 7,
        amount_micros: 9000 + 4500 + 9000 + 22000,
      },
    ]);
    expect(child).toMatch(/^CA/);
  });
});

describe('billing: rates', () => {
  it('come from the trunk events; without them, from the config the projection was built with', async () => {
    const store = createInMemoryEventStore();
    // No registry: the store holds calls but no TrunkCreated (a store from before trunks were events).
    const driver = createDriver({ store });
    const call = await driver.terminating({ to: US_NUMBER });
    driver.advance(1);
    await call.answer();
    driver.advance(10);
    await call.hangup('customer');
    w = await world({ store });
    const withFallback = await w.project(projectionsFor(w.config));
    expect(row(withFallback.db, 'billing_calls', 'sid = ?', call.sid)).toMatchObject({ amount_micros: 4500 });
    // The registry has now seeded the trunk, but after the call: without a fallback it is unpriced.
    const without = await w.project([billingProjection]);
    expect(row(without.db, 'billing_calls', 'sid = ?', call.sid)).toMatchObject({
      amount_micros: null,
      currency: null,
    });
    await driver.engine.stop();
  });
});
