/**
 * Putting the transferee on hold over the wire (RFC 3264 §8.4): a PBX whose stream was recvonly gets
 * its far party held inactive, not sendonly (the default hold is checked by every transfer test through
 * e2e-carrier.xml).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/sipp.ts';
import { allPassed, carrier, pbx, target } from './parties.ts';
import { type PivotUnderTest, startTestPivot } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('the hold of the transferee', () => {
  it('a PBX whose stream was recvonly: the carrier is held inactive (RFC 3264 §8.4), then reconnected', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({
      port: carrierPort,
      flow: 'hold_then_reconnect',
      holdDirection: 'inactive',
      childEnd: 'hangs_up',
    });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, {
      flow: 'transfer',
      target: `target@127.0.0.1:${bob.port}`,
      direction: 'recvonly',
    });
    await allPassed(agent, far, bob);
    const events = await pivot.events();
    expect(events.filter((e) => e.type === 'TransferCompleted')).toHaveLength(1);
  });
});
