/**
 * The event catalogue as a contract: the version of every stored event type, and the upcasters that
 * bring a stored event of an older version to today's shape before a projection or a feed sees it.
 *
 * An event carries its version in `metadata.eventVersion`; events without one are version 1 (every
 * event stored before versions existed). When an event type's fields change in a way old readers or
 * old events would notice, bump its version here, add an upcaster from the previous version, and run
 * `npm run events:schema` to refresh the committed schema (docs/events.schema.json); the catalogue
 * test fails until both are done.
 */
import type { EventMetadata, RecordedEvent } from '../store/port.ts';

/** Today's version of each event type. Types not listed are version 1. */
export const EVENT_VERSIONS: Readonly<Record<string, number>> = {};

/** Turns the data of version `from` into the data of version `from + 1`. */
export interface Upcaster {
  type: string;
  from: number;
  up(data: Record<string, unknown>): Record<string, unknown>;
}

const UPCASTERS: Upcaster[] = [];

export interface Catalogue {
  currentVersionOf(type: string): number;
  /**
   * The event in today's shape. Returns the same object when it already is; otherwise a copy whose
   * data went through every upcaster from its stored version, with `metadata.eventVersion` set to
   * today's. Throws when a step is missing, so an incomplete catalogue fails loudly, not silently.
   */
  upcast<E extends RecordedEvent>(event: E): E;
}

export function storedVersionOf(event: Pick<RecordedEvent, 'metadata'>): number {
  const version = event.metadata?.eventVersion;
  return typeof version === 'number' && Number.isInteger(version) && version >= 1 ? version : 1;
}

export function createCatalogue(
  versions: Readonly<Record<string, number>>,
  upcasters: Upcaster[],
): Catalogue {
  const chains = new Map<string, Map<number, Upcaster>>();
  for (const u of upcasters) {
    const chain = chains.get(u.type) ?? new Map<number, Upcaster>();
    chains.set(u.type, chain);
    chain.set(u.from, u);
  }
  const currentVersionOf = (type: string) => versions[type] ?? 1;
  return {
    currentVersionOf,
    upcast(event) {
      const current = currentVersionOf(event.type);
      let version = storedVersionOf(event);
      if (version >= current) return event;
      let data = event.data as Record<string, unknown>;
      const chain = chains.get(event.type);
      while (version < current) {
        const step = chain?.get(version);
        if (!step) throw new Error(`no upcaster for ${event.type} from version ${version} to ${version + 1}`);
        data = step.up(data);
        version++;
      }
      return { ...event, data, metadata: { ...event.metadata, eventVersion: version } };
    },
  };
}

/** The pivot's catalogue: EVENT_VERSIONS and the upcasters above. */
export const catalogue: Catalogue = createCatalogue(EVENT_VERSIONS, UPCASTERS);

/** The metadata to store an event of `type` with: its version, when past 1 (1 is the default). */
export function withEventVersion(type: string, metadata: EventMetadata): EventMetadata {
  const version = catalogue.currentVersionOf(type);
  return version > 1 ? { ...metadata, eventVersion: version } : metadata;
}
