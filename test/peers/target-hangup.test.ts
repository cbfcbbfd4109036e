/**
 * A target that hangs up at once. The pivot ACKs the target as soon as it answers, so a real phone talks
 * (and may hang up) while the pivot is still waiting for the far party's answer to the reconnect
 * re-INVITE. Its BYE is a request inside an established dialog (RFC 3261 §15.1.2: answered 2xx), and the
 * far party, now bridged to nobody, must not be left connected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type PivotUnderTest, startTestPivot, TRUNK_DOMAIN } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { startBaresip } from './baresip.ts';
import { CALLED, receivedMessages, startCarrier, stopPeers, TARGET_IP, track } from './blindTransfer.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await stopPeers();
  await pivot?.dispose();
  pivot = undefined;
});

describe('the target hangs up while the far party is being reconnected', () => {
  it('its BYE gets 200 and the carrier is hung up', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    // The carrier takes 300 ms to answer the reconnect: the target's BYE arrives meanwhile.
    const carrier = startCarrier(carrierPort, { reconnectDelayMs: 300, timeoutMs: 10_000 });
    await carrier.ready;
    const target = track(
      await startBaresip({ ip: TARGET_IP, name: 'target', aor: (port) => `sip:target@${TARGET_IP}:${port}` }),
    );
    const pbx = track(
      await startBaresip({
        ip: '127.0.0.1',
        name: 'pbx',
        aor: (port) => `sip:+15550100000@127.0.0.1:${port}`,
        outbound: pivot.address,
      }),
    );

    await pbx.command('dial', `sip:${CALLED}@${TRUNK_DOMAIN}`);
    await pbx.waitFor('CALL_ESTABLISHED', (e) => e.type === 'CALL_ESTABLISHED');
    await pbx.command('transfer', `sip:target@${TARGET_IP}:${target.sipPort}`);
    await target.waitFor('CALL_ESTABLISHED', (e) => e.type === 'CALL_ESTABLISHED');
    await target.command('hangup');

    const answer = await target.waitForSip(
      'answer to its BYE',
      (m) => m.source !== `${TARGET_IP}:${target.sipPort}` && /^CSeq:\s*\d+ BYE\r$/m.test(m.text),
    );
    expect(answer.firstLine, answer.text).toBe('SIP/2.0 200 OK');
    const carrierResult = await carrier.done;
    expect(receivedMessages(carrierResult).at(-1)?.split('\r\n')[0] ?? '', carrierResult.errors).toMatch(
      /^BYE /,
    );
    expect(carrierResult.code, carrierResult.errors).toBe(0);
  });
});
