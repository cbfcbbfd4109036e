/**
 * The SIP edge's and the session cache's figures on /metrics of a running pivot: what it answered and
 * what it holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, carrier, pbx } from '../e2e/parties.ts';
import { type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { optionsAnswered } from '../helpers/optionsProbe.ts';
import { freePort } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

function figure(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not on /metrics`);
  return Number(line.split(' ')[1]);
}

describe('/metrics and the SIP edge', () => {
  it('counts the stateless answers the adapter sent and the sources it tracks', async () => {
    pivot = await startTestPivot({ carrierPort: await freePort() });
    for (let n = 1; n <= 3; n++) await optionsAnswered(pivot.port, { label: 'metrics', n });
    const text = await (await fetch(`${pivot.httpUrl}/metrics`)).text();
    expect(figure(text, 'pivot_sip_stateless_answers_total')).toBe(3);
    expect(figure(text, 'pivot_sip_sources_tracked')).toBe(1);
    expect(figure(text, 'pivot_sip_source_limit_dropped_total')).toBe(0);
    expect(figure(text, 'pivot_sip_server_transactions_pending')).toBe(0);
    // The probes came over UDP: no stream connection is open.
    expect(figure(text, 'pivot_sip_tcp_connections')).toBe(0);
  });

  it("counts the session cache's hits: a call's inputs after its INVITE find its session loaded", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'hung_up' });
    await far.ready;
    await allPassed(pbx(pivot.address, { flow: 'hang_up', byeDelayMs: 100 }), far);
    const text = await (await fetch(`${pivot.httpUrl}/metrics`)).text();
    // 180, 200, ACK, BYE and the carrier's 200 to its BYE; the INVITE opened the session (no stream yet).
    expect(figure(text, 'pivot_engine_session_cache_hits_total')).toBeGreaterThanOrEqual(5);
    expect(figure(text, 'pivot_engine_session_cache_misses_total')).toBe(0);
    expect(figure(text, 'pivot_engine_sessions_cached')).toBe(1);
    expect(figure(text, 'pivot_engine_session_cache_capacity')).toBe(50_000);
  });
});
