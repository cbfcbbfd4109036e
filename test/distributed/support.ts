/**
 * Shared checks of the distributed tests: what the SIPp parties sent (from their message traces) and
 * what the store must hold for it — every input once, no event twice, revisions without gaps, every
 * call ended and every transfer finished.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, onTestFailed } from 'vitest';
import { routingKeyOf } from '../../src/shared/sessionKeys.ts';
import { callSidForCallId } from '../../src/shared/sids.ts';
import { carrier, renderScenario, target } from '../e2e/parties.ts';
import { type Cluster, type ClusterEvent, type ClusterOptions, startCluster } from '../helpers/cluster.ts';
import { describeSipp, runSipp, type SippProcess, type SippResult } from '../helpers/sipp.ts';

/** Prints what every pivot process said when the running test fails. */
export function printOutputOnFailure(cluster: Cluster): void {
  // Runs after afterEach (the cluster is disposed by then; what it printed is kept).
  onTestFailed(() => {
    process.stderr.write(`---- pivot processes\n${cluster.output({ lines: 150 })}\n`);
  });
}

/**
 * Registers the disposal of the running test's cluster after it and returns how to start one; a started
 * cluster prints its processes' output if the test fails.
 */
export function clusterPerTest(): (options: ClusterOptions) => Promise<Cluster> {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.dispose();
    cluster = undefined;
  });
  return async (options) => {
    cluster = await startCluster(options);
    printOutputOnFailure(cluster);
    return cluster;
  };
}

/** How much of each party's -trace_err log a failure prints (the whole of it goes to a file). */
const PRINTED_ERRORS = 20_000;

/**
 * Prints, when the running test fails, every SIPp party's summary and its error trace (-trace_err:
 * each unexpected message and why the call was aborted), and keeps both traces of each party in a temp
 * dir named in the output. Parties still running when the test fails are reported as such.
 */
export function printSippOnFailure(parties: Record<string, SippProcess>): void {
  const results = new Map<string, SippResult>();
  for (const [name, party] of Object.entries(parties)) {
    void party.done.then((result) => results.set(name, result));
  }
  onTestFailed(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pivot-distributed-sipp-'));
    const report = Object.keys(parties).map((name) => {
      const result = results.get(name);
      if (!result) return `---- SIPp ${name}: still running when the test failed`;
      writeFileSync(path.join(dir, `${name}.errors.log`), result.errors);
      writeFileSync(path.join(dir, `${name}.messages.log`), result.messages);
      const errors =
        result.errors.length > PRINTED_ERRORS
          ? `[first ${PRINTED_ERRORS} of ${result.errors.length} characters]\n${result.errors.slice(0, PRINTED_ERRORS)}`
          : result.errors || '(none)';
      return `---- SIPp ${sippSummary(name, result)}; error trace:\n${errors}`;
    });
    process.stderr.write(`${report.join('\n')}\n---- SIPp traces kept in ${dir}\n`);
  });
}

export interface SentRequest {
  method: string;
  callId: string;
  branch: string;
}

/** The requests (not responses, not ACKs) a SIPp party sent, once each (retransmissions folded). */
export function sentRequests(result: SippResult): SentRequest[] {
  const seen = new Map<string, SentRequest>();
  for (const block of result.messages.split(/^-{10,}.*$/m)) {
    if (!/message sent/.test(block.slice(0, 200))) continue;
    const text = block.slice(block.indexOf('\n\n') + 2).replace(/^\s+/, '');
    const method = /^([A-Z]+) \S+ SIP\/2\.0/.exec(text)?.[1];
    if (!method || method === 'ACK') continue;
    const callId = /^(?:Call-ID|i):\s*(\S+)/im.exec(text)?.[1];
    const branch = /^(?:Via|v):.*;branch=([^;\s,]+)/im.exec(text)?.[1];
    if (!callId || !branch) throw new Error(`unparsable sent request in SIPp trace:\n${text}`);
    seen.set(`${branch}:${method}`, { method, callId, branch });
  }
  return [...seen.values()];
}

/** Groups events by stream, each in revision order. */
export function byStream(events: ClusterEvent[]): Map<string, ClusterEvent[]> {
  const streams = new Map<string, ClusterEvent[]>();
  for (const event of events) {
    const list = streams.get(event.stream) ?? [];
    list.push(event);
    streams.set(event.stream, list);
  }
  for (const list of streams.values()) list.sort((a, b) => a.revision - b.revision);
  return streams;
}

/**
 * Store-level problems (empty when none): a duplicated event id, an input key stored twice in a
 * stream, a revision gap, positions not in revision order.
 */
export function integrityProblems(events: ClusterEvent[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const event of events) {
    if (ids.has(event.id)) problems.push(`event id ${event.id} stored twice`);
    ids.add(event.id);
  }
  for (const [stream, list] of byStream(events)) {
    list.forEach((event, index) => {
      if (event.revision !== index) {
        problems.push(`${stream}: revision ${event.revision} at index ${index} (gap or repeat)`);
      }
      if (index > 0 && event.position <= list[index - 1]!.position) {
        problems.push(`${stream}: position ${event.position} not after revision ${index - 1}'s`);
      }
    });
    const timerFacts = new Set<string>();
    for (const event of list) {
      if (!['TimerScheduled', 'TimerFired', 'TimerCanceled'].includes(event.type)) continue;
      const fact = `${event.type} ${event.data.timerId}`;
      if (timerFacts.has(fact)) problems.push(`${stream}: ${fact} stored twice`);
      timerFacts.add(fact);
      const other = event.type === 'TimerFired' ? 'TimerCanceled' : 'TimerFired';
      if (event.type !== 'TimerScheduled' && timerFacts.has(`${other} ${event.data.timerId}`)) {
        problems.push(`${stream}: timer ${event.data.timerId} both fired and canceled`);
      }
    }
    const keys = new Map<string, number>();
    for (const event of list) {
      const key = event.metadata.inputKey;
      if (typeof key !== 'string') continue;
      if (keys.has(key)) {
        problems.push(
          `${stream}: input ${key} stored twice (revisions ${keys.get(key)} and ${event.revision}: ${event.type})`,
        );
      }
      keys.set(key, event.revision);
    }
  }
  return problems;
}

/** The input keys stored per stream (the first event of each input carries it). */
export function storedInputKeys(events: ClusterEvent[]): Set<string> {
  const keys = new Set<string>();
  for (const event of events) {
    if (typeof event.metadata.inputKey === 'string') keys.add(`${event.stream} ${event.metadata.inputKey}`);
  }
  return keys;
}

/**
 * Every call (root and child) and what became of it, every transfer and how it ended: the store's
 * view of a load, for assertions.
 */
export function outcomes(events: ClusterEvent[]) {
  const calls = new Map<string, { parent?: string; ended?: string }>();
  type Transfer = { callSid: string; outcome?: string; status?: number };
  const transfers = new Map<string, Transfer>();
  for (const e of events) {
    const d = e.data;
    if (e.type === 'CallReceived') calls.set(d.callSid, {});
    if (e.type === 'ChildCallStarted') calls.set(d.callSid, { parent: d.parentCallSid });
    if (e.type === 'CallEnded') {
      const call = calls.get(d.callSid) ?? {};
      if (call.ended)
        call.ended += `+${d.status}`; // twice: shown as such, fails the test
      else call.ended = d.status;
      calls.set(d.callSid, call);
    }
    if (e.type === 'ReferAccepted') transfers.set(d.transferSid, { callSid: d.callSid });
    if (e.type === 'TransferCompleted' || e.type === 'TransferFailed') {
      const transfer: Transfer = transfers.get(d.transferSid) ?? { callSid: d.callSid };
      transfer.outcome = transfer.outcome
        ? `${transfer.outcome}+${e.type}`
        : e.type === 'TransferCompleted'
          ? 'completed'
          : 'failed';
      if (d.status !== undefined) transfer.status = d.status;
      transfers.set(d.transferSid, transfer);
    }
  }
  const roots = [...calls].filter(([, c]) => !c.parent);
  const children = [...calls].filter(([, c]) => c.parent);
  const count = (list: [string, { ended?: string }][]) => {
    const tally: Record<string, number> = {};
    for (const [, c] of list) tally[c.ended ?? 'not ended'] = (tally[c.ended ?? 'not ended'] ?? 0) + 1;
    return tally;
  };
  const transferTally: Record<string, number> = {};
  for (const t of transfers.values()) {
    const key = t.outcome ?? 'unfinished';
    transferTally[key] = (transferTally[key] ?? 0) + 1;
  }
  return {
    calls,
    transfers,
    roots: count(roots),
    children: count(children),
    transferOutcomes: transferTally,
    /** The stored types of every session whose root call did not end, for failure messages. */
    stuck: roots
      .filter(([, c]) => !c.ended)
      .map(([sid]) => {
        const types = events.filter((e) => e.stream === `call-${sid}`).map((e) => e.type);
        return `call-${sid}: ${types.join(', ')}`;
      }),
  };
}

/** The session a request a party sent belongs to (as the pivot routes it). */
export function sessionStreamOf(callId: string): string {
  return `call-${routingKeyOf(callId) ?? callSidForCallId(callId)}`;
}

/** Requests the parties sent whose input is not stored in their session's stream (lost inputs). */
export function lostRequests(events: ClusterEvent[], ...results: SippResult[]): string[] {
  const keys = storedInputKeys(events);
  return results
    .flatMap((result) => sentRequests(result))
    .filter(
      (r) =>
        !keys.has(`${sessionStreamOf(r.callId)} ${r.method === 'CANCEL' ? `${r.branch}:CANCEL` : r.branch}`),
    )
    .map((r) => {
      const stream = sessionStreamOf(r.callId);
      const stored = events.filter((e) => e.stream === stream).map((e) => e.type);
      return `${r.method} ${r.callId} ${r.branch} (${stream} holds ${stored.join(', ')})`;
    });
}

export interface LoadOptions {
  calls: number;
  /** PBX calls per second. */
  rate: number;
  carrierPort: number;
  /** Runs while the load runs; resolves with anything the test wants back. */
  during?: () => Promise<void>;
  timeoutMs?: number;
  /** `hung_up`: the PBX never hangs up after the transfer and waits for the pivot's fallback BYE. */
  afterTransfer?: 'hang_up' | 'hung_up';
}

export interface LoadResult {
  pbx: SippResult;
  carrier: SippResult;
  target: SippResult;
}

/**
 * The PBX of the load: e2e-pbx.xml's transfer flow (same messages, same checks) from
 * test/sipp/distributed-pbx.xml, whose SIPp transactions let it ignore the final responses the pivot
 * re-sends for requests SIPp retransmitted while an engine or nats-server was away (see the scenario).
 */
export function transferringPbx(
  pivot: string,
  options: {
    calls: number;
    rate: number;
    timeoutMs: number;
    target: string;
    byeDelayMs: number;
    afterTransfer: 'hang_up' | 'hung_up';
  },
): SippProcess {
  return runSipp({
    scenario: renderScenario('distributed-pbx.xml', {
      TARGET: options.target,
      AFTER_TRANSFER: options.afterTransfer,
      BYE_DELAY_MS: options.byeDelayMs,
    }),
    remote: pivot,
    calls: options.calls,
    rate: options.rate,
    timeoutMs: options.timeoutMs,
  });
}

/**
 * `calls` blind transfers at `rate` through the cluster, as bench/transfer.ts runs them: the PBX REFERs
 * each call to one target, hangs up 200 ms after the final NOTIFY, the carrier ends the child call.
 * Returns every party's result without judging it.
 */
export async function transferLoad(cluster: Cluster, options: LoadOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? Math.ceil((options.calls / options.rate) * 1000) + 90_000;
  const common = { calls: options.calls, timeoutMs };
  const far = carrier({
    ...common,
    port: options.carrierPort,
    flow: 'hold_then_reconnect',
    childEnd: 'hangs_up',
  });
  const bob = target({ ...common, outcome: 'answer', childEnd: 'hung_up' });
  await Promise.all([far.ready, bob.ready]);
  const agent = transferringPbx(cluster.sipAddress, {
    ...common,
    rate: options.rate,
    target: `target@127.0.0.1:${bob.port}`,
    byeDelayMs: 200,
    afterTransfer: options.afterTransfer ?? 'hang_up',
  });
  printSippOnFailure({ pbx: agent, carrier: far, target: bob });
  // A failing `during` ends the load at once (its parties killed) and fails the caller with its error.
  let failed: { error: unknown } | undefined;
  const during = options.during?.().catch((error: unknown) => {
    failed = { error };
    for (const party of [agent, far, bob]) party.kill();
  });
  const [pbxResult, carrierResult, targetResult] = await Promise.all([agent.done, far.done, bob.done]);
  await during;
  if (failed) throw failed.error;
  return { pbx: pbxResult, carrier: carrierResult, target: targetResult };
}

/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIPp's summary line of successful and failed calls, for messages. */
export function sippSummary(name: string, result: SippResult): string {
  const ok = /Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(result.stdout)?.[1];
  const failed = /Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(result.stdout)?.[1];
  return `${name}: exit ${result.code}, successful ${ok ?? '?'}, failed ${failed ?? '?'}`;
}

/**
 * Every party ran all its calls to the end: SIPp exit 0, or exit 1 with at most `maxFailed` failed
 * calls (SIPp aborts a call on a message its scenario does not expect) and every call accounted for.
 * The load tests allow none (0, the default). Returns the problems, each with the party's error trace.
 */
export function partyProblems(result: LoadResult, calls: number, maxFailed = 0): string[] {
  const problems: string[] = [];
  for (const [name, r] of Object.entries(result) as [string, SippResult][]) {
    if (r.code === 0) continue;
    const ok = Number(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? Number.NaN);
    const failed = Number(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? Number.NaN);
    if (r.code !== 1 || failed > maxFailed || ok + failed !== calls) {
      problems.push(`${sippSummary(name, r)}\n${describeSipp(r).slice(0, 4_000)}`);
    }
  }
  return problems;
}

/** How many events of `type` the cluster's store holds. */
export async function storedCount(cluster: Cluster, type: string): Promise<number> {
  return (await cluster.events()).filter((e) => e.type === type).length;
}

/** Resolves once a third of `calls` are stored (some finished, some mid-transfer, most not started). */
export function aThirdOfTheCallsStored(cluster: Cluster, calls: number): Promise<void> {
  return waitUntil('a third of the calls stored', async () => {
    return (await storedCount(cluster, 'CallReceived')) >= calls / 3;
  });
}

/**
 * How many calls an incident between `from` and `to` (ms since the epoch) hit while in progress
 * (received before `from`, ended after it), and how many were received after it.
 */
export function callsAround(
  events: ClusterEvent[],
  from: number,
  to = from,
): { inProgress: number; receivedAfter: number } {
  const at = (type: string) =>
    new Map(events.filter((e) => e.type === type).map((e) => [e.data.callSid, Date.parse(e.data.at)]));
  const received = at('CallReceived');
  const ended = at('CallEnded');
  return {
    inProgress: [...received].filter(([sid, t]) => t < from && (ended.get(sid) ?? 0) > from).length,
    receivedAfter: [...received.values()].filter((t) => t > to).length,
  };
}

/** What every load must leave behind, whatever happened to the engines or the bus during it. */
export function expectEveryTransferDone(events: ClusterEvent[], result: LoadResult, calls: number): void {
  const summary = Object.entries(result)
    .map(([name, r]) => sippSummary(name, r))
    .join('; ');
  // Nothing doubled, no revision gap, and every request the parties sent stored once.
  expect(integrityProblems(events)).toEqual([]);
  expect(lostRequests(events, result.pbx, result.carrier, result.target)).toEqual([]);
  // Every call ended and every transfer completed, exactly once each.
  const seen = outcomes(events);
  expect(
    { roots: seen.roots, children: seen.children, transfers: seen.transferOutcomes },
    `${summary}\n${seen.stuck.join('\n')}`,
  ).toEqual({
    roots: { completed: calls },
    children: { completed: calls },
    transfers: { completed: calls },
  });
  // SIPp's own view: every call of every party ran to its end, none aborted (no tolerance). The
  // adapter sends no unasked-for copy (repeated request, response and ACK commands are absorbed), and
  // the PBX (test/sipp/distributed-pbx.xml) accepts what RFC 3261 allows around an outage: a final
  // response re-sent for its retransmitted request, a provisional response the pivot never relayed.
  expect(partyProblems(result, calls, 0)).toEqual([]);
}
