/**
 * 100rel (RFC 3262) on the wire: a carrier that sends its early media reliably gets its PRACK and
 * answers; a PBX that requires 100rel is taken (not refused with 420) and hears no 18x at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, received, renderScenario, withoutTrying } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

async function withReliableCarrier(pbxScenario: string) {
  const carrierPort = await freePort();
  pivot = await startTestPivot({ carrierPort });
  const carrier = runSipp({
    scenario: 'vendors/carrier-reliable-progress.xml',
    localIp: CARRIER_IP,
    localPort: carrierPort,
  });
  await carrier.ready;
  const pbx = runSipp({
    scenario: renderScenario(pbxScenario, { DOMAIN: 'acme.pstn.pivot.test' }),
    remote: pivot.address,
  });
  const [carrierResult, pbxResult] = await allPassed(carrier, pbx);
  return { carrier: carrierResult!, pbx: pbxResult!, events: await pivot.events() };
}

/** The 183 the PBX received, as text. */
function progressTo(messages: string): string {
  const block = messages
    .split(/^-{10,}.*$/m)
    .find((b) => /message received/.test(b) && /SIP\/2\.0 183/.test(b));
  if (!block) throw new Error('no 183 received');
  return block;
}

describe('reliable provisional responses (100rel)', () => {
  it("the carrier's reliable 183 is PRACKed, relayed to the PBX unreliably, and the call completes", async () => {
    const run = await withReliableCarrier('vendors/freeswitch-pbx.xml');
    expect(received(run.carrier).map((line) => line.split(' ')[0])).toEqual([
      'INVITE',
      'PRACK',
      'ACK',
      'BYE',
    ]);
    expect(withoutTrying(received(run.pbx))).toEqual([
      'SIP/2.0 183 Session Progress',
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
    ]);
    const progress = progressTo(run.pbx.messages);
    expect(progress).not.toMatch(/^RSeq:/m);
    expect(progress).not.toMatch(/^Require:/m);
    expect(progress).toMatch(/^m=audio 20000 /m);
    expect(run.events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallProgress',
      'CallAnswered',
      'CallAcked',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(run.events[1]!.data).toMatchObject({ status: 183, rseq: 1 });
  });

  it('a PBX requiring 100rel is taken and hears nothing before the 200; its stray PRACK gets 481', async () => {
    const run = await withReliableCarrier('vendors/cube-pbx-require-100rel.xml');
    expect(withoutTrying(received(run.pbx))).toEqual([
      'SIP/2.0 200 OK',
      'SIP/2.0 481 Call/Transaction Does Not Exist',
      'SIP/2.0 200 OK',
    ]);
    expect(run.events[0]!.data.requires100rel).toBe(true);
    expect(run.events.map((e) => e.type)).toContain('CallAnswered');
  });
});
