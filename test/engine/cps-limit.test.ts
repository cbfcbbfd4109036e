/**
 * A trunk's cpsLimit: new calls and accepted transfers per second. Above it a new INVITE or a REFER is
 * answered 503 with Retry-After and nothing is stored; the refusal is counted in the metrics per trunk.
 * The engine's clock is the test's, so "a second later" is exact.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/api/metrics.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createEngine } from '../../src/engine/engine.ts';
import type { SipCommand, SipRequestInput } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, testConfig } from '../helpers/sipInputs.ts';

function limited(cpsLimit: number) {
  const base = testConfig();
  const config = { ...base, trunks: [{ ...base.trunks[0]!, cpsLimit }] };
  const store = createInMemoryEventStore();
  const sent: SipCommand[] = [];
  let now = Date.parse('2025-03-14T09:00:00.000Z');
  const engine = createEngine({
    store,
    config,
    clock: () => new Date(now),
    send: (command) => sent.push(command),
  });
  const metrics = createMetrics();
  const handle = async (input: Parameters<typeof engine.handle>[0]) => {
    const outcome = await engine.handle(input);
    metrics.observeOutcome(input, outcome);
    return outcome;
  };
  const answeredFor = (invite: SipRequestInput) =>
    sent.find((c) => c.kind === 'response' && c.transactionKey === invite.transactionKey && c.status >= 200);
  return {
    store,
    sent,
    handle,
    answeredFor,
    later: (ms: number) => {
      now += ms;
    },
    limitedCount: async () =>
      Number(
        /pivot_cps_limited_total\{trunk="acme"\} (\d+)/.exec(await metrics.registry.metrics())?.[1] ?? 0,
      ),
  };
}

describe('trunk cpsLimit', () => {
  it('new INVITEs above the limit get 503 with Retry-After and store nothing', async () => {
    const t = limited(2);
    const invites = [pbxInvite(), pbxInvite(), pbxInvite()];
    const outcomes = [];
    for (const invite of invites) outcomes.push(await t.handle(invite));
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'stored', 'replied']);
    expect(t.answeredFor(invites[2]!)).toMatchObject({
      status: 503,
      headers: expect.objectContaining({ 'Retry-After': '1' }),
    });
    const stored = await t.store.readAll();
    expect(stored.filter((e) => e.type === 'CallReceived')).toHaveLength(2);
    expect(await t.limitedCount()).toBe(1);

    t.later(1000);
    expect((await t.handle(pbxInvite())).kind).toBe('stored');
    expect(await t.limitedCount()).toBe(1);
  });

  it('an accepted transfer takes from the same budget: above it the REFER gets 503, nothing stored', async () => {
    const t = limited(1);
    const invite = pbxInvite();
    await t.handle(invite);
    const farInvite = t.sent.findLast((c) => c.kind === 'request' && c.method === 'INVITE');
    if (farInvite?.kind !== 'request') throw new Error('no INVITE to the carrier');
    await t.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
    const ok = t.sent.find((c) => c.kind === 'response' && c.status === 200);
    if (ok?.kind !== 'response' || !ok.toTag) throw new Error('no 200 to the PBX');
    const before = (await t.store.readAll()).length;

    const refer = (seq: number) =>
      pbxInDialog(invite, ok.toTag!, 'REFER', seq, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
    const first = await t.handle(refer(2));
    expect(first).toMatchObject({ kind: 'replied', cpsLimited: { trunkName: 'acme' } });
    expect(t.sent.at(-1)).toMatchObject({
      status: 503,
      headers: expect.objectContaining({ 'Retry-After': '1' }),
    });
    expect(await t.store.readAll()).toHaveLength(before);
    expect(await t.limitedCount()).toBe(1);

    t.later(1000);
    const second = await t.handle(refer(3));
    expect(second.kind === 'stored' && second.events.map((e) => e.type)).toContain('ReferAccepted');
    expect(t.sent).toContainEqual(expect.objectContaining({ kind: 'response', status: 202 }));
  });
});

describe('trunk cpsLimit in the configuration', () => {
  const withLimit = (cpsLimit: unknown) => {
    const config = testConfig();
    return parseConfig({ ...config, trunks: [{ ...config.trunks[0]!, cpsLimit }] });
  };

  it('takes a positive number of calls per second and refuses anything else, naming the field', () => {
    expect(withLimit(2.5).trunks[0]?.cpsLimit).toBe(2.5);
    expect(() => withLimit(0)).toThrow(/trunks\[0\]\.cpsLimit/);
    expect(() => withLimit('10')).toThrow(/trunks\[0\]\.cpsLimit/);
  });
});
