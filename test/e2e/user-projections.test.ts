/**
 * Projections users write, end to end: the pivot serves with the example projections loaded from the
 * config and a status callback on the trunk; a blind transfer runs over the wire (SIPp PBX, carrier and
 * target); then the agent statistics and CDR rows are in the views database, a real HTTP receiver
 * got every callback, signed, the delivery log says so, and the live event stream (server-sent events)
 * carried the call's events as the paged feed lists them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cdrCsv } from '../../projections/examples/cdr.ts';
import { verifySignature } from '../../projections/webhooks/index.ts';
import { type RunningPivot, startPivot } from '../../src/cli/serve.ts';
import { viewsPathOf } from '../../src/config/schema.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { createTestKey } from '../helpers/apiKeys.ts';
import { freePort } from '../helpers/sipp.ts';
import { until } from '../helpers/until.ts';
import { pivotConfig } from './pivot.ts';
import { A, B, transferToSipTarget } from './sipTargetTransfer.ts';

const SECRET = 'e2e-status-callback-secret';

let running: RunningPivot | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await running?.stop();
  await cleanup?.();
  running = undefined;
});

describe('user projections and status callbacks over a real transfer', () => {
  it('agent stats, CDRs and signed callbacks for the whole call', async () => {
    const received: { json: { EventType: string; CallSid: string }; body: string; signature?: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({
          json: JSON.parse(body),
          body,
          signature: req.headers['x-pivot-signature'] as string,
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(path.join(tmpdir(), 'pivot-e2e-projections-'));
    cleanup = async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    };

    const carrierPort = await freePort();
    const dbPath = path.join(dir, 'pivot.db');
    const config = {
      ...pivotConfig(await freePort(), dbPath, { carrierPort }),
      projections: {
        modules: [
          { module: 'projections/examples/agent-stats.ts' },
          { module: 'projections/examples/cdr.ts' },
        ],
      },
      statusCallbacks: [
        {
          trunk: 'acme',
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pivot/status`,
          events: ['initiated', 'answered', 'completed', 'transfer-requested', 'transfer-completed'] as (
            | 'initiated'
            | 'answered'
            | 'completed'
            | 'transfer-requested'
            | 'transfer-completed'
          )[],
          secret: SECRET,
        },
      ],
    };
    const keyStore = createSqliteEventStore({ path: dbPath });
    const key = await createTestKey(keyStore).finally(() => keyStore.close());
    running = await startPivot(config, () => {});

    // The live event feed, open before the call: what it streams is what the store holds.
    const streamed: { id: number; type: string }[] = [];
    const feed = httpRequest(
      `${running.http.url}/v1/Events/Stream?Types=CallReceived,TransferCompleted,CallEnded`,
      {
        headers: { authorization: key.authorization, accept: 'text/event-stream' },
      },
    );
    feed.on('response', (res) => {
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        // Whole events only: one may arrive split over two chunks.
        buffer += chunk;
        const end = buffer.lastIndexOf('\n\n');
        if (end < 0) return;
        for (const match of buffer.slice(0, end).matchAll(/^id: (\d+)\nevent: (\w+)$/gm)) {
          streamed.push({ id: Number(match[1]), type: match[2]! });
        }
        buffer = buffer.slice(end + 2);
      });
    });
    feed.on('error', () => {});
    feed.end();

    await transferToSipTarget(`127.0.0.1:${config.sip.port}`, carrierPort, 'from-transferee');
    const types = () => received.map((r) => r.json.EventType);
    await until(() => types().filter((t) => t === 'completed').length === 2);

    const parent = received.find((r) => r.json.EventType === 'transfer-completed')!.json.CallSid;
    expect(received.filter((r) => r.json.CallSid === parent).map((r) => r.json.EventType)).toEqual([
      'initiated',
      'answered',
      'transfer-requested',
      'transfer-completed',
      'completed',
    ]);
    expect(received.every((r) => verifySignature(SECRET, r.body, r.signature))).toBe(true);

    const deliveries = async () => {
      const response = await fetch(`${running!.http.url}/v1/StatusCallbacks/Deliveries?State=delivered`, {
        headers: { authorization: key.authorization },
      });
      return (await response.json()) as {
        Deliveries: { Event: string; Attempts: number; LastStatus: number }[];
      };
    };
    await until(async () => (await deliveries()).Deliveries.length === received.length, 20);

    await until(() => streamed.filter((e) => e.type === 'CallEnded').length === 2);
    expect(streamed.map((e) => e.type)).toEqual([
      'CallReceived',
      'TransferCompleted',
      'CallEnded',
      'CallEnded',
    ]);
    // The paged feed agrees, position for position.
    const page = (await (
      await fetch(`${running.http.url}/v1/Events?Types=CallReceived,TransferCompleted,CallEnded`, {
        headers: { authorization: key.authorization },
      })
    ).json()) as { Events: { Position: number; Type: string }[] };
    expect(page.Events.map((e) => ({ id: e.Position, type: e.Type }))).toEqual(streamed);
    feed.destroy();
    expect((await deliveries()).Deliveries.every((d) => d.Attempts === 1 && d.LastStatus === 204)).toBe(true);

    await running.stop();
    running = undefined;
    const views = new Database(viewsPathOf(config), { readonly: true });
    try {
      expect(views.prepare('SELECT * FROM agent_transfers').all()).toEqual([
        expect.objectContaining({
          agent: 'agent',
          requested: 1,
          accepted: 1,
          completed: 1,
          to_sip: 1,
          answered: 1,
        }),
      ]);
      const csv = cdrCsv(views).trim().split('\r\n');
      expect(csv).toHaveLength(3);
      const root = csv.find((line) => line.startsWith(`${parent},`))!;
      expect(root).toMatch(
        new RegExp(`^${parent},,,TK\\w+,trunking-terminating,\\${A},\\${B},.*,completed,,1$`),
      );
      const child = csv.find((line) => line.split(',')[1] === parent)!;
      expect(child).toMatch(/,completed,,0$/);
    } finally {
      views.close();
    }
  });
});
