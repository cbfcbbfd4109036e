/**
 * The machines alone, no store and no SIP: how many stored events a session fold takes, and how many
 * inputs `decide` runs, per CPU second of this process (steadier than wall time on a shared machine).
 * The session is a failed transfer, a second transfer that completes, and the child call's end.
 *
 *   npm run bench:fold [-- --rounds 3000]
 */
import type { SessionEvent } from '../machines/events.ts';
import { decide, emptySession, evolveAll } from '../machines/session.ts';
import {
  at,
  CHILD_2,
  hangup,
  noAnswerFired,
  ROOT,
  referReceived,
  TRANSFER_2,
  targetInvited,
  transferResponse,
  tx,
} from '../test/helpers/fixtures.ts';
import { live } from '../test/helpers/sessionSpec.ts';

const roundsFlag = process.argv.indexOf('--rounds');
const rounds = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 3000;
if (!(rounds > 0)) {
  console.error('usage: bench/fold.ts [--rounds N]');
  process.exit(2);
}

const second = <T extends SessionEvent>(event: T): T => ({ ...event, transferSid: TRANSFER_2, at: at(61) });
const inputs: SessionEvent[] = [
  ...targetInvited(),
  noAnswerFired(),
  transferResponse('TransfereeResumed', { at: at(52) }),
  referReceived({
    transferSid: TRANSFER_2,
    childCallSid: CHILD_2,
    cseq: 3,
    at: at(60),
    refer: tx('z9hG4bK-pbx-refer-3|REFER'),
    referTo: ['<tel:+4930123456>'],
    targetDestination: undefined,
  }),
  second(transferResponse('TransfereeHeld')),
  second(transferResponse('TargetAnswered')),
  second(transferResponse('TransfereeReconnected')),
  hangup('target', { callSid: CHILD_2 }),
];
const stored = live(inputs).flatMap((decision) => decision.events);

function cpuSeconds(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

const fold = () => {
  for (let round = 0; round < rounds; round++) evolveAll(emptySession(ROOT), stored);
};
const decideAll = () => {
  for (let round = 0; round < rounds; round++) {
    let session = emptySession(ROOT);
    for (const input of inputs) session = decide(session, input).session;
  }
};

fold();
decideAll(); // warm-up
const foldSeconds = cpuSeconds(fold);
const decideSeconds = cpuSeconds(decideAll);
console.log(`${rounds} sessions of ${inputs.length} inputs, ${stored.length} stored events each`);
console.log(`fold (evolveAll):  ${Math.round((stored.length * rounds) / foldSeconds)} events per CPU second`);
console.log(
  `decide:            ${Math.round((inputs.length * rounds) / decideSeconds)} inputs per CPU second`,
);
