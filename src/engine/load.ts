/** Loads a session by folding its stream through the machines: state is derived, never stored. */
import type { SessionEvent } from '../../machines/events.ts';
import { decide, emptySession, evolveAll, foldFrom, type SessionState } from '../../machines/session.ts';
import type { SipCommand } from '../shared/messages.ts';
import { streamOf } from '../shared/sids.ts';
import type { EventStore } from '../store/port.ts';
import { fromRecorded } from './codec.ts';
import { type LoadedSession, RECENT_INPUTS, remember } from './sessionCache.ts';

export async function loadSession(store: EventStore, sessionSid: string): Promise<LoadedSession> {
  return catchUp(store, sessionSid, {
    session: emptySession(sessionSid),
    revision: -1,
    seen: new Map(),
    before: new Map(),
    refused: new Map(),
  });
}

/**
 * Folds whatever the stream gained since `loaded` (written by another engine, or by us before a
 * restart). The engine reads it only before an outcome that stores nothing: an append is checked
 * against the revision it was decided on anyway (engine.ts `attempt`).
 */
export async function catchUp(
  store: EventStore,
  sessionSid: string,
  loaded: LoadedSession,
): Promise<LoadedSession> {
  const recorded = await store.readStream(streamOf(sessionSid), { fromRevision: loaded.revision + 1 });
  if (recorded.length === 0) return loaded;
  const fold = foldFrom(loaded.session);
  // Only the last RECENT_INPUTS states would stay remembered, and taking a state from the fold costs
  // it a copy of its records: take just those, so a long stream is still folded with one copy.
  const inputs = recorded.filter((event) => typeof event.metadata.inputKey === 'string');
  const kept = new Set(inputs.slice(-RECENT_INPUTS));
  for (const event of recorded) {
    const key = event.metadata.inputKey;
    if (typeof key === 'string') {
      loaded.seen.set(key, event.revision);
      if (kept.has(event)) remember(loaded.before, event.revision, fold.state, RECENT_INPUTS);
    }
    fold.add(fromRecorded(event));
  }
  return { ...loaded, session: fold.state, revision: recorded.at(-1)!.revision };
}

/**
 * What was decided for the stored input at `revision`, decided again from `before`, the state it was
 * decided on: one event read, whatever the stream's length.
 */
export async function decidedFrom(
  store: EventStore,
  sessionSid: string,
  revision: number,
  before: SessionState,
): Promise<SipCommand[]> {
  const [input] = await store.readStream(streamOf(sessionSid), { fromRevision: revision, maxCount: 1 });
  return input ? decide(before, fromRecorded(input)).commands : [];
}

/**
 * The state the stored input at `revision` was decided on, folded from the start of the stream, and
 * that input: one read of the stream up to it.
 */
export async function foldedUpTo(
  store: EventStore,
  sessionSid: string,
  revision: number,
): Promise<{ before: SessionState; input: SessionEvent | undefined }> {
  const recorded = await store.readStream(streamOf(sessionSid), { maxCount: revision + 1 });
  const before = evolveAll(emptySession(sessionSid), recorded.slice(0, revision).map(fromRecorded));
  const input = recorded[revision];
  return { before, input: input ? fromRecorded(input) : undefined };
}

/**
 * The SIP commands that were decided for the stored input at `revision`, decided again by folding the
 * stream up to it (for inputs older than what a loaded session remembers, see `decidedFrom`). Machines are
 * deterministic and every identifier comes from the stored events, so these are the same messages
 * (same branches, CSeqs, tags): sending them again is a retransmission, which makes a crash between
 * append and act harmless.
 */
export async function decidedAt(
  store: EventStore,
  sessionSid: string,
  revision: number,
): Promise<SipCommand[]> {
  const { before, input } = await foldedUpTo(store, sessionSid, revision);
  return input ? decide(before, input).commands : [];
}
