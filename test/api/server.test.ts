/**
 * Over a real port, as `pivot serve` / `pivot api` run it: SQLite store, views next to it, the trunk
 * registry the engine reads, projections following `$all` live. And the CLI commands on the same files.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, instrumentStore } from '../../src/api/metrics.ts';
import { type RunningReadSide, startReadSide } from '../../src/api/start.ts';
import { parseConfig } from '../../src/config/index.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { keyFrom } from '../helpers/apiKeys.ts';
import { createDriver, UK_NUMBER } from '../projections/drive.ts';

const run = promisify(execFile);
const TRUNK = trunkSidOf('acme');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function configIn(dir: string) {
  const raw = {
    sip: { host: '127.0.0.1', port: 5060, publicHost: '127.0.0.1' },
    http: { host: '127.0.0.1', port: 0 },
    store: { kind: 'sqlite', path: join(dir, 'pivot.db') },
    bus: { kind: 'inprocess' },
    carrier: { uri: 'sip:127.0.0.2:5090' },
    trunks: [
      {
        name: 'acme',
        domain: 'acme.pstn.pivot.test',
        acl: ['127.0.0.1/32'],
        originationUri: 'sip:127.0.0.1:5070',
        numbers: ['+15550100000'],
        transferMode: 'enable-all',
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045, '+44': 0.011 } },
      },
    ],
  };
  const path = join(dir, 'pivot.yaml');
  writeFileSync(path, JSON.stringify(raw)); // JSON is YAML
  return { path, config: parseConfig(raw) };
}

async function serving() {
  const dir = mkdtempSync(join(tmpdir(), 'pivot-api-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const { path, config } = configIn(dir);
  const metrics = createMetrics();
  const store = instrumentStore(
    createSqliteEventStore({ path: config.store.kind === 'sqlite' ? config.store.path : '' }),
    metrics,
  );
  cleanups.push(() => store.close());
  const side: RunningReadSide = await startReadSide({ config, store, metrics });
  cleanups.push(() => side.stop());
  const driver = createDriver({
    store,
    config,
    trunks: side.trunks.current,
    start: new Date().toISOString(),
  });
  cleanups.push(() => driver.engine.stop());
  const admin = await keyFrom(side.apiKeys, 'admin');
  const json = async (url: string, init?: RequestInit) => {
    const response = await fetch(`${side.api.url}${url}`, {
      ...init,
      headers: { authorization: admin.authorization, ...init?.headers },
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read JSON responses loosely
    return { status: response.status, body: (await response.json()) as any };
  };
  const settled = async () => side.projections.runner.waitFor(await store.headPosition());
  return { dir, path, config, store, side, driver, json, settled };
}

describe('API over a real port', () => {
  it('a transfer made through the engine shows up live, and a trunk change reaches the next REFER', async () => {
    const s = await serving();
    expect(s.side.api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await s.json('/healthz')).body.Status).toBe('ok');

    const call = await s.driver.terminating();
    s.driver.advance(2);
    await call.answer();
    s.driver.advance(10);
    const transfer = await call.refer(`<tel:${UK_NUMBER}>`);
    await transfer.complete(2);
    await call.hangup('customer');
    s.driver.advance(59);
    await transfer.child().hangup('target');
    await s.settled();

    const children = await s.json(`/v1/Calls?ParentCallSid=${call.sid}`);
    expect(children.status).toBe(200);
    expect(children.body.Calls).toHaveLength(1);
    expect(children.body.Calls[0]).toMatchObject({
      Status: 'completed',
      TargetKind: 'pstn',
      Duration: 59,
      Price: 0.0155,
      BillingLines: [
        { Kind: 'termination', Number: '+15550200000', Minutes: 1, Amount: 0.0045 },
        { Kind: 'termination', Number: UK_NUMBER, Minutes: 1, Amount: 0.011 },
      ],
    });

    const changed = await s.json(`/v1/Trunks/${TRUNK}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ TransferMode: 'disable-all', Reason: 'incident 42' }),
    });
    expect(changed).toMatchObject({ status: 200, body: { TransferMode: 'disable-all' } });
    const next = await s.driver.terminating();
    await next.answer();
    const refused = await next.refer('<sip:bob@127.0.0.1:5080>');
    await s.settled();
    expect((await s.json(`/v1/Transfers/${refused.sid}`)).body).toMatchObject({
      Outcome: 'rejected',
      ReferStatus: 403,
      RejectionReason: 'transfers are disabled on trunk acme',
    });
    const bad = await s.json('/v1/Calls?Status=nope');
    expect(bad).toEqual({ status: 400, body: expect.objectContaining({ field: 'Status' }) });
    const metrics = await fetch(`${s.side.api.url}/metrics`).then((r) => r.text());
    expect(metrics).toContain('pivot_transfers{outcome="rejected"} 1');
    expect(metrics).toContain('pivot_projection_lag_events{projection="audit"} 0');
  });

  it('pivot projections status | rebuild on the same files', async () => {
    const s = await serving();
    const call = await s.driver.terminating();
    await call.answer();
    await call.hangup('far');
    await s.settled();
    const head = await s.store.headPosition();
    const pivot = (...args: string[]) =>
      run(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts', ...args, '-c', s.path], {
        cwd: join(import.meta.dirname, '..', '..'),
      });

    const status = JSON.parse((await pivot('projections', 'status', '--json')).stdout);
    expect(status.views).toBe(join(s.dir, 'views.db'));
    expect(status.projections.map((p: { name: string; lag: number }) => [p.name, p.lag])).toEqual([
      ['callLog', 0],
      ['transfers', 0],
      ['billing', 0],
      ['audit', 0],
    ]);

    const rebuilt = await pivot('projections', 'rebuild', 'billing');
    expect(rebuilt.stdout).toMatch(
      new RegExp(`^rebuilt billing: ${head} events in [\\d.]+ s \\(\\d+ events/s\\)`),
    );
    await expect(pivot('projections', 'rebuild', 'nope')).rejects.toMatchObject({
      stderr: expect.stringContaining('no projection nope'),
    });
    // The live runner noticed the rebuild and the views still answer the same.
    await s.settled();
    expect((await s.json(`/v1/Calls/${call.sid}`)).body).toMatchObject({
      Status: 'completed',
      PriceUnit: 'USD',
    });
  }, 60_000);
});
