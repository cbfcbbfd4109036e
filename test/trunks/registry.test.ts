/**
 * The trunk registry's start-up check of the config file against the stored trunks: a stored trunk that
 * only differs in key order (PostgreSQL's jsonb gives objects back with their keys sorted) is the same
 * trunk, and must not raise the "differs from the config file" warning; a real difference must. The
 * same on a real PostgreSQL store: test/trunks/postgres-registry.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { PivotConfig, TrunkConfig } from '../../src/config/index.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { trunkStreamOf } from '../../src/trunks/events.ts';
import { sameJson, startTrunkRegistry } from '../../src/trunks/registry.ts';
import { billingConfig } from '../projections/drive.ts';

const DIFFERS = 'trunk differs from the config file; the stored trunk applies (change it through the API)';

/** The trunk with every object's keys in reverse order, as a store that sorts keys may return it. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, inner]) => [key, reordered(inner)]),
  );
}

/** Stores `trunk` as a seeded TrunkCreated, its data as given (key order included). */
async function storeTrunk(store: EventStore, trunk: TrunkConfig): Promise<void> {
  await store.appendToStream(
    trunkStreamOf(trunkSidOf(trunk.name)),
    [
      {
        id: crypto.randomUUID(),
        type: 'TrunkCreated',
        data: reordered({
          trunkSid: trunkSidOf(trunk.name),
          at: '2025-01-01T00:00:00.000Z',
          source: 'config',
          ...trunk,
          reason: 'seeded from the configuration file',
        }) as Record<string, unknown>,
        metadata: { correlationId: 'test' },
      },
    ],
    { expectedRevision: 'no-stream' },
  );
}

async function warningsAtStart(config: PivotConfig, stored: TrunkConfig): Promise<string[]> {
  const store = createInMemoryEventStore();
  await storeTrunk(store, stored);
  const warnings: string[] = [];
  const registry = await startTrunkRegistry({
    store,
    config,
    follow: false,
    log: (level, message) => {
      if (level === 'warn') warnings.push(message);
    },
  });
  await registry.stop();
  await store.close();
  return warnings;
}

describe('trunk registry: config file vs stored trunk', () => {
  const config = billingConfig();
  const trunk = config.trunks[0]!;

  it('the same trunk with its keys in another order (as jsonb returns it): no warning', async () => {
    // The rate decks have several prefixes: their order is what PostgreSQL changes.
    expect(Object.keys(trunk.rates.termination).length).toBeGreaterThan(1);
    expect(JSON.stringify(reordered(trunk))).not.toBe(JSON.stringify(trunk));
    expect(await warningsAtStart(config, trunk)).toEqual([]);
  });

  it('a stored trunk that really differs: warned about, and the stored one applies', async () => {
    const stored = {
      ...trunk,
      rates: { ...trunk.rates, termination: { ...trunk.rates.termination, '+44': 0.02 } },
    };
    expect(await warningsAtStart(config, stored)).toEqual([DIFFERS]);
    const acl = { ...trunk, acl: [...trunk.acl, '192.0.2.0/24'] };
    expect(await warningsAtStart(config, acl)).toEqual([DIFFERS]);
  });
});

describe('sameJson', () => {
  it('ignores object key order at every depth', () => {
    expect(sameJson({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).toBe(
      true,
    );
  });

  it('counts array order, values, types and missing or extra keys', () => {
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson({ a: 1 }, { a: '1' })).toBe(false);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false);
    expect(sameJson({ a: null }, { a: {} })).toBe(false);
    expect(sameJson([], {})).toBe(false);
    expect(sameJson({ '': 0.0045, '+44': 0.011 }, { '+44': 0.011, '': 0.0045 })).toBe(true);
  });

  it('treats a key holding undefined as absent, as JSON does', () => {
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  });
});
