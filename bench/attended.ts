/**
 * REFER->join latency of attended transfers through a pivot running in this process (SQLite in a temp
 * dir): each run places the customer call A and the consultation call B with SIPp, the PBX REFERs A with
 * B's dialog in Replaces, and the pivot joins the two far parties (test/e2e/attendedParties.ts).
 * Runs are sequential, one pivot for all of them.
 *
 *   npm run bench:attended [-- --runs 10]
 *
 * Figures: on the wire, the PBX's REFER sent -> final NOTIFY (200) received, from SIPp's message trace
 * timestamps; in the pivot, ReferReceived.at -> TransferCompleted.finalNotifyAt (the engine's clock:
 * REFER decided -> NOTIFY 200 decided, which spans the hand-over to B's session and the colleague's
 * answer to the re-INVITE without SDP).
 */
import {
  attendedCall,
  consultation,
  consultCall,
  joinedCarrier,
  storedEventually,
} from '../test/e2e/attendedParties.ts';
import { allPassed } from '../test/e2e/parties.ts';
import { readStoredEvents, startTestPivot } from '../test/e2e/pivot.ts';
import { freePort } from '../test/helpers/sipp.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const runs = Number(flag('runs', '10'));
if (!(runs > 0)) {
  console.error('usage: bench/attended.ts [--runs N]');
  process.exit(2);
}

/** Milliseconds from the PBX's REFER sent to the final NOTIFY received, from SIPp's trace. */
function wireLatency(trace: string): number | undefined {
  const blocks = trace.split(/^-{10,} (\S+ \S+)$/m);
  let referAt: number | undefined;
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const when = Date.parse(blocks[i]!.replace(' ', 'T'));
    const body = blocks[i + 1]!;
    if (/message sent/.test(body) && /^REFER /m.test(body)) referAt = when;
    if (
      referAt !== undefined &&
      /message received/.test(body) &&
      /^NOTIFY /m.test(body) &&
      /terminated/.test(body)
    )
      return when - referAt;
  }
  return undefined;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const carrierPort = await freePort();
const pivot = await startTestPivot({ carrierPort, sourceLimit: false });
const wire: number[] = [];
const engine: number[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const far = joinedCarrier({ port: carrierPort });
    await far.ready;
    const b = consultation(`bench${run}`);
    const agentB = consultCall(pivot.address, b, 'hung_up');
    await storedEventually(pivot.dbPath, (e) => e.type === 'CallAnswered' && e.data.callSid === b.callSid);
    const agentA = attendedCall(pivot.address, { replaces: b.replaces, flow: 'accepted' });
    const [resultA] = await allPassed(agentA, agentB, far);
    const measured = wireLatency(resultA!.messages);
    if (measured !== undefined) wire.push(measured);
    const events = readStoredEvents(pivot.dbPath);
    const refer = events.filter((e) => e.type === 'ReferReceived').at(-1)!;
    const completed = events.filter((e) => e.type === 'TransferCompleted').at(-1)!;
    engine.push(Date.parse(completed.data.finalNotifyAt) - Date.parse(refer.data.at));
  }
} finally {
  await pivot.dispose();
}

const line = (name: string, values: number[]) =>
  `${name.padEnd(40)} n=${values.length}  p50=${percentile(values, 50)} ms  p95=${percentile(values, 95)} ms  max=${Math.max(...values)} ms`;
console.log(line('wire: REFER sent -> NOTIFY 200 received', wire));
console.log(line('pivot: REFER -> NOTIFY 200 decided', engine));
