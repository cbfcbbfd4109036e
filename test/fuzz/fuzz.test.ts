/**
 * A few thousand seeded mutants of INVITE, REFER, BYE, NOTIFY, OPTIONS, CANCEL, ACK and responses, over
 * UDP and TCP, against a whole pivot in this process: nothing may escape as an uncaught exception or
 * unhandled rejection, no safety net may have caught a throw (an `error` log), and the pivot answers
 * OPTIONS after every batch. `FUZZ_SEED=N` replays another seed; `npm run fuzz` runs long ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PivotUnderTest, startTestPivot, TRUNK_DOMAIN } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { runFuzz } from './driver.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const COUNT = 3_000;

describe(`the SIP edge under ${COUNT} fuzzed messages (seed ${SEED})`, () => {
  let pivot: PivotUnderTest;
  const errors: Array<{ message: string; fields?: object }> = [];
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);

  beforeAll(async () => {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
    pivot = await startTestPivot({
      carrierPort: await freePort(),
      log: (level, message, fields) => {
        if (level === 'error') errors.push(fields === undefined ? { message } : { message, fields });
      },
    });
  });
  afterAll(async () => {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
    await pivot.dispose();
  });

  it('stays up, throws nothing and answers OPTIONS after every batch', async () => {
    const result = await runFuzz({
      host: '127.0.0.1',
      port: pivot.port,
      trunkDomain: TRUNK_DOMAIN,
      seed: SEED,
      count: COUNT,
      batch: 250,
    });
    expect(result).toMatchObject({ sent: COUNT, batches: COUNT / 250, unansweredProbes: 0 });
    expect(result.udp).toBeGreaterThan(0);
    expect(result.tcp).toBeGreaterThan(0);
    expect(escaped).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);
});
