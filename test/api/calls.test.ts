import { afterEach, describe, expect, it } from 'vitest';
import { CALL_MACHINE_VERSION } from '../../machines/call/call.machine.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { UK_NUMBER, US_NUMBER } from '../projections/drive.ts';
import { type ApiWorld, apiWorld } from './support.ts';

const TRUNK = trunkSidOf('acme');

let w: ApiWorld;
afterEach(async () => {
  await w?.close();
});

/** A terminating call to B transferred to a PSTN target; the child call lasts 61 s. */
async function transferredCall() {
  const call = await w.driver.terminating({ to: US_NUMBER });
  w.driver.advance(5);
  await call.answer();
  w.driver.advance(20);
  const transfer = await call.refer(`<tel:${UK_NUMBER}>`, '<sip:agent@127.0.0.1>');
  await transfer.complete(3);
  w.driver.advance(1);
  await call.hangup('customer');
  w.driver.advance(60);
  await transfer.child().hangup('target');
  await w.sync();
  return { call, transfer };
}

describe('API: /v1/Calls', () => {
  it('a transferred call appears under ParentCallSid with its billing lines', async () => {
    w = await apiWorld();
    const { call, transfer } = await transferredCall();
    const { status, body } = await w.get(`/v1/Calls?ParentCallSid=${call.sid}`);
    expect(status).toBe(200);
    expect(body.Calls).toHaveLength(1);
    const child = body.Calls[0];
    expect(child).toMatchObject({
      ParentCallSid: call.sid,
      TransferSid: transfer.sid,
      TrunkSid: TRUNK,
      Direction: 'trunking-terminating',
      From: US_NUMBER,
      To: UK_NUMBER,
      CallerId: US_NUMBER,
      TargetKind: 'pstn',
      Status: 'completed',
      StartTime: '2025-03-14T09:00:28.000Z',
      AnswerTime: '2025-03-14T09:00:28.000Z',
      EndTime: '2025-03-14T09:01:29.000Z',
      Duration: 61,
      Price: 0.031,
      PriceUnit: 'USD',
      BillingLines: [
        { Line: 1, Kind: 'termination', Number: US_NUMBER, RatePerMinute: 0.0045, Minutes: 2, Amount: 0.009 },
        { Line: 2, Kind: 'termination', Number: UK_NUMBER, RatePerMinute: 0.011, Minutes: 2, Amount: 0.022 },
      ],
      Uri: `/v1/Calls/${child.Sid}`,
      SubresourceUris: { Events: `/v1/Calls/${child.Sid}/Events`, Replay: `/v1/Calls/${child.Sid}/Replay` },
    });
    expect(body).toMatchObject({ Page: 0, PageSize: 50, NextPageUri: null, PreviousPageUri: null });

    const parent = await w.get(`/v1/Calls/${call.sid}`);
    expect(parent.body).toMatchObject({
      Sid: call.sid,
      ParentCallSid: null,
      Status: 'completed',
      Duration: 24,
      Price: 0.0045,
      TransfersAccepted: 1,
    });
  });

  it('filters by TrunkSid, Status and start time, and pages with NextPageUri', async () => {
    w = await apiWorld();
    for (let i = 0; i < 5; i++) {
      const call = await w.driver.terminating();
      w.driver.advance(60);
      if (i % 2 === 0) await call.reject(486, 'Busy Here');
      else await call.answer();
    }
    await w.sync();
    expect((await w.get('/v1/Calls?Status=busy')).body.Calls).toHaveLength(3);
    expect((await w.get(`/v1/Calls?TrunkSid=${TRUNK}&Status=in-progress`)).body.Calls).toHaveLength(2);
    expect((await w.get('/v1/Calls?Direction=trunking-terminating')).body.Calls).toHaveLength(5);
    expect((await w.get('/v1/Calls?Direction=trunking-originating')).body.Calls).toHaveLength(0);
    const window = await w.get(
      '/v1/Calls?StartTimeAfter=2025-03-14T09:01:00Z&StartTimeBefore=2025-03-14T09:03:00Z',
    );
    expect(window.body.Calls.map((c: { StartTime: string }) => c.StartTime)).toEqual([
      '2025-03-14T09:02:00.000Z',
      '2025-03-14T09:01:00.000Z',
    ]);
    expect((await w.get('/v1/Calls?StartTimeAfter=2025-03-15')).body.Calls).toEqual([]);

    const first = await w.get('/v1/Calls?PageSize=2');
    expect(first.body.Calls).toHaveLength(2);
    expect(first.body.NextPageUri).toBe('/v1/Calls?PageSize=2&Page=1');
    const second = await w.get(first.body.NextPageUri);
    const third = await w.get(second.body.NextPageUri);
    expect(third.body.Calls).toHaveLength(1);
    expect(third.body.NextPageUri).toBeNull();
    expect(third.body.PreviousPageUri).toBe('/v1/Calls?PageSize=2&Page=1');
    const sids = [...first.body.Calls, ...second.body.Calls, ...third.body.Calls].map(
      (c: { Sid: string }) => c.Sid,
    );
    expect(new Set(sids).size).toBe(5);
  });

  it.each([
    ['/v1/Calls?Status=hung-up', 'Status', /Status must be one of ringing, in-progress/],
    ['/v1/Calls?PageSize=0', 'PageSize', /PageSize must be >= 1/],
    ['/v1/Calls?PageSize=many', 'PageSize', /PageSize must be integer/],
    ['/v1/Calls?Page=-1', 'Page', /Page must be >= 0/],
    ['/v1/Calls?ParentCallSid=CA123', 'ParentCallSid', /ParentCallSid must match pattern/],
    ['/v1/Calls?TrunkSid=acme', 'TrunkSid', /TrunkSid must match/],
    ['/v1/Calls?StartTimeAfter=yesterday', 'StartTimeAfter', /StartTimeAfter must match/],
    ['/v1/Calls?StartTimeAfter=2025-02-30T25:00:00Z', 'StartTimeAfter', /not a valid time/],
    [
      '/v1/Calls?StartTimeAfter=2025-03-15&StartTimeBefore=2025-03-14',
      'StartTimeBefore',
      /StartTimeBefore is before StartTimeAfter/,
    ],
    ['/v1/Calls?ParentCallsid=CA0123456789abcdef0123456789abcdef', 'ParentCallsid', /not a known parameter/],
    ['/v1/Calls/not-a-sid', 'Sid', /Sid must match pattern/],
    ['/v1/Calls/CA123/Events', 'Sid', /Sid must match pattern/],
  ])('400 naming the field: %s', async (url, field, message) => {
    w = await apiWorld();
    const { status, body } = await w.get(url);
    expect(status).toBe(400);
    expect(body).toEqual({ code: 'invalid-parameter', message: expect.stringMatching(message), field });
  });

  it.each(['', '/Events', '/Replay'])('404 for an unknown call sid: /v1/Calls/{sid}%s', async (suffix) => {
    w = await apiWorld();
    const sid = 'CA0123456789abcdef0123456789abcdef';
    const { status, body } = await w.get(`/v1/Calls/${sid}${suffix}`);
    expect(status).toBe(404);
    expect(body).toEqual({ code: 'not-found', message: `no call ${sid}`, field: 'Sid' });
  });

  it('Events: the raw events of the call; Replay: the steps of its session', async () => {
    w = await apiWorld();
    const { call } = await transferredCall();
    const events = await w.get(`/v1/Calls/${call.sid}/Events`);
    expect(events.status).toBe(200);
    expect(events.body.SessionSid).toBe(call.sid);
    const types = events.body.Events.map((e: { Type: string }) => e.Type);
    // Timer C (scheduled by the INVITE, canceled by the answer) and the call limit are not the point here.
    const reaperless = types.filter((t: string) => !t.startsWith('Timer'));
    expect(reaperless.slice(0, 4)).toEqual([
      'CallReceived',
      'CallAnswered',
      'ReferReceived',
      'ReferAccepted',
    ]);
    expect(types.at(-1)).toBe('CallEnded');
    expect(types).not.toContain('ChildCallStarted'); // the child call's own event
    expect(events.body.Events[0]).toMatchObject({
      Position: 2, // the trunk was seeded at position 1
      Revision: 0,
      At: '2025-03-14T09:00:00.000Z',
      Data: { callSid: call.sid, direction: 'trunking-terminating' },
      Metadata: { machineVersion: CALL_MACHINE_VERSION, stateAfter: 'ringing' },
    });

    const child = (await w.get(`/v1/Calls?ParentCallSid=${call.sid}`)).body.Calls[0].Sid;
    const childEvents = await w.get(`/v1/Calls/${child}/Events`);
    // The child call's limit (its trunk's maxCallSeconds) is scheduled at its start, canceled by the hang-up.
    expect(childEvents.body.Events.map((e: { Type: string }) => e.Type)).toEqual([
      'ChildCallStarted',
      'TimerScheduled',
      'HangupReceived',
      'CallEnded',
      'TimerCanceled',
    ]);

    const replay = await w.get(`/v1/Calls/${child}/Replay`);
    expect(replay.status).toBe(200);
    expect(replay.body.SessionSid).toBe(call.sid);
    expect(replay.body.Steps[0]).toMatchObject({
      Revision: 0,
      Type: 'CallReceived',
      Machine: `call ${call.sid}`,
      Before: 'new',
      After: 'ringing',
      Recorded: 'ringing',
    });
    expect(replay.body.Steps.find((s: { Type: string }) => s.Type === 'ReferReceived').Actions).toContain(
      'send 202 Accepted',
    );
  });
});

describe('API: /v1/Transfers', () => {
  it('one transfer, and the list filtered by call and outcome', async () => {
    w = await apiWorld();
    const { call, transfer } = await transferredCall();
    const { status, body } = await w.get(`/v1/Transfers/${transfer.sid}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      Sid: transfer.sid,
      CallSid: call.sid,
      ChildCallSid: expect.stringMatching(/^CA/),
      TrunkSid: TRUNK,
      ReferredBy: '<sip:agent@127.0.0.1>',
      ReferTo: `tel:${UK_NUMBER}`,
      TargetKind: 'pstn',
      Outcome: 'completed',
      ReferStatus: 202,
      TargetStatus: 200,
      Refer202Ms: 0,
      ReferAnswerMs: 3000,
    });
    expect((await w.get(`/v1/Transfers?CallSid=${call.sid}&Outcome=completed`)).body.Transfers).toHaveLength(
      1,
    );
    expect((await w.get('/v1/Transfers?Outcome=failed')).body.Transfers).toHaveLength(0);
    expect((await w.get('/v1/Transfers?Outcome=lost')).body.field).toBe('Outcome');
    expect((await w.get('/v1/Transfers/TR00000000000000000000000000000000')).status).toBe(404);
    expect((await w.get('/v1/Transfers/TRxyz')).body.field).toBe('Sid');
  });
});

describe('API: /v1/Billing', () => {
  it('per trunk and day, with totals, and the lines behind them', async () => {
    w = await apiWorld();
    await transferredCall();
    const { status, body } = await w.get(
      `/v1/Billing?TrunkSid=${TRUNK}&StartDate=2025-03-14&EndDate=2025-03-14`,
    );
    expect(status).toBe(200);
    expect(body).toEqual({
      TrunkSid: TRUNK,
      StartDate: '2025-03-14',
      EndDate: '2025-03-14',
      Days: [
        {
          TrunkSid: TRUNK,
          Day: '2025-03-14',
          Currency: 'USD',
          Calls: 2,
          Legs: 3,
          Minutes: 5,
          Amount: 0.0355,
        },
      ],
      Totals: [{ TrunkSid: TRUNK, Currency: 'USD', Calls: 2, Legs: 3, Minutes: 5, Amount: 0.0355 }],
      LinesUri: `/v1/Billing/Lines?TrunkSid=${TRUNK}&StartDate=2025-03-14&EndDate=2025-03-14`,
    });
    expect((await w.get('/v1/Billing?StartDate=2025-03-15')).body.Days).toEqual([]);
    const lines = await w.get(body.LinesUri);
    expect(lines.body.Lines).toHaveLength(3);
    expect(lines.body.Lines.reduce((sum: number, l: { Amount: number }) => sum + l.Amount, 0)).toBeCloseTo(
      0.0355,
    );
  });

  it.each([
    ['/v1/Billing?StartDate=14-03-2025', 'StartDate'],
    ['/v1/Billing?EndDate=2025-02-30', 'EndDate'],
    ['/v1/Billing?StartDate=2025-03-14&EndDate=2025-03-13', 'EndDate'],
    ['/v1/Billing?TrunkSid=TK1', 'TrunkSid'],
    ['/v1/Billing/Lines?CallSid=x', 'CallSid'],
  ])('400 naming the field: %s', async (url, field) => {
    w = await apiWorld();
    const { status, body } = await w.get(url);
    expect(status).toBe(400);
    expect(body.field).toBe(field);
  });
});
