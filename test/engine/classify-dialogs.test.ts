/**
 * Which dialog and transaction an incoming request belongs to (RFC 3261 §12.2.2, §8.2.2.2, §9.2), seen
 * through the engine: a refused request is answered with a clear log line and stores nothing.
 */
import { describe, expect, it } from 'vitest';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { answer, pbxInDialog, pbxInvite, peerInDialog, SDP_CARRIER, SDP_PBX } from '../helpers/sipInputs.ts';
import { answeredCall, cancelOf, expectRefused, harness } from './dialogSetup.ts';

const withTags = (input: SipRequestInput, tags: { from?: string; to?: string | null }): SipRequestInput => ({
  ...input,
  ...(tags.from !== undefined ? { from: { ...input.from, params: { tag: tags.from } } } : {}),
  ...(tags.to !== undefined ? { to: { ...input.to, params: tags.to === null ? {} : { tag: tags.to } } } : {}),
});

describe('in-dialog requests are matched on Call-ID, local tag and remote tag (RFC 3261 §12.2.2)', () => {
  it('a BYE whose To tag is not ours gets 481 and the call goes on', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await expectRefused(
      h,
      withTags(pbxInDialog(invite, pivotTag, 'BYE', 2), { to: 'not-ours' }),
      481,
      /To tag/,
    );
    // The real BYE still ends the call.
    const outcome = await h.engine.handle(pbxInDialog(invite, pivotTag, 'BYE', 3));
    expect(outcome.kind).toBe('stored');
    expect(await h.types()).toContain('HangupReceived');
  });

  it("a BYE whose From tag is not the PBX's gets 481", async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await expectRefused(
      h,
      withTags(pbxInDialog(invite, pivotTag, 'BYE', 2), { from: 'intruder' }),
      481,
      /From tag/,
    );
  });

  it('a BYE without To tag (outside any dialog) gets 481', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await expectRefused(h, withTags(pbxInDialog(invite, pivotTag, 'BYE', 2), { to: null }), 481, /no To tag/);
  });

  it('a re-INVITE or a REFER with a wrong To tag gets 481 and starts nothing', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const reinvite = { ...pbxInDialog(invite, pivotTag, 'INVITE', 2), body: SDP_PBX };
    await expectRefused(h, withTags(reinvite, { to: 'pvx' }), 481, /To tag/);
    const refer = pbxInDialog(invite, pivotTag, 'REFER', 3, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
    await expectRefused(h, withTags(refer, { to: 'pvx' }), 481, /To tag/);
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered', 'CallAcked']);
  });

  it("the carrier's BYE on the far leg must carry the carrier's tag and ours", async () => {
    const h = harness();
    const { farInvite } = await answeredCall(h);
    const forged = peerInDialog(farInvite, 'BYE', 1, 'not-gw') as SipRequestInput;
    await expectRefused(h, forged, 481, /From tag/);
    const bye = peerInDialog(farInvite, 'BYE', 1, 'gw') as SipRequestInput;
    expect(bye.to.params.tag).toMatch(/^pv/);
    const outcome = await h.engine.handle(bye);
    expect(outcome.kind).toBe('stored');
  });
});

describe('a second INVITE with a known Call-ID and no To tag (RFC 3261 §8.2.2.2)', () => {
  it('gets 482 Loop Detected while the call rings or is answered (a merged request)', async () => {
    const h = harness();
    const invite = pbxInvite();
    await h.engine.handle(invite);
    const copy = (n: number) => ({ ...invite, transactionKey: `z9hG4bKother-branch-${n}:INVITE` });
    await expectRefused(h, copy(1), 482, /merged request/);
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    await expectRefused(h, copy(2), 482, /merged request/);
    expect(h.sent.at(-1)).toMatchObject({ reason: 'Loop Detected' });
  });

  it('gets 400 once the call has ended (the Call-ID may not be reused)', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await h.engine.handle(pbxInDialog(invite, pivotTag, 'BYE', 2));
    await expectRefused(
      h,
      { ...invite, transactionKey: 'z9hG4bKreused:INVITE' },
      400,
      /Call-ID already used/,
    );
  });
});

describe('CANCEL (RFC 3261 §9.2)', () => {
  it('cancels the ringing call when it matches the INVITE (Call-ID and From tag)', async () => {
    const h = harness();
    const invite = pbxInvite();
    await h.engine.handle(invite);
    const cancel = { ...invite, transactionKey: `${invite.transactionKey}-c:CANCEL`, method: 'CANCEL' };
    await expectRefused(h, withTags(cancel, { from: 'someone-else' }), 481, /no INVITE to cancel/);
    const outcome = await h.engine.handle(cancel);
    expect(outcome.kind).toBe('stored');
    expect(await h.types()).toContain('CallCanceled');
  });

  it('answers 200 to a CANCEL of a re-INVITE being relayed; the re-INVITE still gets its final response', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const reinvite = { ...pbxInDialog(invite, pivotTag, 'INVITE', 2), body: SDP_PBX };
    expect((await h.engine.handle(reinvite)).kind).toBe('stored');
    const relayed = h.lastRequest('INVITE');

    await expectRefused(h, cancelOf(reinvite), 200, /re-INVITE .* continues/);

    const outcome = await h.engine.handle(answer(relayed, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(outcome.kind).toBe('stored');
    expect(
      h.sent.find(
        (c) => c.kind === 'response' && c.transactionKey === reinvite.transactionKey && c.status === 200,
      ),
    ).toBeDefined();
  });

  it('answers 481 to a CANCEL in a dialog with no INVITE pending', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const cancel = { ...pbxInDialog(invite, pivotTag, 'CANCEL', 2) };
    await expectRefused(h, cancel, 481, /no INVITE to cancel/);
  });
});
