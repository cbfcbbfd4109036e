/**
 * /v1/Keys over a real port: an admin key manages the API's keys as `pivot keys` does, each change
 * stored in the key's stream with the acting key as `by`, and listed in the audit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningReadSide, startReadSide } from '../../src/api/start.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { basicAuthorization, keyFrom, type TestKey } from '../helpers/apiKeys.ts';
import { until } from '../helpers/until.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The fields of the API's answers these tests read. */
interface Answer {
  Sid: string;
  Secret: string;
  Role: string;
  DateRevoked: string | null;
  Keys: { Sid: string }[];
  Entries?: { Action: string; By: string | null; What: string }[];
  message: string;
  field: string;
}

async function serving() {
  const dir = mkdtempSync(join(tmpdir(), 'pivot-keys-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig({
    sip: { host: '127.0.0.1', port: 5060, publicHost: '127.0.0.1' },
    http: { host: '127.0.0.1', port: 0 },
    store: { kind: 'sqlite', path: join(dir, 'pivot.db') },
    projections: { path: join(dir, 'views.db') },
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
  });
  const store = createSqliteEventStore({ path: join(dir, 'pivot.db') });
  cleanups.push(() => store.close());
  const side: RunningReadSide = await startReadSide({ config, store, log: () => {} });
  cleanups.push(() => side.stop());
  const call = async (key: TestKey | string | undefined, method: string, url: string, body?: unknown) => {
    const authorization = typeof key === 'string' ? key : key?.authorization;
    const response = await fetch(`${side.api.url}${url}`, {
      method,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    // The shape is what the test asserts on; a wrong one fails those assertions.
    const answer: unknown = await response.json();
    return { status: response.status, headers: response.headers, body: answer as Answer };
  };
  return { store, side, call };
}

describe('/v1/Keys', () => {
  it('an admin key creates a key whose secret works at once and is shown only in that answer', async () => {
    const s = await serving();
    const admin = await keyFrom(s.side.apiKeys, 'admin');
    const created = await s.call(admin, 'POST', '/v1/Keys', { Role: 'read', Name: 'dashboard' });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body).toMatchObject({ Role: 'read', Name: 'dashboard', DateRevoked: null });
    expect(created.body.Sid).toMatch(/^SK[0-9a-f]{32}$/);
    expect(created.headers.get('location')).toBe(`/v1/Keys/${created.body.Sid}`);
    const reader = basicAuthorization(created.body.Sid, created.body.Secret);

    expect((await s.call(reader, 'GET', '/v1/Calls')).status).toBe(200);
    // A read key may neither change nor see the keys.
    expect((await s.call(reader, 'POST', '/v1/Keys', { Role: 'admin' })).status).toBe(403);
    expect((await s.call(reader, 'GET', '/v1/Keys')).status).toBe(403);

    const listed = await s.call(admin, 'GET', '/v1/Keys');
    expect(listed.body.Keys.map((k: { Sid: string }) => k.Sid).sort()).toEqual(
      [admin.sid, created.body.Sid].sort(),
    );
    expect(JSON.stringify(listed.body)).not.toContain(created.body.Secret);
    expect(JSON.stringify(await s.store.readAll())).not.toContain(created.body.Secret);

    const [stored] = await s.store.readStream(`apikey-${created.body.Sid}`);
    expect(stored).toMatchObject({
      type: 'ApiKeyCreated',
      data: { role: 'read', name: 'dashboard', by: admin.sid },
    });
  });

  it('a revoked key is refused from then on; revoking twice or the last admin key is a 409', async () => {
    const s = await serving();
    const admin = await keyFrom(s.side.apiKeys, 'admin');
    const other = await s.call(admin, 'POST', '/v1/Keys', { Role: 'admin' });
    const second = basicAuthorization(other.body.Sid, other.body.Secret);
    expect((await s.call(second, 'GET', '/v1/Keys')).status).toBe(200);

    const revoked = await s.call(admin, 'POST', `/v1/Keys/${other.body.Sid}`, { Revoked: true });
    expect(revoked.status).toBe(200);
    expect(revoked.body.DateRevoked).toEqual(expect.any(String));
    expect((await s.call(second, 'GET', '/v1/Calls')).status).toBe(401);

    const again = await s.call(admin, 'POST', `/v1/Keys/${other.body.Sid}`, { Revoked: true });
    expect(again.status).toBe(409);
    const last = await s.call(admin, 'POST', `/v1/Keys/${admin.sid}`, { Revoked: true });
    expect(last.status).toBe(409);
    expect(last.body.message).toContain('last admin key');
    expect((await s.call(admin, 'GET', '/v1/Keys')).status).toBe(200);
    const types = (await s.store.readStream(`apikey-${other.body.Sid}`)).map((e) => e.type);
    expect(types).toEqual(['ApiKeyCreated', 'ApiKeyRevoked']);
  });

  it('bad input gets a 400 naming the field, an unknown key a 404, and nothing is stored', async () => {
    const s = await serving();
    const admin = await keyFrom(s.side.apiKeys, 'admin');
    const before = (await s.store.readAll()).length;
    const role = await s.call(admin, 'POST', '/v1/Keys', { Role: 'root' });
    expect(role.status).toBe(400);
    expect(role.body.field).toBe('Role');
    const extra = await s.call(admin, 'POST', '/v1/Keys', { Role: 'read', Secret: 'mine' });
    expect(extra.status).toBe(400);
    expect(extra.body.field).toBe('Secret');
    const revoke = await s.call(admin, 'POST', `/v1/Keys/${admin.sid}`, { Revoked: false });
    expect(revoke.status).toBe(400);
    expect(revoke.body.field).toBe('Revoked');
    const unknown = await s.call(admin, 'POST', `/v1/Keys/SK${'0'.repeat(32)}`, { Revoked: true });
    expect(unknown.status).toBe(404);
    expect((await s.store.readAll()).length).toBe(before);
  });

  it('the audit lists who created and revoked which key, never a secret', async () => {
    const s = await serving();
    const admin = await keyFrom(s.side.apiKeys, 'admin');
    const created = await s.call(admin, 'POST', '/v1/Keys', { Role: 'read', Name: 'billing export' });
    await s.call(admin, 'POST', `/v1/Keys/${created.body.Sid}`, { Revoked: true });
    let entries: { Action: string; By: string | null; What: string }[] = [];
    await until(async () => {
      const page = await s.call(admin, 'GET', '/v1/Audit?Kind=key');
      entries = page.body.Entries ?? [];
      return entries.length === 3;
    });
    expect(entries.map((e) => [e.Action, e.By])).toEqual([
      ['ApiKeyRevoked', admin.sid],
      ['ApiKeyCreated', admin.sid],
      ['ApiKeyCreated', null],
    ]);
    expect(entries[1]!.What).toBe(`API key ${created.body.Sid} created, role read (billing export)`);
    expect(JSON.stringify(entries)).not.toContain(created.body.Secret);
  });
});
