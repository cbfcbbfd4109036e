/**
 * Replays a session's stored events through the current machines, step by step: the state of the
 * machine each event belongs to before and after, and what the machine decided. Used by
 * `pivot replay` to debug a call, and by `pivot replay --check` to find calls whose recorded states
 * differ from what today's machines would do.
 */
import type { Effect } from '../../machines/effects.ts';
import { emptySession, foldFrom, machineOf, snapshotOf } from '../../machines/session.ts';
import { streamOf } from '../shared/sids.ts';
import type { EventStore, RecordedEvent } from '../store/port.ts';
import { fromRecorded } from './codec.ts';

export interface ReplayStep {
  revision: number;
  position: number;
  at: string;
  type: string;
  /** `call CA…` / `transfer TR…`, or undefined for facts no machine consumes. */
  machine?: string;
  before?: unknown;
  after?: unknown;
  /** State recorded when the event was stored. */
  recorded?: unknown;
  /** SIP commands and facts the machine decided on this event. */
  actions: string[];
}

export function describeEffect(effect: Effect): string {
  if (effect.kind === 'fact') return `fact ${effect.event.type}`;
  const command = effect.command;
  if (command.kind === 'response') return `send ${command.status} ${command.reason}`;
  return `send ${command.method} ${command.uri} (CSeq ${command.cseq.seq})`;
}

export function replayEvents(sessionSid: string, recorded: RecordedEvent[], until?: number): ReplayStep[] {
  const fold = foldFrom(emptySession(sessionSid));
  const steps: ReplayStep[] = [];
  for (const stored of recorded) {
    if (until !== undefined && stored.revision > until) break;
    const event = fromRecorded(stored);
    const owner = machineOf(event);
    const before = snapshotOf(fold.current, owner);
    fold.add(event);
    const after = snapshotOf(fold.current, owner);
    const changed = after !== undefined && after !== before;
    steps.push({
      revision: stored.revision,
      position: stored.position,
      at: event.at,
      type: event.type,
      ...(owner ? { machine: `${owner.kind} ${owner.sid}` } : {}),
      ...(owner ? { before: before?.value ?? 'new', after: after?.value } : {}),
      ...(stored.metadata.stateAfter !== undefined ? { recorded: stored.metadata.stateAfter } : {}),
      actions: changed ? after.context.outbox.map(describeEffect) : [],
    });
  }
  return steps;
}

/** The stream holding a call: its own, or for a child call the root call's session stream. */
export async function findSessionStream(store: EventStore, callSid: string): Promise<string | undefined> {
  const own = await store.readStream(streamOf(callSid), { maxCount: 1 });
  if (own.length > 0) return streamOf(callSid);
  for (let after = 0; ; ) {
    const page = await store.readAll({ after, maxCount: 1000 });
    if (page.length === 0) return undefined;
    for (const event of page) {
      after = event.position;
      if ((event.data as { callSid?: string }).callSid === callSid) return event.streamName;
    }
  }
}

export interface CheckResult {
  sessions: number;
  events: number;
  mismatches: { stream: string; revision: number; type: string; recorded: unknown; replayed: unknown }[];
}

/** Most states are one string: compared as such; nested states as their JSON. */
function sameState(recorded: unknown, replayed: unknown): boolean {
  if (typeof recorded === 'string' || typeof replayed === 'string') return recorded === replayed;
  return JSON.stringify(recorded) === JSON.stringify(replayed);
}

/** Replays every stored session and lists each event whose recorded state the machines no longer reach. */
export async function checkAll(store: EventStore): Promise<CheckResult> {
  const streams = new Map<string, RecordedEvent[]>();
  let events = 0;
  for (let after = 0; ; ) {
    const page = await store.readAll({ after, maxCount: 1000 });
    if (page.length === 0) break;
    for (const event of page) {
      after = event.position;
      if (!event.streamName.startsWith('call-')) continue;
      events++;
      const list = streams.get(event.streamName) ?? [];
      list.push(event);
      streams.set(event.streamName, list);
    }
  }
  const mismatches: CheckResult['mismatches'] = [];
  for (const [stream, recorded] of streams) {
    // The fold alone, without the steps' descriptions: a check only compares states.
    const fold = foldFrom(emptySession(stream.slice(5)));
    for (const stored of recorded) {
      const event = fromRecorded(stored);
      fold.add(event);
      const expected = stored.metadata.stateAfter;
      if (expected === undefined) continue;
      const replayed = snapshotOf(fold.current, machineOf(event))?.value;
      if (!sameState(expected, replayed)) {
        mismatches.push({
          stream,
          revision: stored.revision,
          type: event.type,
          recorded: expected,
          replayed,
        });
      }
    }
  }
  return { sessions: streams.size, events, mismatches };
}

/** A plain-text table of the steps, for people. */
export function formatSteps(steps: ReplayStep[]): string {
  const rows = steps.map((step) => [
    String(step.revision),
    step.at.replace('T', ' ').replace('Z', ''),
    step.type,
    step.machine ?? '-',
    step.machine ? `${JSON.stringify(step.before)} -> ${JSON.stringify(step.after)}` : '',
    step.actions.join('; '),
  ]);
  const header = ['#', 'time', 'event', 'machine', 'state', 'actions'];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => Math.min(r[i]!.length, i === 5 ? 200 : 60))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
