/**
 * A retransmitted input in a long stream. Builds one call whose stream holds `--events` events (20,000
 * by default) the way a REFER flood grew them before refusals stopped being stored: an accepted
 * transfer, then pairs of ReferReceived + ReferRejected 491. The PBX then hangs up (stored through the
 * engine) and retransmits its BYE. Measured, in the same run:
 *
 * - before: deciding the repeated BYE again by folding the stream up to it (`decidedAt`), which every
 *   retransmission used to cost;
 * - after: the engine handling the retransmission (the state the BYE was decided on is kept, one
 *   event is read).
 *
 *   npm run bench:repeat [-- --events 20000 --repeats 20]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReferReceived } from '../machines/events.ts';
import { decide } from '../machines/session.ts';
import { toEventData } from '../src/engine/codec.ts';
import { createEngine } from '../src/engine/engine.ts';
import { decidedAt, loadSession } from '../src/engine/load.ts';
import type { SipCommand } from '../src/shared/messages.ts';
import { newSid, streamOf } from '../src/shared/sids.ts';
import { createSqliteEventStore } from '../src/store/sqlite.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, testConfig } from '../test/helpers/sipInputs.ts';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}
const targetEvents = flag('events', 20_000);
const repeats = flag('repeats', 20);

const dir = mkdtempSync(join(tmpdir(), 'pivot-bench-repeat-'));
const store = createSqliteEventStore({ path: join(dir, 'pivot.db') });
const seconds = (since: number) => (performance.now() - since) / 1000;
const ms = (value: number) => `${(value * 1000).toFixed(2)} ms`;

try {
  const sent: SipCommand[] = [];
  const config = testConfig();
  const newEngine = () => createEngine({ store, config, send: (command) => sent.push(command) });
  let engine = newEngine();

  // An answered call, and a transfer that is running.
  const invite = pbxInvite();
  const { sessionSid } = await engine.handle(invite);
  const farInvite = sent.findLast((c) => c.kind === 'request' && c.method === 'INVITE');
  if (farInvite?.kind !== 'request') throw new Error('no INVITE to the carrier');
  await engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
  const ok = sent.find((c) => c.kind === 'response' && c.status === 200);
  if (ok?.kind !== 'response' || !ok.toTag) throw new Error('no 200 to the PBX');
  const refer = pbxInDialog(invite, ok.toTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
  await engine.handle(refer);

  // The flood, stored as it used to be: every 491 refusal as two events.
  const stream = streamOf(sessionSid);
  const stored = await store.readStream(stream);
  const accepted = stored.find((e) => e.type === 'ReferReceived')!;
  const base = (await loadSession(store, sessionSid)).session;
  let revision = stored.at(-1)!.revision;
  let seq = 3;
  const fillStart = performance.now();
  while (revision + 1 < targetEvents - 2) {
    const batch = [];
    for (let i = 0; i < 500 && revision + 1 + batch.length < targetEvents - 2; i++, seq++) {
      const transactionKey = `z9hG4bKflood${seq}:REFER`;
      const again = {
        ...(accepted.data as Omit<ReferReceived, 'type'>),
        type: 'ReferReceived',
        transferSid: newSid('TR'),
        childCallSid: newSid('CA'),
        cseq: seq,
        refer: { adapterId: 'a1', transactionKey },
      } as ReferReceived;
      const decision = decide(base, again);
      const correlationId = `${invite.callId};${transactionKey}`;
      batch.push(toEventData(decision.events[0]!, { correlationId, inputKey: transactionKey }));
      for (const fact of decision.events.slice(1)) batch.push(toEventData(fact, { correlationId }));
    }
    const result = await store.appendToStream(stream, batch, { expectedRevision: revision });
    revision = result.nextExpectedRevision;
  }
  const fillSeconds = seconds(fillStart);

  // A fresh engine, as after a restart: its first input loads (folds) the stream once.
  await engine.stop();
  engine = newEngine();
  const bye = pbxInDialog(invite, ok.toTag, 'BYE', seq + 1);
  const loadStart = performance.now();
  const hungUp = await engine.handle(bye);
  const firstSeconds = seconds(loadStart);
  if (hungUp.kind !== 'stored') throw new Error(`BYE not stored: ${hungUp.kind}`);
  const all = await store.readStream(stream);
  const byeRevision = all.findLast((e) => e.type === 'TransferorHungUp')!.revision;
  const events = all.length;

  const beforeStart = performance.now();
  const folded = await decidedAt(store, sessionSid, byeRevision);
  const beforeSeconds = seconds(beforeStart);

  const afterTimes: number[] = [];
  let resent = 0;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const outcome = await engine.handle(bye);
    afterTimes.push(seconds(start));
    if (outcome.kind !== 'repeated') throw new Error(`retransmission not a repeat: ${outcome.kind}`);
    resent = outcome.commands.length;
  }
  afterTimes.sort((a, b) => a - b);
  if (resent !== folded.length)
    throw new Error(`re-sent ${resent} commands, the fold decides ${folded.length}`);

  console.log(`stream of ${events} events (${fillSeconds.toFixed(1)} s to write)`);
  console.table([
    { what: 'first input after a restart (loads the stream once)', time: ms(firstSeconds) },
    { what: 'before: a retransmission folded the stream up to its input', time: ms(beforeSeconds) },
    {
      what: `after: a retransmission through the engine, median of ${repeats}`,
      time: ms(afterTimes[Math.floor(repeats / 2)]!),
    },
    { what: `after: slowest of ${repeats}`, time: ms(afterTimes.at(-1)!) },
  ]);
  console.log(`commands re-sent per retransmission: ${resent} (the same as the fold decides)`);
  await engine.stop();
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
