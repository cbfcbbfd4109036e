/**
 * Status callbacks: given a trunk's calls and transfers, then signed POSTs to its URL, retried with
 * back-off, logged, and not sent again when the projection is rebuilt. A real HTTP receiver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openViews, projectionsFor } from '../../../projections/index.ts';
import { createProjectionRunner } from '../../../projections/runner.ts';
import {
  createWebhookDispatcher,
  statusCallbacksOf,
  verifySignature,
  type WebhookDispatcher,
} from '../../../projections/webhooks/index.ts';
import { STATUS_CALLBACK_EVENTS } from '../../../src/config/schema.ts';
import { until } from '../../helpers/until.ts';
import { billingConfig, UK_NUMBER, US_NUMBER } from '../drive.ts';
import { type World, world } from '../support.ts';

const SECRET = 'a-secret-of-sixteen-chars';

interface Received {
  body: string;
  json: { EventType: string; CallSid: string; SequenceNumber: number; [key: string]: unknown };
  signature: string | undefined;
  event: string | undefined;
}

/** A node:http receiver; `respond` picks each request's status (200 unless it says otherwise). */
async function receiver(respond: (json: Received['json'], nth: number) => number = () => 200) {
  const received: Received[] = [];
  const seen = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const json = JSON.parse(body);
      const key = `${json.SequenceNumber}:${json.EventType}`;
      const nth = (seen.get(key) ?? 0) + 1;
      seen.set(key, nth);
      const status = respond(json, nth);
      if (status < 300) {
        received.push({
          body,
          json,
          signature: req.headers['x-pivot-signature'] as string | undefined,
          event: req.headers['x-pivot-event'] as string | undefined,
        });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let w: World | undefined;
let dispatcher: WebhookDispatcher | undefined;
let closeReceiver: (() => Promise<void>) | undefined;
afterEach(async () => {
  await dispatcher?.stop();
  await closeReceiver?.();
  await w?.close();
  dispatcher = undefined;
  w = undefined;
});

async function setUp(url: string, dispatch: { maxAttempts?: number } = {}) {
  const config = {
    ...billingConfig(),
    statusCallbacks: [{ trunk: 'acme', url, events: [...STATUS_CALLBACK_EVENTS], secret: SECRET }],
  };
  w = await world({ config });
  const callbacks = statusCallbacksOf(config)!;
  const db = openViews(':memory:');
  const runner = createProjectionRunner({
    store: w.store,
    db,
    projections: projectionsFor(config),
    onCommit: () => dispatcher?.kick(),
  });
  dispatcher = createWebhookDispatcher({
    db,
    targetOf: callbacks.targetOf,
    firstRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    // The world's calls happened in 2025; the default would expire them as history.
    maxAgeMs: 3650 * 24 * 3_600_000,
    ...dispatch,
  });
  dispatcher.start();
  const deliveries = () =>
    db.prepare('SELECT * FROM webhook_deliveries ORDER BY position, event').all() as {
      event: string;
      state: string;
      attempts: number;
      last_status: number | null;
    }[];
  const settled = () => deliveries().length > 0 && deliveries().every((d) => d.state !== 'pending');
  return { db, runner, deliveries, settled };
}

/** A terminating call that rings, is answered and transferred to a PSTN target; both calls end. */
async function transferredCall() {
  const call = await w!.driver.terminating({ to: US_NUMBER });
  await call.progress(180);
  w!.driver.advance(5);
  await call.answer();
  w!.driver.advance(20);
  const transfer = await call.refer(`<tel:${UK_NUMBER}>`, '<sip:2001@127.0.0.1>');
  await transfer.complete(3);
  await call.hangup('customer');
  w!.driver.advance(60);
  await transfer.child().hangup('target');
  return { call, transfer };
}

describe('status callbacks (webhooks projection + dispatcher)', () => {
  it('POSTs each call and transfer step, signed with the trunk secret, once, in order', async () => {
    const http = await receiver();
    closeReceiver = http.close;
    const { runner, settled } = await setUp(http.url);
    const { call, transfer } = await transferredCall();
    await runner.catchUp();
    await until(settled);

    const sorted = [...http.received].sort((a, b) => a.json.SequenceNumber - b.json.SequenceNumber);
    const parent = sorted.filter((r) => r.json.CallSid === call.sid).map((r) => r.json.EventType);
    expect(parent).toEqual([
      'initiated',
      'ringing',
      'answered',
      'transfer-requested',
      'transfer-completed',
      'completed',
    ]);
    const child = sorted.filter((r) => r.json.CallSid !== call.sid);
    expect(child.map((r) => r.json.EventType)).toEqual(['initiated', 'completed']);
    expect(child[0]!.json).toMatchObject({
      ParentCallSid: call.sid,
      TransferSid: transfer.sid,
      To: UK_NUMBER,
    });
    expect(sorted.find((r) => r.json.EventType === 'transfer-requested')!.json).toMatchObject({
      TransferSid: transfer.sid,
      ReferTo: `<tel:${UK_NUMBER}>`,
      ReferredBy: '<sip:2001@127.0.0.1>',
    });
    for (const r of sorted) {
      expect(r.event).toBe(r.json.EventType);
      expect(verifySignature(SECRET, r.body, r.signature)).toBe(true);
      expect(verifySignature('another-secret-entirely', r.body, r.signature)).toBe(false);
      expect(verifySignature(SECRET, r.body.replace('}', ',"x":1}'), r.signature)).toBe(false);
    }
  });

  it('retries with back-off until a 2xx, gives up after maxAttempts, and logs every delivery', async () => {
    // `answered` fails twice then succeeds; `completed` of the parent always fails.
    const http = await receiver((json, nth) =>
      json.EventType === 'answered' && nth <= 2
        ? 503
        : json.EventType === 'completed' && !json.ParentCallSid
          ? 500
          : 200,
    );
    closeReceiver = http.close;
    const { runner, settled, deliveries } = await setUp(http.url, { maxAttempts: 4 });
    await transferredCall();
    await runner.catchUp();
    await until(settled);
    const byEvent = (event: string) => deliveries().filter((d) => d.event === event);
    expect(byEvent('answered')).toEqual([
      expect.objectContaining({ state: 'delivered', attempts: 3, last_status: 200 }),
    ]);
    expect(
      byEvent('completed').map(({ state, attempts, last_status }) => ({ state, attempts, last_status })),
    ).toEqual(
      expect.arrayContaining([
        { state: 'failed', attempts: 4, last_status: 500 },
        { state: 'delivered', attempts: 1, last_status: 200 },
      ]),
    );
  });

  it('a rebuild of the webhooks projection sends nothing again', async () => {
    const http = await receiver();
    closeReceiver = http.close;
    const { runner, settled, db } = await setUp(http.url);
    await transferredCall();
    await runner.catchUp();
    await until(settled);
    const sent = http.received.length;
    expect(sent).toBe(8);
    await runner.rebuild(['webhooks']);
    dispatcher!.kick();
    // The outbox was refilled by the rebuild and drained into the log, which knew every row.
    await until(
      () => (db.prepare('SELECT count(*) AS n FROM webhook_outbox').get() as { n: number }).n === 0,
    );
    expect(http.received.length).toBe(sent);
  });
});
