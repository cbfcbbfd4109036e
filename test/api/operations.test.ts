import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/api/metrics.ts';
import { PoisonInputError, StoreUnavailableError } from '../../src/engine/errors.ts';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { UK_NUMBER } from '../projections/drive.ts';
import { type ApiWorld, apiWorld } from './support.ts';

const TRUNK = trunkSidOf('acme');

let w: ApiWorld;
afterEach(async () => {
  await w?.close();
});

describe('API: /healthz, /metrics, /openapi.json, /v1/Audit', () => {
  it('/healthz: the store answers, each projection position and lag', async () => {
    w = await apiWorld();
    const call = await w.driver.terminating();
    await call.answer();
    const { status, body } = await w.get('/healthz');
    expect(status).toBe(200);
    // The views have not folded the call yet: lag is visible. The call's six events: CallReceived,
    // Timer C scheduled, CallAnswered, Timer C canceled, the ACK timeout and the call limit scheduled.
    expect(body).toEqual({
      Status: 'ok',
      HeadPosition: 7,
      Trunks: 1,
      Projections: ['callLog', 'transfers', 'billing', 'audit'].map((Name) => ({
        Name,
        Position: 1,
        Lag: 6,
        LagSeconds: expect.any(Number),
        Error: null,
      })),
    });
    await w.sync();
    expect((await w.get('/healthz')).body.Projections[0]).toMatchObject({
      Position: 7,
      Lag: 0,
      LagSeconds: 0,
    });
  });

  it('/metrics: calls by status, transfers by outcome, REFER->202, append latency, projection lag', async () => {
    w = await apiWorld();
    const busy = await w.driver.terminating();
    await busy.reject(486, 'Busy Here');
    const call = await w.driver.terminating();
    await call.answer();
    const transfer = await call.refer(`<tel:${UK_NUMBER}>`);
    await transfer.held();
    await transfer.targetFailed(503, 'Service Unavailable');
    await w.sync();
    await w.driver.terminating(); // one more, not yet projected

    // The REFER reached the adapter 12 ms before the engine handed back the 202.
    const refer = {
      kind: 'request',
      method: 'REFER',
      receivedAt: new Date(1_000_000).toISOString(),
    } as SipRequestInput;
    w.metrics.observeOutcome(refer, transfer.outcome, 1_000_012);

    const response = await w.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(text).toContain('pivot_calls{status="busy"} 1');
    expect(text).toContain('pivot_calls{status="in-progress"} 1');
    expect(text).toContain('pivot_transfers{outcome="failed"} 1');
    expect(text).toContain('pivot_refer_accept_seconds_bucket{le="0.025"} 1');
    expect(text).toContain('pivot_refer_accept_seconds_bucket{le="0.01"} 0');
    expect(text).toContain('pivot_refer_accept_seconds_count 1');
    const appends = Number(/pivot_store_append_seconds_count (\d+)/.exec(text)?.[1]);
    expect(appends).toBeGreaterThanOrEqual(7); // seed + every input stored
    // The last call's CallReceived and its Timer C.
    expect(text).toContain('pivot_projection_lag_events{projection="billing"} 2');
    expect(text).toMatch(/pivot_projection_position\{projection="callLog"\} \d+/);
  });

  it('counts inputs the engine could not handle, by reason', async () => {
    const metrics = createMetrics();
    metrics.observeFailure(new StoreUnavailableError('append', new Error('db down')));
    metrics.observeFailure(new StoreUnavailableError('read', new Error('db down')));
    metrics.observeFailure(new PoisonInputError(new Error('bad input')));
    const text = await metrics.registry.metrics();
    expect(text).toContain('pivot_engine_input_failures_total{reason="store"} 2');
    expect(text).toContain('pivot_engine_input_failures_total{reason="poison"} 1');
  });

  it('metrics registries are per instance, and only REFERs answered 202 are observed', () => {
    const a = createMetrics();
    const b = createMetrics();
    const invite = {
      kind: 'request',
      method: 'INVITE',
      receivedAt: new Date().toISOString(),
    } as SipRequestInput;
    a.observeOutcome(invite, { kind: 'stored', sessionSid: 'x', events: [], commands: [] });
    const refer = { ...invite, method: 'REFER' };
    a.observeOutcome(refer, { kind: 'stored', sessionSid: 'x', events: [], commands: [] });
    a.observeOutcome(refer, {
      kind: 'stored',
      sessionSid: 'x',
      events: [],
      commands: [{ kind: 'response', adapterId: 'a', transactionKey: 'k', status: 202, reason: 'Accepted' }],
    });
    expect(a.registry).not.toBe(b.registry);
    return Promise.all([a.registry.metrics(), b.registry.metrics()]).then(([ma, mb]) => {
      expect(ma).toContain('pivot_refer_accept_seconds_count 1');
      expect(mb).toContain('pivot_refer_accept_seconds_count 0');
    });
  });

  it('/openapi.json describes every route, its parameters and errors', async () => {
    w = await apiWorld();
    const { status, body } = await w.get('/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths).sort()).toEqual([
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/v1/Audit',
      '/v1/Billing',
      '/v1/Billing/Lines',
      '/v1/Calls',
      '/v1/Calls/{Sid}',
      '/v1/Calls/{Sid}/Events',
      '/v1/Calls/{Sid}/Messages',
      '/v1/Calls/{Sid}/Replay',
      '/v1/Events',
      '/v1/Events/Schema',
      '/v1/Events/Stream',
      '/v1/Keys',
      '/v1/Keys/{Sid}',
      '/v1/Machines',
      '/v1/StatusCallbacks/Deliveries',
      '/v1/Transfers',
      '/v1/Transfers/{Sid}',
      '/v1/Trunks',
      '/v1/Trunks/{Sid}',
    ]);
    const list = body.paths['/v1/Calls'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual([
      'ParentCallSid',
      'TrunkSid',
      'Status',
      'Direction',
      'From',
      'To',
      'StartTimeAfter',
      'StartTimeBefore',
      'PageSize',
      'Page',
    ]);
    expect(list.responses['400'].content['application/json'].schema.required).toEqual([
      'code',
      'message',
      'field',
    ]);
    expect(body.paths['/v1/Calls/{Sid}'].get.responses['404']).toBeDefined();
    expect(Object.keys(body.paths['/v1/Trunks/{Sid}']).sort()).toEqual(['get', 'patch', 'post']);
    expect(body.paths['/v1/Trunks'].post.requestBody.content['application/json'].schema.required).toContain(
      'Rates',
    );
  });

  it('/v1/Audit: newest first, filtered by kind, call and time', async () => {
    w = await apiWorld();
    const call = await w.driver.terminating();
    await call.answer();
    w.driver.advance(10);
    const transfer = await call.refer('<sip:bob@127.0.0.1:5080>');
    await transfer.complete();
    await w.sync();
    const all = await w.get('/v1/Audit');
    expect(all.body.Entries.map((e: { Action: string }) => e.Action)).toEqual([
      'TransferCompleted',
      'ReferAccepted',
      'TrunkCreated',
    ]);
    expect(all.body.Entries[1]).toMatchObject({
      Kind: 'transfer',
      TrunkSid: TRUNK,
      CallSid: call.sid,
      TransferSid: transfer.sid,
      At: '2025-03-14T09:00:10.000Z',
      Details: { policy: { transferMode: 'enable-all' }, targetKind: 'sip' },
    });
    expect((await w.get(`/v1/Audit?CallSid=${call.sid}&Kind=transfer`)).body.Entries).toHaveLength(2);
    expect((await w.get('/v1/Audit?After=2025-03-14T09:00:00Z')).body.Entries).toHaveLength(2);
    expect((await w.get('/v1/Audit?Before=2025-03-14T09:00:00Z')).body.Entries).toHaveLength(1);
    expect((await w.get('/v1/Audit?Kind=call')).body.field).toBe('Kind');
    expect((await w.get('/v1/nothing')).status).toBe(404);
  });
});
