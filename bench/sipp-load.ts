/**
 * A SIPp load of blind transfers (or plain calls) through a pivot, and the figures it yields; shared by
 * bench/transfer.ts (one process) and bench/distributed.ts (adapter and engines apart).
 *
 * Each call is blind-transferred exactly as in test/e2e: the PBX (127.0.0.1) REFERs the carrier
 * (127.0.0.2) to a target; 202, NOTIFY 100/180/200, hold, target INVITE, reconnect; the PBX hangs up
 * 200 ms after the final NOTIFY and the carrier ends the child call 300 ms after it is reconnected.
 * `plain` runs the same calls without the transfer (the PBX hangs up 200 ms after the ACK).
 *
 * Latencies are taken from SIPp's message traces (microsecond timestamps, all parties on one host):
 * REFER -> 202 and INVITE -> 200 as the PBX sees them; REFER -> target INVITE from the PBX's REFER
 * to the target's receipt of the INVITE, matched through the routing key the pivot embeds in the
 * target leg's Call-ID. The engine's own view (stored events' `at`: ReferReceived -> TargetInvited) is
 * given next to it. SIPp's rtd timers only tick in 4 ms steps here, too coarse for these figures.
 * "Achieved" is (completed - 1) / the time from the first REFER sent (INVITE for plain calls) to the
 * last final NOTIFY (200 to INVITE) received; failed calls are SIPp's own count for each party.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { callSidForCallId } from '../src/shared/sids.ts';
import { carrier, pbx, target } from '../test/e2e/parties.ts';
import type { StoredEvent } from '../test/e2e/pivot.ts';
import type { SippProcess, SippResult } from '../test/helpers/sipp.ts';

export type LoadMode = 'transfer' | 'plain';

/** The pivot under load: where the PBX sends, where the pivot's carrier is, and what it stored. */
export interface LoadedPivot {
  /** host:port of the pivot's SIP listener. */
  address: string;
  /** The port the pivot's config names for the carrier on 127.0.0.2. */
  carrierPort: number;
  /** The calls' events, read once the load is over. */
  events(): Promise<StoredEvent[]>;
}

export interface LoadFigures {
  mode: LoadMode;
  rate: number;
  count: number;
  wallMs: number;
  completed: number;
  achievedPerS: number;
  spanS: number;
  parties: Array<{ who: string; exit: number; ok: number; failed: number; retransmissions: number }>;
  inviteTo200: number[];
  referTo202: number[];
  referToTargetInvite: number[];
  referReceivedToTargetInvited: number[];
  referToFinalNotify: number[];
  events: StoredEvent[];
  firstErrors: string;
}

// ---- SIPp traces -----------------------------------------------------------------------------------

export interface TracedMessage {
  /** Milliseconds (fractional) on the host clock. */
  t: number;
  sent: boolean;
  firstLine: string;
  callId: string;
  cseq: string;
}

export function traced(result: SippResult): TracedMessage[] {
  const out: TracedMessage[] = [];
  const blocks = result.messages.split(/^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{6})$/m);
  // split with two capture groups: [before, date, micros, block, date, micros, block, ...]
  for (let i = 1; i + 2 < blocks.length; i += 3) {
    const block = blocks[i + 2]!;
    const text = block.slice(block.indexOf('\n\n') + 2).replace(/^\s+/, '');
    out.push({
      t: Date.parse(blocks[i]!.replace(' ', 'T')) + Number(blocks[i + 1]) / 1000,
      sent: /message sent/.test(block.slice(0, 80)),
      firstLine: text.split(/\r?\n/)[0] ?? '',
      callId: /^Call-ID:\s*(\S+)/im.exec(text)?.[1] ?? '',
      cseq: /^CSeq:\s*(.+?)\s*$/im.exec(text)?.[1] ?? '',
    });
  }
  return out;
}

/** Per Call-ID, the time of the first message matching `pick`. */
export function firstTimes(
  messages: TracedMessage[],
  pick: (m: TracedMessage) => boolean,
): Map<string, number> {
  const times = new Map<string, number>();
  for (const m of messages) if (pick(m) && !times.has(m.callId)) times.set(m.callId, m.t);
  return times;
}

export function deltas(from: Map<string, number>, to: Map<string, number>): number[] {
  const out: number[] = [];
  for (const [key, start] of from) {
    const end = to.get(key);
    if (end !== undefined) out.push(end - start);
  }
  return out;
}

export function lastStats(dir: string): Record<string, string> {
  try {
    const lines = readFileSync(path.join(dir, 'stat.csv'), 'utf8').trim().split('\n');
    const names = lines[0]!.split(';');
    const values = lines.at(-1)!.split(';');
    return Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']));
  } catch {
    return {};
  }
}

// ---- figures ---------------------------------------------------------------------------------------

/** The nearest-rank percentile `p` of `values`, undefined when there are none. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function percentiles(values: number[]): string {
  if (values.length === 0) return 'n/a';
  const at = (p: number) => percentile(values, p)!;
  const ms = (v: number) => v.toFixed(1);
  return `p50 ${ms(at(50))}  p95 ${ms(at(95))}  p99 ${ms(at(99))}  max ${ms(at(100))} ms (n=${values.length})`;
}

/** ReferReceived -> TargetInvited per transfer, from the stored events' engine timestamps. */
function eventLatencies(events: StoredEvent[]): number[] {
  const referAt = new Map<string, number>();
  const out: number[] = [];
  for (const e of events) {
    if (e.type === 'ReferReceived') referAt.set(e.data.transferSid, Date.parse(e.data.at));
    if (e.type === 'TargetInvited') {
      const start = referAt.get(e.data.transferSid);
      if (start !== undefined) out.push(Date.parse(e.data.at) - start);
    }
  }
  return out;
}

// ---- one run ---------------------------------------------------------------------------------------

/**
 * SIPp's message traces go to tmpfs when there is one: written to the disk the store fsyncs on, their
 * writeback turns into multi-second fsync stalls that are the benchmark's, not the pivot's.
 */
const traceRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export async function runLoad(options: {
  mode: LoadMode;
  rate: number;
  count: number;
  pivot: LoadedPivot;
  /** Keep SIPp's traces (printed path) instead of removing them. */
  keep?: boolean;
}): Promise<LoadFigures> {
  const { mode, rate, count, pivot } = options;
  const work = mkdtempSync(path.join(traceRoot, `pivot-bench-${mode}-`));
  const dirs = { pbx: '', carrier: '', target: '' };
  for (const key of Object.keys(dirs) as Array<keyof typeof dirs>) dirs[key] = mkdtempSync(`${work}/${key}-`);
  const timeoutMs = Math.ceil((count / rate) * 1000) + 60_000;
  const common = { calls: count, timeoutMs, extraArgs: ['-trace_stat', '-stf', 'stat.csv', '-fd', '1'] };
  const transfer = mode === 'transfer';
  try {
    const far = carrier({
      ...common,
      port: pivot.carrierPort,
      flow: transfer ? 'hold_then_reconnect' : 'hung_up',
      childEnd: 'hangs_up',
      workDir: dirs.carrier,
    });
    const parties: SippProcess[] = [far];
    let bob: SippProcess | undefined;
    if (transfer) {
      bob = target({ ...common, outcome: 'answer', childEnd: 'hung_up', workDir: dirs.target });
      parties.push(bob);
    }
    await Promise.all(parties.map((p) => p.ready));
    const started = performance.now();
    const agent = pbx(pivot.address, {
      ...common,
      rate,
      flow: transfer ? 'transfer' : 'hang_up',
      target: `target@127.0.0.1:${bob?.port ?? 5999}`,
      byeDelayMs: 200,
      workDir: dirs.pbx,
    });
    const results = await Promise.all([agent, ...parties].map((p) => p.done));
    const wallMs = performance.now() - started;
    const events = await pivot.events();

    const [pbxTrace, , targetTrace] = results.map(traced);
    const names = ['pbx', 'carrier', 'target'] as const;
    const partyFigures = results.map((r, i) => {
      const stats = lastStats(dirs[names[i]!]);
      return {
        who: names[i]!,
        exit: r.code,
        ok: Number(stats['SuccessfulCall(C)'] ?? Number.NaN),
        failed: Number(stats['FailedCall(C)'] ?? Number.NaN),
        retransmissions: Number(stats['Retransmissions(C)'] ?? Number.NaN),
      };
    });
    const inviteSent = firstTimes(pbxTrace!, (m) => m.sent && m.firstLine.startsWith('INVITE '));
    const inviteOk = firstTimes(
      pbxTrace!,
      (m) => !m.sent && m.firstLine.startsWith('SIP/2.0 200') && m.cseq.endsWith('INVITE'),
    );
    const referSent = firstTimes(pbxTrace!, (m) => m.sent && m.firstLine.startsWith('REFER '));
    const accepted = firstTimes(pbxTrace!, (m) => !m.sent && m.firstLine.startsWith('SIP/2.0 202'));
    const finalNotify = new Map<string, number>();
    for (const m of pbxTrace!)
      if (!m.sent && m.firstLine.startsWith('NOTIFY ')) finalNotify.set(m.callId, m.t);
    // The target INVITE's Call-ID embeds the root call's sid, which is derived from the PBX's Call-ID.
    const referBySid = new Map([...referSent].map(([callId, t]) => [callSidForCallId(callId), t]));
    const targetInvite = new Map<string, number>();
    for (const m of targetTrace ?? []) {
      const sid = /^pv-(CA[0-9a-f]{32})-/.exec(m.callId)?.[1];
      if (sid && !m.sent && m.firstLine.startsWith('INVITE ') && !targetInvite.has(sid))
        targetInvite.set(sid, m.t);
    }

    const type = (t: string) => events.filter((e) => e.type === t);
    const completed = transfer ? type('TransferCompleted').length : type('CallEnded').length;
    const firstStart = Math.min(...(transfer ? referSent : inviteSent).values());
    const lastEnd = Math.max(...(transfer ? finalNotify : inviteOk).values());
    const spanS = (lastEnd - firstStart) / 1000;
    const problems = results.filter((r) => r.code !== 0);
    return {
      mode,
      rate,
      count,
      wallMs,
      completed,
      achievedPerS: (completed - 1) / spanS,
      spanS,
      parties: partyFigures,
      inviteTo200: deltas(inviteSent, inviteOk),
      referTo202: transfer ? deltas(referSent, accepted) : [],
      referToTargetInvite: transfer ? deltas(referBySid, targetInvite) : [],
      referReceivedToTargetInvited: transfer ? eventLatencies(events) : [],
      referToFinalNotify: transfer ? deltas(referSent, finalNotify) : [],
      events,
      firstErrors: problems.map((r) => r.errors.slice(0, 1500)).join('\n'),
    };
  } finally {
    if (options.keep) console.log(`  SIPp traces kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** The figures of one run, as bench/transfer.ts has always printed them. */
export function printFigures(label: string, f: LoadFigures): void {
  const transfer = f.mode === 'transfer';
  console.log(`\n== ${label}: -r ${f.rate} -m ${f.count} (${(f.wallMs / 1000).toFixed(1)} s wall)`);
  console.log(
    `${transfer ? 'transfers' : 'calls'} completed: ${f.completed}/${f.count}; achieved ${f.achievedPerS.toFixed(1)}/s ` +
      `(${transfer ? 'first REFER sent -> last final NOTIFY received' : 'first INVITE sent -> last 200 received'}: ${f.spanS.toFixed(2)} s)`,
  );
  for (const p of f.parties) {
    console.log(
      `  sipp ${p.who.padEnd(7)} exit ${p.exit}  successful ${p.ok}  failed ${p.failed}  retransmissions ${p.retransmissions}`,
    );
  }
  console.log(`  INVITE -> 200 (PBX, wire):               ${percentiles(f.inviteTo200)}`);
  if (transfer) {
    console.log(`  REFER -> 202 (PBX, wire):                ${percentiles(f.referTo202)}`);
    console.log(`  REFER -> target INVITE (wire):           ${percentiles(f.referToTargetInvite)}`);
    console.log(`  ReferReceived -> TargetInvited (events): ${percentiles(f.referReceivedToTargetInvited)}`);
    console.log(`  REFER -> final NOTIFY 200 (PBX, wire):   ${percentiles(f.referToFinalNotify)}`);
  }
  if (f.firstErrors) console.log(`  first SIPp errors:\n${f.firstErrors}`);
}
