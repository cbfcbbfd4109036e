/** Loads a session by folding its stream through the machines: state is derived, never stored. */
import { decide, emptySession, evolve } from '../../machines/session.ts';
import type { SipCommand } from '../bus/messages.ts';
import type { EventStore } from '../store/port.ts';
import { fromRecorded } from './codec.ts';
import type { LoadedSession } from './sessionCache.ts';
import { streamOf } from './sids.ts';

export async function loadSession(store: EventStore, sessionSid: string): Promise<LoadedSession> {
  return catchUp(store, sessionSid, { session: emptySession(sessionSid), revision: -1, seen: new Map() });
}

/**
 * Folds whatever the stream gained since `loaded` (written by another engine, or by us before a
 * restart). One short read per input keeps a cached session from deciding on stale state.
 */
export async function catchUp(
  store: EventStore,
  sessionSid: string,
  loaded: LoadedSession,
): Promise<LoadedSession> {
  const recorded = await store.readStream(streamOf(sessionSid), { fromRevision: loaded.revision + 1 });
  if (recorded.length === 0) return loaded;
  let session = loaded.session;
  const seen = new Map(loaded.seen);
  for (const event of recorded) {
    session = evolve(session, fromRecorded(event));
    const key = event.metadata.inputKey;
    if (typeof key === 'string') seen.set(key, event.revision);
  }
  return { session, revision: recorded.at(-1)!.revision, seen };
}

/**
 * The SIP commands that were decided for the stored input at `revision`, decided again. Machines are
 * deterministic and every identifier comes from the stored events, so these are the same messages
 * (same branches, CSeqs, tags): sending them again is a retransmission, which makes a crash between
 * append and act harmless.
 */
export async function decidedAt(
  store: EventStore,
  sessionSid: string,
  revision: number,
): Promise<SipCommand[]> {
  const recorded = await store.readStream(streamOf(sessionSid), { maxCount: revision + 1 });
  let session = emptySession(sessionSid);
  for (const event of recorded.slice(0, revision)) session = evolve(session, fromRecorded(event));
  const input = recorded[revision];
  return input ? decide(session, fromRecorded(input)).commands : [];
}
