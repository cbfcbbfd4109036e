/**
 * The plain blind transfer of a termination call to a SIP target, every party SIPp: the PBX calls B
 * through the pivot, the carrier answers, the PBX REFERs the call to the target, the carrier is held and
 * then reconnected to it. The caller-ID mode decides both what the target sees in From and who ends the
 * child call, so the two modes between them cover both hang-up paths.
 */
import type { SippProcess, SippResult } from '../helpers/sipp.ts';
import { allPassed, carrier, pbx, target } from './parties.ts';

export const A = '+15550100000'; // the PBX's caller (transferor side)
export const B = '+15550200000'; // the called number: the carrier's party, the transferee

export type TransferCallerId = 'from-transferee' | 'from-transferor';

/** The number the target sees in From: the transferee's (B) or the transferor's caller (A). */
export const shownTo = (mode: TransferCallerId) => (mode === 'from-transferee' ? B : A);

/**
 * Runs the transfer to its end and waits for every party's scenario to pass. from-transferee: the
 * carrier ends the child call; from-transferor: the target does. `watch` is given the parties once all
 * are started (e.g. to print their traces if the test fails).
 */
export async function transferToSipTarget(
  pivotAddress: string,
  carrierPort: number,
  mode: TransferCallerId,
  watch?: (parties: { pbx: SippProcess; carrier: SippProcess; target: SippProcess }) => void,
): Promise<{
  targetPort: number;
  pbxResult: SippResult;
  carrierResult: SippResult;
  targetResult: SippResult;
}> {
  const carrierEnds = mode === 'from-transferee';
  const far = carrier({
    port: carrierPort,
    flow: 'hold_then_reconnect',
    childEnd: carrierEnds ? 'hangs_up' : 'hung_up',
  });
  const bob = target({
    outcome: 'answer',
    from: shownTo(mode),
    childEnd: carrierEnds ? 'hung_up' : 'hangs_up',
  });
  await Promise.all([far.ready, bob.ready]);
  const agent = pbx(pivotAddress, { flow: 'transfer', target: `target@127.0.0.1:${bob.port}` });
  watch?.({ pbx: agent, carrier: far, target: bob });
  const [pbxResult, carrierResult, targetResult] = await allPassed(agent, far, bob);
  return {
    targetPort: bob.port,
    pbxResult: pbxResult!,
    carrierResult: carrierResult!,
    targetResult: targetResult!,
  };
}
