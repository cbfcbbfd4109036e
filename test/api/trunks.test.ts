import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { startTrunkRegistry } from '../../src/trunks/registry.ts';
import { billingConfig, UK_NUMBER } from '../projections/drive.ts';
import { type ApiWorld, apiWorld } from './support.ts';

const TRUNK = trunkSidOf('acme');

let w: ApiWorld | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await w?.close();
  w = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const newTrunk = {
  Name: 'globex',
  Domain: 'globex.pstn.pivot.test',
  Acl: ['192.0.2.0/24'],
  OriginationUri: 'sip:192.0.2.10:5060',
  Numbers: ['+15550300000'],
  TransferMode: 'sip-only',
  Rates: { Currency: 'EUR', Origination: { '': 0.002 }, Termination: { '': 0.004, '+49': 0.006 } },
  Reason: 'new customer',
};

describe('API: /v1/Trunks', () => {
  it('lists the trunks seeded from the config, and gets one', async () => {
    w = await apiWorld();
    const { status, body } = await w.get('/v1/Trunks');
    expect(status).toBe(200);
    expect(body.Trunks).toEqual([
      {
        Sid: TRUNK,
        Name: 'acme',
        Domain: 'acme.pstn.pivot.test',
        Acl: ['127.0.0.1/32'],
        OriginationUri: 'sip:127.0.0.1:5070',
        Numbers: ['+15550100000'],
        TransferMode: 'enable-all',
        TransferCallerId: 'from-transferee',
        MaxTransfersPerCall: 5,
        CpsLimit: null,
        TlsClient: null,
        Rates: {
          Currency: 'USD',
          Origination: { '': 0.0034, '+1312': 0.005 },
          Termination: { '': 0.0045, '+44': 0.011 },
        },
        Source: 'config',
        Revision: 0,
        DateCreated: '2025-03-14T08:00:00.000Z',
        DateUpdated: '2025-03-14T08:00:00.000Z',
        Uri: `/v1/Trunks/${TRUNK}`,
      },
    ]);
    expect((await w.get(`/v1/Trunks/${TRUNK}`)).body.Name).toBe('acme');
    expect((await w.get(`/v1/Trunks/TK${'0'.repeat(32)}`)).status).toBe(404);
  });

  it('creates a trunk (201, Location), audited with reason and author; a second create is a 409', async () => {
    w = await apiWorld();
    const created = await w.app.inject({
      method: 'POST',
      url: '/v1/Trunks',
      headers: w.headers,
      payload: newTrunk,
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({
      Sid: trunkSidOf('globex'),
      Name: 'globex',
      TransferMode: 'sip-only',
      TransferCallerId: 'from-transferee',
      MaxTransfersPerCall: 5,
      Source: 'api',
    });
    expect(created.headers.location).toBe(`/v1/Trunks/${trunkSidOf('globex')}`);
    expect((await w.get('/v1/Trunks')).body.Trunks.map((t: { Name: string }) => t.Name)).toEqual([
      'acme',
      'globex',
    ]);
    const directory = w.trunks.current();
    const globex = directory.byDomain(newTrunk.Domain);
    expect(globex?.name).toBe('globex');
    expect(directory.admits(globex!, '192.0.2.7')).toBe(true);

    const again = await w.send('POST', '/v1/Trunks', newTrunk);
    expect(again).toEqual({
      status: 409,
      body: { code: 'conflict', message: 'trunk globex already exists', field: 'Name' },
    });
    const sameDomain = await w.send('POST', '/v1/Trunks', {
      ...newTrunk,
      Name: 'other',
      Domain: 'ACME.pstn.pivot.test',
    });
    expect(sameDomain.status).toBe(409);
    expect(sameDomain.body.field).toBe('Domain');

    await w.sync();
    const audit = await w.get(`/v1/Audit?TrunkSid=${trunkSidOf('globex')}`);
    expect(audit.body.Entries).toEqual([
      expect.objectContaining({
        Kind: 'trunk',
        Action: 'TrunkCreated',
        What: 'trunk globex created (transferMode sip-only, transferCallerId from-transferee)',
        Why: 'new customer',
        By: w.admin.sid,
      }),
    ]);
  });

  it.each([
    [{ ...newTrunk, Name: undefined }, 'Name', 'Name is required'],
    [{ ...newTrunk, Domain: 'not a domain' }, 'Domain', 'Domain: expected a domain name'],
    [
      { ...newTrunk, Acl: ['192.0.2.0/24', '10.0.0.0/33'] },
      'Acl[1]',
      'Acl[1]: expected an IPv4 or IPv6 CIDR',
    ],
    [{ ...newTrunk, Acl: [] }, 'Acl', 'Acl: expected at least one CIDR'],
    [{ ...newTrunk, Numbers: ['5550300000'] }, 'Numbers[0]', 'Numbers[0]: expected an E.164 number'],
    [{ ...newTrunk, TransferMode: 'sometimes' }, 'TransferMode', 'TransferMode must be one of'],
    [{ ...newTrunk, OriginationUri: 'http://x' }, 'OriginationUri', 'OriginationUri: expected a sip:'],
    [
      { ...newTrunk, Rates: { ...newTrunk.Rates, Termination: { '+49': 0.006 } } },
      'Rates.Termination',
      'default rate',
    ],
    [{ ...newTrunk, Rates: { ...newTrunk.Rates, Currency: 'euro' } }, 'Rates.Currency', 'ISO 4217'],
    [
      { ...newTrunk, Rates: { ...newTrunk.Rates, Origination: { '': -1 } } },
      'Rates.Origination.',
      'must be >= 0',
    ],
    [{ ...newTrunk, Colour: 'blue' }, 'Colour', 'Colour is not a known parameter'],
    // Who made a change is the key that authenticated it, not what the body claims.
    [{ ...newTrunk, By: 'sales@pivot' }, 'By', 'By is not a known parameter'],
    [
      { ...newTrunk, MaxTransfersPerCall: 0 },
      'MaxTransfersPerCall',
      'MaxTransfersPerCall: expected a whole number >= 1',
    ],
  ])('create: 400 naming the field (%#)', async (payload, field, message) => {
    w = await apiWorld();
    const { status, body } = await w.send('POST', '/v1/Trunks', payload);
    expect(status).toBe(400);
    expect(body.field).toBe(field);
    expect(body.message).toContain(message);
  });

  it('update: 400 naming the field, 404 for an unknown trunk, and a no-op writes nothing', async () => {
    w = await apiWorld();
    expect((await w.send('POST', `/v1/Trunks/${TRUNK}`, { TransferMode: 'all' })).body.field).toBe(
      'TransferMode',
    );
    expect((await w.send('POST', `/v1/Trunks/${TRUNK}`, { Domain: 'x.test' })).body.field).toBe('Domain');
    expect((await w.send('POST', `/v1/Trunks/${TRUNK}`, { Acl: ['nope'] })).body).toMatchObject({
      code: 'invalid-parameter',
      field: 'Acl[0]',
    });
    expect((await w.send('POST', `/v1/Trunks/${TRUNK}`, {})).status).toBe(400);
    expect((await w.send('POST', '/v1/Trunks/TKbad', { TransferMode: 'sip-only' })).body.field).toBe('Sid');
    expect(
      (await w.send('POST', `/v1/Trunks/TK${'1'.repeat(32)}`, { TransferMode: 'sip-only' })).status,
    ).toBe(404);
    const before = await w.store.headPosition();
    const same = await w.send('PATCH', `/v1/Trunks/${TRUNK}`, { TransferMode: 'enable-all' });
    expect(same).toMatchObject({ status: 200, body: { Revision: 0 } });
    expect(await w.store.headPosition()).toBe(before);
  });

  it('a TransferMode change applies to the next REFER without a restart, audited with the key that made it', async () => {
    w = await apiWorld();
    const call = await w.driver.terminating();
    await call.answer();
    const first = await call.refer(`<tel:${UK_NUMBER}>`);
    expect(first.outcome.kind).toBe('stored');
    await first.held();
    await first.targetFailed(486, 'Busy Here');

    const response = await w.app.inject({
      method: 'POST',
      url: `/v1/Trunks/${TRUNK}`,
      headers: { ...w.headers, 'content-type': 'application/json' },
      payload: { TransferMode: 'sip-only', TransferCallerId: 'from-transferor', Reason: 'fraud spike' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      TransferMode: 'sip-only',
      TransferCallerId: 'from-transferor',
      Revision: 2,
    });

    const second = await call.refer(`<tel:${UK_NUMBER}>`);
    await w.sync();
    expect((await w.get(`/v1/Transfers/${second.sid}`)).body).toMatchObject({
      Outcome: 'rejected',
      ReferStatus: 403,
      TransferMode: 'sip-only',
      RejectionReason: 'PSTN targets are not allowed on trunk acme (sip-only)',
    });
    const third = await call.refer('<sip:bob@127.0.0.1:5080>');
    const invite = await third.held();
    expect(invite.from.uri).toBe('sip:+15550100000@127.0.0.1'); // from-transferor: the PBX's number
    await w.sync();
    const audit = await w.get('/v1/Audit?Kind=trunk');
    expect(
      audit.body.Entries.map((e: { What: string; Why: string; By: string }) => [e.What, e.Why, e.By]),
    ).toEqual([
      ['trunk acme: transferCallerId from-transferee -> from-transferor', 'fraud spike', w.admin.sid],
      ['trunk acme: transferMode enable-all -> sip-only', 'fraud spike', w.admin.sid],
      [
        'trunk acme created (transferMode enable-all, transferCallerId from-transferee)',
        'seeded from the configuration file',
        null,
      ],
    ]);
  });
});

describe("API: a trunk's MaxTransfersPerCall", () => {
  it('a change applies to the next REFER, is refused below 1 naming the field, and lands in the audit', async () => {
    w = await apiWorld();
    const below = await w.send('POST', `/v1/Trunks/${TRUNK}`, { MaxTransfersPerCall: 0 });
    expect(below).toMatchObject({ status: 400, body: { field: 'MaxTransfersPerCall' } });
    const changed = await w.send('POST', `/v1/Trunks/${TRUNK}`, {
      MaxTransfersPerCall: 1,
      Reason: 'one is enough',
    });
    expect(changed).toMatchObject({ status: 200, body: { MaxTransfersPerCall: 1, Revision: 1 } });

    const call = await w.driver.terminating();
    await call.answer();
    const first = await call.refer(`<tel:${UK_NUMBER}>`);
    await first.held();
    await first.targetFailed(486, 'Busy Here');
    const second = await call.refer(`<tel:${UK_NUMBER}>`);
    await w.sync();
    expect((await w.get(`/v1/Transfers/${second.sid}`)).body).toMatchObject({
      Outcome: 'rejected',
      ReferStatus: 403,
      RejectionReason: 'maxTransfersPerCall (1) reached',
    });
    const audit = await w.get('/v1/Audit?Kind=trunk');
    expect(audit.body.Entries[0]).toMatchObject({
      Action: 'TrunkTransferLimitChanged',
      What: 'trunk acme: maxTransfersPerCall 5 -> 1',
      Why: 'one is enough',
      By: w.admin.sid,
    });
  });
});

describe("API: a trunk's CpsLimit", () => {
  it('is set and removed through the API, audited, and the next new call is held to it', async () => {
    w = await apiWorld();
    expect((await w.get(`/v1/Trunks/${TRUNK}`)).body.CpsLimit).toBeNull();
    expect((await w.send('POST', `/v1/Trunks/${TRUNK}`, { CpsLimit: 0 })).body.field).toBe('CpsLimit');
    expect((await w.send('POST', `/v1/Trunks/${TRUNK}`, { CpsLimit: 'fast' })).body.field).toBe('CpsLimit');

    const set = await w.send('PATCH', `/v1/Trunks/${TRUNK}`, { CpsLimit: 1, Reason: 'contract: 1 cps' });
    expect(set).toMatchObject({ status: 200, body: { CpsLimit: 1, Revision: 1 } });
    // The driver's clock stands still: the first call takes the second's only token, the next is refused.
    await w.driver.terminating();
    await w.driver.terminating();
    const overLimit = () =>
      w!.driver.sent.filter(
        (c) => c.kind === 'response' && c.status === 503 && c.reason === 'Service Unavailable',
      );
    expect(overLimit()).toHaveLength(1);
    const calls = async () => (await w!.store.readAll()).filter((e) => e.type === 'CallReceived').length;
    expect(await calls()).toBe(1);

    const cleared = await w.send('POST', `/v1/Trunks/${TRUNK}`, { CpsLimit: null });
    expect(cleared).toMatchObject({ status: 200, body: { CpsLimit: null, Revision: 2 } });
    await w.driver.terminating();
    expect(await calls()).toBe(2);
    expect(overLimit()).toHaveLength(1);

    await w.sync();
    const audit = await w.get('/v1/Audit?Kind=trunk');
    const entries = audit.body.Entries.map((e: { What: string; Why: string; By: string }) => [
      e.What,
      e.Why,
      e.By,
    ]);
    expect(entries.slice(0, 2)).toEqual([
      ['trunk acme: cpsLimit 1 -> none', 'no reason given', w.admin.sid],
      ['trunk acme: cpsLimit none -> 1', 'contract: 1 cps', w.admin.sid],
    ]);
  });
});

describe('trunk registry', () => {
  it('seeds once across restarts and sees another process change a trunk through $all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pivot-trunks-'));
    dirs.push(dir);
    const path = join(dir, 'events.db');
    const config = billingConfig();
    const storeA = createSqliteEventStore({ path, pollIntervalMs: 10 });
    const storeB = createSqliteEventStore({ path, pollIntervalMs: 10 });
    const [a, b] = await Promise.all([
      startTrunkRegistry({ store: storeA, config }),
      startTrunkRegistry({ store: storeB, config }),
    ]);
    expect(await storeA.headPosition()).toBe(1); // seeded once, although both started together

    await b.update(TRUNK, { transferMode: 'disable-all' }, { reason: 'maintenance' });
    await expect
      .poll(() => a.current().trunks.find((t) => t.name === 'acme')?.transferMode, { timeout: 2000 })
      .toBe('disable-all');
    expect(a.get(TRUNK)?.revision).toBe(1);

    await a.stop();
    await b.stop();
    const restarted = await startTrunkRegistry({ store: storeA, config, follow: false });
    expect(restarted.get(TRUNK)?.config.transferMode).toBe('disable-all');
    expect(await storeA.headPosition()).toBe(2);
    await restarted.stop();
    await storeA.close();
    await storeB.close();
  });
});

describe("API: a trunk's TlsClient", () => {
  it('is set and removed through the API, audited; while set, a call without the certificate is refused 403', async () => {
    w = await apiWorld();
    const bad = await w.send('POST', `/v1/Trunks/${TRUNK}`, { TlsClient: { Fingerprints: ['AB:CD'] } });
    expect(bad.body.field).toBe('TlsClient.Fingerprints[0]');
    expect((await w.send('POST', `/v1/Trunks/${TRUNK}`, { TlsClient: {} })).body.field).toBe('TlsClient');

    const set = await w.send('PATCH', `/v1/Trunks/${TRUNK}`, {
      TlsClient: { Names: ['pbx.acme.example'] },
      Reason: 'mutual TLS',
    });
    expect(set).toMatchObject({
      status: 200,
      body: { TlsClient: { Fingerprints: [], Names: ['pbx.acme.example'] }, Revision: 1 },
    });
    await w.driver.terminating();
    const refused = () => w!.driver.sent.filter((c) => c.kind === 'response' && c.status === 403);
    expect(refused()).toHaveLength(1);
    const calls = async () => (await w!.store.readAll()).filter((e) => e.type === 'CallReceived').length;
    expect(await calls()).toBe(0);

    const cleared = await w.send('POST', `/v1/Trunks/${TRUNK}`, { TlsClient: null });
    expect(cleared).toMatchObject({ status: 200, body: { TlsClient: null, Revision: 2 } });
    await w.driver.terminating();
    expect(await calls()).toBe(1);

    await w.sync();
    const audit = await w.get('/v1/Audit?Kind=trunk');
    const entries = audit.body.Entries.map((e: { What: string; Why: string }) => [e.What, e.Why]);
    expect(entries.slice(0, 2)).toEqual([
      ['trunk acme: tlsClient pbx.acme.example -> none', 'no reason given'],
      ['trunk acme: tlsClient none -> pbx.acme.example', 'mutual TLS'],
    ]);
  });
});
