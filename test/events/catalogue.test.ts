/**
 * The event catalogue is a contract: the committed schema (src/events/schema.json) is what the types
 * say today, no event type changes incompatibly without a version bump, and every bump has upcasters
 * that bring stored events to today's shape before projections see them.
 */
import { describe, expect, it } from 'vitest';
import { defineProjection } from '../../projections/api.ts';
import { openViews } from '../../projections/index.ts';
import { createProjectionRunner } from '../../projections/runner.ts';
import { catalogue, createCatalogue, EVENT_VERSIONS } from '../../src/events/catalogue.ts';
import { unversionedChanges } from '../../src/events/compat.ts';
import { type EventSchemaDocument, generateEventSchema } from '../../src/events/generate.ts';
import { EVENT_SCHEMA } from '../../src/events/schema.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';

const today = generateEventSchema();
const clone = (d: EventSchemaDocument): EventSchemaDocument => structuredClone(d);

describe('event catalogue', () => {
  it('no event type changed incompatibly without a version bump (src/events/catalogue.ts)', () => {
    expect(unversionedChanges(EVENT_SCHEMA, today)).toEqual([]);
  });

  it('the committed schema is what the TypeScript types say (regenerate: npm run events:schema)', () => {
    expect(today).toEqual(EVENT_SCHEMA);
  });

  it('covers every event type, session, trunk and API key alike', () => {
    for (const type of [
      'CallReceived',
      'TargetAnswered',
      'TransferCompleted',
      'TrunkCreated',
      'ApiKeyRevoked',
    ]) {
      expect(EVENT_SCHEMA.events[type]?.data.type).toBe('object');
    }
    expect(EVENT_SCHEMA.events.CallEnded?.data.required).toEqual(['status', 'callSid', 'at']);
  });

  it('tells incompatible changes from compatible ones', () => {
    const required = clone(EVENT_SCHEMA);
    required.events.CallEnded!.data.required = ['status', 'callSid', 'at', 'why'];
    expect(unversionedChanges(EVENT_SCHEMA, required)).toEqual(['CallEnded v1: why became required']);

    const removed = clone(EVENT_SCHEMA);
    delete (removed.events.CallEnded!.data.properties as Record<string, unknown>).sipStatus;
    expect(unversionedChanges(EVENT_SCHEMA, removed)).toEqual(['CallEnded v1: sipStatus was removed']);

    // A shared type changes: every event that embeds it is named.
    const shared = clone(EVENT_SCHEMA);
    (shared.$defs.LegDialog!.properties as Record<string, unknown>).callId = { type: 'number' };
    expect(unversionedChanges(EVENT_SCHEMA, shared)).toContain(
      'CallReceived v1: inbound.callId changed type',
    );

    const added = clone(EVENT_SCHEMA);
    (added.events.CallEnded!.data.properties as Record<string, unknown>).note = { type: 'string' };
    expect(unversionedChanges(EVENT_SCHEMA, added)).toEqual([]);

    required.events.CallEnded!.version = 2;
    expect(unversionedChanges(EVENT_SCHEMA, required)).toEqual([]);
  });

  it('every version past 1 has an upcaster for each step', () => {
    for (const [type, version] of Object.entries(EVENT_VERSIONS)) {
      for (let from = 1; from < version; from++) {
        const stored = {
          id: 'e',
          type,
          data: {},
          metadata: { eventVersion: from },
          streamName: 'call-x',
          revision: 0,
          position: 1,
          recordedAt: '',
        };
        expect(() => catalogue.upcast(stored), `${type} from v${from}`).not.toThrow();
      }
    }
  });
});

describe('upcasting', () => {
  // Suppose CallEnded v2 renamed sipStatus to finalStatus: events stored as v1 must read as v2.
  const v2 = createCatalogue({ CallEnded: 2 }, [
    {
      type: 'CallEnded',
      from: 1,
      up: ({ sipStatus, ...rest }) => ({ ...rest, finalStatus: sipStatus ?? null }),
    },
  ]);

  it('stored events of an older version reach projections in today’s shape; new ones pass as they are', async () => {
    const store = createInMemoryEventStore();
    const ended = (callSid: string, data: object, eventVersion?: number) =>
      store.appendToStream(
        `call-${callSid}`,
        [
          {
            id: `${callSid}-end`,
            type: 'CallEnded',
            data: { callSid, at: '2025-03-14T09:00:00.000Z', status: 'busy', ...data },
            metadata: eventVersion ? { eventVersion } : {},
          },
        ],
        { expectedRevision: 'any' },
      );
    await ended('CAold', { sipStatus: 486 });
    await ended('CAnew', { finalStatus: 603 }, 2);
    const seen = defineProjection({
      name: 'seen',
      version: 1,
      tables: { seen: 'CREATE TABLE IF NOT EXISTS seen (sid TEXT, final_status INTEGER, raw TEXT)' },
      handlers: {
        CallEnded({ data, metadata }, _s, db) {
          const d = data as unknown as { callSid: string; finalStatus: number | null };
          db.prepare('INSERT INTO seen VALUES (?, ?, ?)').run(
            d.callSid,
            d.finalStatus,
            JSON.stringify(metadata),
          );
        },
      },
    });
    const { compileProjection } = await import('../../projections/api.ts');
    const db = openViews(':memory:');
    const runner = createProjectionRunner({
      store,
      db,
      projections: [compileProjection(seen)],
      catalogue: v2,
    });
    await runner.catchUp();
    expect(db.prepare('SELECT * FROM seen ORDER BY sid').all()).toEqual([
      { sid: 'CAnew', final_status: 603, raw: '{"eventVersion":2}' },
      { sid: 'CAold', final_status: 486, raw: '{"eventVersion":2}' },
    ]);
    // The store keeps what was written: upcasting happens on the way out.
    const [stored] = await store.readStream('call-CAold');
    expect(stored!.data).toMatchObject({ sipStatus: 486 });
    db.close();
    await store.close();
  });

  it('a missing step fails loudly instead of handing a projection the wrong shape', () => {
    const gap = createCatalogue({ CallEnded: 3 }, [{ type: 'CallEnded', from: 1, up: (d) => d }]);
    const stored = {
      id: 'e',
      type: 'CallEnded',
      data: {},
      metadata: {},
      streamName: 'call-x',
      revision: 0,
      position: 1,
      recordedAt: '',
    };
    expect(() => gap.upcast(stored)).toThrow('no upcaster for CallEnded from version 2 to 3');
  });
});
