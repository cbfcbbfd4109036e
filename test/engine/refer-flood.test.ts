/**
 * A REFER flood in one dialog (a PBX sending REFER after REFER) must not grow the call's stream: a REFER
 * refused 491 because a transfer is running stores nothing, and refusals by policy are stored only up
 * to a bound per call. The refused REFERs still count as the dialog's latest requests (RFC 3261
 * §12.2.2): a request below them is out of order.
 */
import { describe, expect, it } from 'vitest';
import { STORED_REFUSALS_PER_SESSION } from '../../src/engine/refusals.ts';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { pbxInDialog, testConfig } from '../helpers/sipInputs.ts';
import { answeredCall, harness } from './dialogSetup.ts';

const refer = (invite: SipRequestInput, pivotTag: string, seq: number, target = 'bob') =>
  pbxInDialog(invite, pivotTag, 'REFER', seq, { 'refer-to': [`<sip:${target}@127.0.0.1:5080>`] });

describe('a REFER flood in one dialog', () => {
  it('REFERs refused 491 while a transfer runs store nothing, and still raise the remote CSeq', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const accepted = await h.engine.handle(refer(invite, pivotTag, 2));
    expect(accepted.kind).toBe('stored');
    const stored = (await h.types()).length;

    let last = refer(invite, pivotTag, 3);
    for (let seq = 3; seq < 203; seq++) {
      last = refer(invite, pivotTag, seq, `carol${seq}`);
      const outcome = await h.engine.handle(last);
      expect(outcome.kind).toBe('replied');
      expect(h.sent.at(-1)).toMatchObject({ kind: 'response', status: 491 });
    }
    expect(await h.types()).toHaveLength(stored);

    // The same REFER delivered again is answered the same way (not 500 for its own CSeq).
    expect((await h.engine.handle(last)).kind).toBe('replied');
    expect(h.sent.at(-1)).toMatchObject({ status: 491, transactionKey: last.transactionKey });

    const stale = await h.engine.handle(pbxInDialog(invite, pivotTag, 'BYE', 150));
    expect(stale.kind).toBe('replied');
    expect(h.sent.at(-1)).toMatchObject({ status: 500 });
    const bye = await h.engine.handle(pbxInDialog(invite, pivotTag, 'BYE', 203));
    expect(bye.kind === 'stored' && bye.events[0]?.type).toBe('TransferorHungUp');
  });

  it('policy refusals are stored up to a bound per call, then only answered', async () => {
    const h = harness(createInMemoryEventStore(), testConfig({ transferMode: 'disable-all' }));
    const { invite, pivotTag } = await answeredCall(h);
    const stored = (await h.types()).length;
    const floods = STORED_REFUSALS_PER_SESSION + 100;
    for (let seq = 2; seq < 2 + floods; seq++) {
      await h.engine.handle(refer(invite, pivotTag, seq));
      expect(h.sent.at(-1)).toMatchObject({ kind: 'response', status: 403 });
    }
    const types = await h.types();
    expect(types.filter((t) => t === 'ReferRejected')).toHaveLength(STORED_REFUSALS_PER_SESSION);
    expect(types).toHaveLength(stored + 2 * STORED_REFUSALS_PER_SESSION);

    const stale = await h.engine.handle(pbxInDialog(invite, pivotTag, 'BYE', floods));
    expect(stale.kind).toBe('replied');
    expect(h.sent.at(-1)).toMatchObject({ status: 500 });
    const bye = await h.engine.handle(pbxInDialog(invite, pivotTag, 'BYE', floods + 2));
    expect(bye.kind === 'stored' && bye.events[0]?.type).toBe('HangupReceived');
  });
});
