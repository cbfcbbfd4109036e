/**
 * Blind transfers through a distributed pivot: `pivot sip` and two `pivot engine` processes over NATS
 * JetStream, events in PostgreSQL. The SIPp parties and the wire checks are those of test/e2e; the
 * stored events are read from PostgreSQL and must be exactly what the in-process pivot stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callSidForCallId } from '../../src/shared/sids.ts';
import { UNTIL_TARGET_RINGS } from '../e2e/expectedEvents.ts';
import { allPassed, carrier, pbx, received, target, withoutTrying } from '../e2e/parties.ts';
import { the, typesOf } from '../e2e/pivot.ts';
import { transferToSipTarget } from '../e2e/sipTargetTransfer.ts';
import { completedTransferCalls } from '../e2e/storedTransfer.ts';
import { type Cluster, startCluster } from '../helpers/cluster.ts';
import { withoutReaperTimers } from '../helpers/sipInputs.ts';
import { freePort, type SippResult } from '../helpers/sipp.ts';
import {
  integrityProblems,
  printOutputOnFailure,
  printSippOnFailure,
  sentRequests,
  storedInputKeys,
} from './support.ts';

let cluster: Cluster | undefined;
let carrierPort = 0;

beforeAll(async () => {
  carrierPort = await freePort();
  cluster = await startCluster({ carrierPort, engines: 2 });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
});

/** The events of the session the PBX's call started (the cluster is shared by the tests of this file). */
async function sessionEvents(pbxResult: SippResult) {
  const callId = sentRequests(pbxResult).find((r) => r.method === 'INVITE')!.callId;
  const stream = `call-${callSidForCallId(callId)}`;
  await cluster!.settle();
  const all = await cluster!.events();
  // The reaper timers every call has are left out, as in test/e2e (pivot.events()).
  return { all, events: withoutReaperTimers(all.filter((e) => e.stream === stream)), stream };
}

/** What the PBX receives in a transfer: its call answered, the REFER accepted, three NOTIFYs, its BYE answered. */
const pbxReceivesInTransfer = (firstNotify: unknown) => [
  'SIP/2.0 180 Ringing',
  'SIP/2.0 200 OK',
  'SIP/2.0 202 Accepted',
  firstNotify,
  expect.stringMatching(/^NOTIFY /),
  expect.stringMatching(/^NOTIFY /),
  'SIP/2.0 200 OK',
];

/** What the carrier receives in a transfer, by method: its call, the hold, the reconnect or resume, then `last`. */
const carrierReceivesInTransfer = (last: string) => ['INVITE', 'ACK', 'INVITE', 'ACK', 'INVITE', 'ACK', last];

const methodsReceived = (result: SippResult) => received(result).map((line) => line.split(' ')[0]);

describe('a distributed pivot (sip + 2 engines over NATS, PostgreSQL store)', () => {
  it('completes a blind transfer (from-transferee) with the same wire messages and events as in-process', async () => {
    printOutputOnFailure(cluster!);
    const { targetPort, pbxResult, carrierResult, targetResult } = await transferToSipTarget(
      cluster!.sipAddress,
      carrierPort,
      'from-transferee',
      printSippOnFailure,
    );

    expect(withoutTrying(received(pbxResult))).toEqual(
      pbxReceivesInTransfer(expect.stringMatching(/^NOTIFY sip:pbx@127\.0\.0\.1:\d+ SIP\/2\.0$/)),
    );
    expect(methodsReceived(carrierResult)).toEqual(carrierReceivesInTransfer('SIP/2.0'));
    expect(methodsReceived(targetResult)).toEqual(['INVITE', 'ACK', 'BYE']);

    const { events, all } = await sessionEvents(pbxResult);
    const { rootCall: root, childCall: child } = completedTransferCalls(events);
    expect(the(events, 'ReferAccepted').data).toMatchObject({
      referTo: `sip:target@127.0.0.1:${targetPort}`,
      targetKind: 'sip',
      referSub: true,
      referredBy: '<sip:agent@pbx.example.test>',
    });
    expect(the(events, 'TargetInvited').data.from.uri).toBe('sip:+15550200000@127.0.0.1');
    expect(the(events, 'ChildCallStarted').data).toMatchObject({
      parentCallSid: root,
      from: '+15550200000',
      to: 'target',
    });
    expect(events.filter((e) => e.type === 'CallEnded').map((e) => e.data.status)).toEqual([
      'completed',
      'completed',
    ]);
    expect(events.find((e) => e.type === 'HangupReceived' && e.data.callSid === child)?.data.leg).toBe('far');

    // Every request the PBX and the carrier sent is stored once, under its transaction key.
    expect(integrityProblems(all)).toEqual([]);
    const keys = storedInputKeys(events);
    const stream = events[0]!.stream;
    const requests = [...sentRequests(pbxResult), ...sentRequests(carrierResult)];
    expect(requests.map((r) => r.method).sort()).toEqual(['BYE', 'BYE', 'INVITE', 'REFER']);
    for (const r of requests) expect(keys, `${r.method} ${r.branch}`).toContain(`${stream} ${r.branch}`);
  }, 120_000);

  it('target busy: final NOTIFY 486, carrier resumed, the call goes on until the PBX hangs up', async () => {
    printOutputOnFailure(cluster!);
    const far = carrier({ port: carrierPort, flow: 'hold_then_resume', afterResume: 'hung_up' });
    const busy = target({ outcome: 'busy' });
    await Promise.all([far.ready, busy.ready]);
    const agent = pbx(cluster!.sipAddress, {
      flow: 'transfer',
      target: `target@127.0.0.1:${busy.port}`,
      final: '486 Busy Here',
      afterTransfer: 'hang_up',
    });
    printSippOnFailure({ pbx: agent, carrier: far, target: busy });
    const [pbxResult, carrierResult, targetResult] = await allPassed(agent, far, busy);
    expect(withoutTrying(received(pbxResult!))).toEqual(
      pbxReceivesInTransfer(expect.stringMatching(/^NOTIFY /)),
    );
    expect(methodsReceived(carrierResult!)).toEqual(carrierReceivesInTransfer('BYE'));
    expect(methodsReceived(targetResult!)).toEqual(['INVITE', 'ACK']);

    const { events, all } = await sessionEvents(pbxResult!);
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root)).toEqual([
      ...UNTIL_TARGET_RINGS,
      'TargetFailed',
      'TimerCanceled',
      'TransfereeResumed',
      'TransferFailed',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(the(events, 'TransferFailed').data).toMatchObject({ status: 486, reason: 'Busy Here' });
    expect(the(events, 'CallEnded').data.status).toBe('completed');
    expect(events.map((e) => e.type)).not.toContain('ChildCallStarted');
    expect(integrityProblems(all)).toEqual([]);
  }, 120_000);
});
