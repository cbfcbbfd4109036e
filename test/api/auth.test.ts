/**
 * Who may call the API, over a real port as `pivot serve` / `pivot api` run it: keys in the same SQLite
 * store as the trunks, made and revoked by the `pivot keys` command in another process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningReadSide, startReadSide } from '../../src/api/start.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { LogLevel } from '../../src/log.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import type { EventStore } from '../../src/store/port.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { basicAuthorization, keyFrom, type TestKey } from '../helpers/apiKeys.ts';

const run = promisify(execFile);
const TRUNK = trunkSidOf('acme');
const ROOT = join(import.meta.dirname, '..', '..');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Served {
  path: string;
  store: EventStore;
  side: RunningReadSide;
  logged: { level: LogLevel; message: string }[];
  request(
    method: string,
    url: string,
    options?: { authorization?: string; body?: string; contentType?: string },
  ): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>;
  /** The trunk's stream as stored: what a refused write must leave alone. */
  trunkStream(): Promise<string[]>;
}

async function serving(http: Record<string, unknown> = {}): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'pivot-auth-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const raw = {
    sip: { host: '127.0.0.1', port: 5060, publicHost: '127.0.0.1' },
    http: { host: '127.0.0.1', port: 0, ...http },
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
        transferMode: 'sip-only',
        rates: { currency: 'USD', origination: { '': 0.0034 }, termination: { '': 0.0045 } },
      },
    ],
  };
  const path = join(dir, 'pivot.yaml');
  writeFileSync(path, JSON.stringify(raw));
  const config = parseConfig(raw);
  const store = createSqliteEventStore({ path: join(dir, 'pivot.db') });
  cleanups.push(() => store.close());
  const logged: Served['logged'] = [];
  const side = await startReadSide({
    config,
    store,
    log: (level, message) => logged.push({ level, message }),
  });
  cleanups.push(() => side.stop());
  return {
    path,
    store,
    side,
    logged,
    async request(method, url, options = {}) {
      const headers: Record<string, string> = {};
      if (options.authorization) headers.authorization = options.authorization;
      if (options.contentType) headers['content-type'] = options.contentType;
      const response = await fetch(`${side.api.url}${url}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: options.body } : {}),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : { text },
      };
    },
    async trunkStream() {
      return (await store.readStream(`trunk-${TRUNK}`)).map((e) => `${e.revision} ${e.type}`);
    },
  };
}

const pivot = (configPath: string, ...args: string[]) =>
  run(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts', ...args, '-c', configPath], {
    cwd: ROOT,
  });

const enableAll = JSON.stringify({ TransferMode: 'enable-all', Acl: ['0.0.0.0/0'] });
const json = 'application/json';

describe('API keys over a real port', () => {
  it('anonymous or wrong credentials: 401 with a Basic challenge, and the trunk is left alone', async () => {
    const s = await serving();
    const before = await s.trunkStream();
    expect(before).toEqual(['0 TrunkCreated']);
    const admin = await keyFrom(s.side.apiKeys, 'admin');

    const attempts = [
      undefined,
      basicAuthorization(admin.sid, 'not-the-secret'),
      basicAuthorization(`SK${'0'.repeat(32)}`, admin.secret),
      basicAuthorization('admin', 'admin'),
      `Bearer ${admin.secret}`,
    ];
    for (const authorization of attempts) {
      const write = await s.request('POST', `/v1/Trunks/${TRUNK}`, {
        ...(authorization ? { authorization } : {}),
        body: enableAll,
        contentType: json,
      });
      expect(write.status).toBe(401);
      expect(write.headers.get('www-authenticate')).toBe('Basic realm="sip-pivot"');
      expect(write.body).toEqual({
        code: 'unauthorized',
        message: expect.any(String),
        field: 'Authorization',
      });
      const create = await s.request('POST', '/v1/Trunks', {
        ...(authorization ? { authorization } : {}),
        body: JSON.stringify({ Name: 'evil' }),
        contentType: json,
      });
      expect(create.status).toBe(401);
      expect((await s.request('GET', '/v1/Calls', authorization ? { authorization } : {})).status).toBe(401);
    }
    // A form post, the CSRF shape, is refused before anything reads it.
    const form = await s.request('POST', `/v1/Trunks/${TRUNK}`, {
      body: 'TransferMode=enable-all&Acl=0.0.0.0%2F0',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(401);

    expect(await s.trunkStream()).toEqual(before);
    expect(s.side.trunks.get(TRUNK)?.config).toMatchObject({
      transferMode: 'sip-only',
      acl: ['127.0.0.1/32'],
    });
  });

  it('/healthz and /openapi.json are open; the document declares HTTP Basic', async () => {
    const s = await serving();
    expect((await s.request('GET', '/healthz')).status).toBe(200);
    expect((await s.request('GET', '/metrics')).status).toBe(200);
    const { status, body } = await s.request('GET', '/openapi.json');
    expect(status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: the document is read loosely
    const doc = body as any;
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(doc.security).toEqual([{ apiKey: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/v1/Trunks/{Sid}'].post.responses).toHaveProperty('401');
    expect(doc.paths['/v1/Trunks/{Sid}'].post.responses).toHaveProperty('403');
    expect(doc.paths['/v1/Trunks/{Sid}'].post.responses).toHaveProperty('415');
    expect(Object.keys(doc.paths['/v1/Trunks/{Sid}'].post.requestBody.content)).toEqual([json]);
    expect(doc.paths['/v1/Calls'].get.responses).toHaveProperty('401');
    expect(doc.paths['/v1/Calls'].get.responses).not.toHaveProperty('403');
  });

  it('a read key reads everything and changes nothing (403)', async () => {
    const s = await serving();
    const read = await keyFrom(s.side.apiKeys, 'read');
    for (const url of [
      '/v1/Trunks',
      `/v1/Trunks/${TRUNK}`,
      '/v1/Calls',
      '/v1/Transfers',
      '/v1/Billing',
      '/v1/Billing/Lines',
      '/v1/Audit',
    ]) {
      expect([url, (await s.request('GET', url, { authorization: read.authorization })).status]).toEqual([
        url,
        200,
      ]);
    }
    for (const [method, url] of [
      ['POST', `/v1/Trunks/${TRUNK}`],
      ['PATCH', `/v1/Trunks/${TRUNK}`],
      ['POST', '/v1/Trunks'],
    ] as const) {
      const refused = await s.request(method, url, {
        authorization: read.authorization,
        body: enableAll,
        contentType: json,
      });
      expect(refused).toMatchObject({
        status: 403,
        body: { code: 'forbidden', message: `API key ${read.sid} (role read) may only read`, field: null },
      });
    }
    expect(await s.trunkStream()).toEqual(['0 TrunkCreated']);
  });

  it('an admin key changes a trunk; the audit names the key, keeps the reason; a form body is a 415', async () => {
    const s = await serving();
    const admin: TestKey = await keyFrom(s.side.apiKeys, 'admin');
    for (const contentType of [
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
    ]) {
      const refused = await s.request('POST', `/v1/Trunks/${TRUNK}`, {
        authorization: admin.authorization,
        body: contentType.startsWith('application/x-www') ? 'TransferMode=enable-all' : enableAll,
        contentType,
      });
      expect(refused).toMatchObject({
        status: 415,
        body: {
          code: 'unsupported-media-type',
          message: `Content-Type ${contentType.split(';')[0]} is not accepted: send application/json`,
          field: 'Content-Type',
        },
      });
    }
    expect(await s.trunkStream()).toEqual(['0 TrunkCreated']);

    const changed = await s.request('POST', `/v1/Trunks/${TRUNK}`, {
      authorization: admin.authorization,
      body: JSON.stringify({ TransferMode: 'enable-all', Reason: 'customer asked' }),
      contentType: 'application/json; charset=utf-8',
    });
    expect(changed).toMatchObject({ status: 200, body: { TransferMode: 'enable-all', Revision: 1 } });
    const stored = await s.store.readStream(`trunk-${TRUNK}`);
    expect(stored[1]).toMatchObject({
      type: 'TrunkTransferModeChanged',
      data: { transferMode: 'enable-all', reason: 'customer asked', by: admin.sid },
    });

    const claimed = await s.request('POST', `/v1/Trunks/${TRUNK}`, {
      authorization: admin.authorization,
      body: JSON.stringify({ TransferMode: 'disable-all', By: 'someone-else' }),
      contentType: json,
    });
    expect(claimed).toMatchObject({ status: 400, body: { field: 'By' } });

    await s.side.projections.runner.waitFor(await s.store.headPosition());
    const audit = await s.request('GET', '/v1/Audit?Kind=trunk', { authorization: admin.authorization });
    expect((audit.body.Entries as unknown[])[0]).toMatchObject({
      Action: 'TrunkTransferModeChanged',
      Why: 'customer asked',
      By: admin.sid,
    });
  });

  it('pivot keys create | list | revoke in another process: the API takes the key, then refuses it', async () => {
    const s = await serving();
    expect(s.logged.filter((l) => l.message.includes('pivot keys create'))).toHaveLength(1);

    const created = JSON.parse(
      (await pivot(s.path, 'keys', 'create', '--role', 'read', '--name', 'grafana', '--json')).stdout,
    );
    expect(created).toMatchObject({
      sid: expect.stringMatching(/^SK[0-9a-f]{32}$/),
      role: 'read',
      name: 'grafana',
    });
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const authorization = basicAuthorization(created.sid, created.secret);
    // The API process learns of the key from the store ($all), not from the command.
    await expect
      .poll(async () => (await s.request('GET', '/v1/Trunks', { authorization })).status, { timeout: 10_000 })
      .toBe(200);
    const stored = await s.store.readStream(`apikey-${created.sid}`);
    expect(stored.map((e) => e.type)).toEqual(['ApiKeyCreated']);
    expect(JSON.stringify(stored[0]!.data)).not.toContain(created.secret);
    expect(stored[0]!.data).toMatchObject({ role: 'read', secretHash: { algorithm: 'scrypt' } });

    const listed = JSON.parse((await pivot(s.path, 'keys', 'list', '--json')).stdout);
    expect(listed).toEqual([
      { sid: created.sid, role: 'read', name: 'grafana', createdAt: created.createdAt, revokedAt: null },
    ]);
    expect(JSON.stringify(listed)).not.toContain('secretHash');

    expect((await pivot(s.path, 'keys', 'revoke', created.sid)).stdout).toMatch(
      new RegExp(`^revoked ${created.sid} at `),
    );
    await expect
      .poll(async () => (await s.request('GET', '/v1/Trunks', { authorization })).status, { timeout: 10_000 })
      .toBe(401);
    await expect(pivot(s.path, 'keys', 'revoke', created.sid)).rejects.toMatchObject({
      stderr: expect.stringContaining('was revoked at'),
    });
    await expect(pivot(s.path, 'keys', 'create', '--role', 'root')).rejects.toMatchObject({
      stderr: expect.stringContaining('expected admin or read'),
    });
  }, 60_000);

  it('a key revoked in this process is refused on the next request, though its secret was cached', async () => {
    const s = await serving();
    const admin = await keyFrom(s.side.apiKeys, 'admin');
    expect((await s.request('GET', '/v1/Calls', { authorization: admin.authorization })).status).toBe(200);
    expect((await s.request('GET', '/v1/Calls', { authorization: admin.authorization })).status).toBe(200);
    // A cached sid does not let another secret through.
    const wrong = basicAuthorization(admin.sid, `${admin.secret}x`);
    expect((await s.request('GET', '/v1/Calls', { authorization: wrong })).status).toBe(401);
    await s.side.apiKeys.revoke(admin.sid);
    expect((await s.request('GET', '/v1/Calls', { authorization: admin.authorization })).status).toBe(401);
  });

  it.each([
    ['Page', '1e300'],
    ['Page', '-1'],
    ['Page', '1.5'],
    ['Page', '1000001'],
    ['Page', '99999999999999999999999'],
    ['Page', ''],
    ['PageSize', '1e3'],
    ['PageSize', '-5'],
    ['PageSize', '0.5'],
    ['PageSize', '1001'],
  ])('%s=%s: 400 naming it, on every paged list', async (name, value) => {
    const s = await serving();
    const read = await keyFrom(s.side.apiKeys, 'read');
    for (const path of ['/v1/Calls', '/v1/Transfers', '/v1/Audit', '/v1/Billing/Lines']) {
      const { status, body } = await s.request('GET', `${path}?${name}=${encodeURIComponent(value)}`, {
        authorization: read.authorization,
      });
      expect([path, status, body.code, body.field]).toEqual([path, 400, 'invalid-parameter', name]);
    }
    const fine = await s.request('GET', '/v1/Calls?Page=1000000&PageSize=1000', {
      authorization: read.authorization,
    });
    expect(fine).toMatchObject({ status: 200, body: { Calls: [], Page: 1000000, PageSize: 1000 } });
  });

  it('http.metricsToken puts /metrics behind a bearer token', async () => {
    const token = 'm3tr1cs-t0ken-for-prometheus';
    const s = await serving({ metricsToken: token });
    const anonymous = await s.request('GET', '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="sip-pivot"');
    expect((await s.request('GET', '/metrics', { authorization: `Bearer ${token}x` })).status).toBe(401);
    const scraped = await s.request('GET', '/metrics', { authorization: `Bearer ${token}` });
    expect(scraped.status).toBe(200);
    expect(scraped.body.text).toContain('pivot_projection_lag_events');
    expect((await s.request('GET', '/healthz')).status).toBe(200);
  });
});
