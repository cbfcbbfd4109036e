import { afterEach, describe, expect, it } from 'vitest';
import { loadProjections } from '../../../projections/index.ts';
import { billingConfig, UK_NUMBER, US_NUMBER } from '../drive.ts';
import { row, rows, type World, world } from '../support.ts';

const T0 = '2025-03-14T09:00:00.000Z';

let w: World;
afterEach(async () => {
  await w?.close();
});

/** An answered terminating call, then a REFER from `agent` 20 s in. */
async function referred(referTo: string, referredBy?: string) {
  const call = await w.driver.terminating({ to: US_NUMBER });
  w.driver.advance(5);
  await call.answer();
  w.driver.advance(15);
  return call.refer(referTo, referredBy);
}

describe('example projection agentStats, loaded from the config like a user module', () => {
  it('counts each agent’s transfers by outcome and the mean wait until the target answered', async () => {
    w = await world({
      start: T0,
      config: billingConfig({ transferMode: 'sip-only' }),
    });
    // 2001: one completed after 4 s of ringing, one busy; 2002: one refused by policy (PSTN on sip-only).
    const completed = await referred('<sip:bob@127.0.0.1:5080>', '<sip:2001@127.0.0.1>');
    await completed.complete(4);
    const busy = await referred('<sip:carol@127.0.0.1:5080>', '"Agent 1" <sip:2001@127.0.0.1;user=phone>');
    await busy.held();
    await busy.targetFailed(486, 'Busy Here');
    await referred(`<tel:${UK_NUMBER}>`, '<sip:2002@127.0.0.1>');
    await referred('<sip:dave@127.0.0.1:5080>');

    const config = {
      ...w.config,
      projections: { modules: [{ module: 'projections/examples/agent-stats.ts' }] },
    };
    const projections = await loadProjections(config);
    expect(projections.map((p) => p.name)).toContain('agentStats');
    const { db } = await w.project(projections);

    expect(row(db, 'agent_transfers', 'agent = ?', '2001')).toMatchObject({
      requested: 2,
      accepted: 2,
      rejected: 0,
      completed: 1,
      failed: 1,
      to_sip: 2,
      to_pstn: 0,
      answered: 1,
      answer_ms_total: 4000,
    });
    expect(row(db, 'agent_transfers', 'agent = ?', '2002')).toMatchObject({
      requested: 1,
      accepted: 0,
      rejected: 1,
      completed: 0,
    });
    // No Referred-By: counted under `unknown`, still pending (the target has not answered yet).
    expect(row(db, 'agent_transfers', 'agent = ?', 'unknown')).toMatchObject({ requested: 1, accepted: 1 });
    expect(rows(db, 'agent_transfer_refers').map((r) => r.agent)).toEqual(['unknown']);
  });
});
