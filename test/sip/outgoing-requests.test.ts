import { afterEach, describe, expect, it } from 'vitest';
import type { NameAddr, SendRequestCommand, SipResponseInput } from '../../src/shared/messages.ts';
import { describeSipp, runSipp } from '../helpers/sipp.ts';
import { type Harness, SDP, startAdapter } from './support.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const from: NameAddr = { uri: 'sip:+15550100001@pivot.test', params: { tag: 'pivot-from-1' } };
const to: NameAddr = { uri: 'sip:+15550100002@target.test', params: {} };

function invite(branch: string, port: number, transport: 'udp' | 'tcp' = 'udp'): SendRequestCommand {
  return {
    kind: 'request',
    branch,
    method: 'INVITE',
    uri: `sip:+15550100002@127.0.0.1:${port}`,
    destination: { transport, host: '127.0.0.1', port },
    callId: 'CApivot-test-call@pivot',
    from,
    to,
    cseq: { seq: 1, method: 'INVITE' },
    contact: `<sip:pivot@127.0.0.1:${harness?.port}>`,
    route: ['<sip:edge.example.test;lr>'],
    headers: { 'X-Pivot-Test': 'yes' },
    body: SDP,
    contentType: 'application/sdp',
  };
}

const response = (status: number, method: string) => (input: { kind: string }) =>
  input.kind === 'response' &&
  (input as SipResponseInput).status === status &&
  (input as SipResponseInput).cseq.method === method;

describe('requests sent with SendRequestCommand', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    it(`places a call over ${transport}: INVITE, responses back by branch, ACK and BYE`, async () => {
      harness = await startAdapter();
      const sipp = runSipp({ scenario: 'uas-invite.xml', transport });
      await sipp.ready;
      harness.adapter.execute(invite('z9hG4bK-pivot-invite-1', sipp.port, transport));

      const ringing = await harness.waitFor<SipResponseInput>(response(180, 'INVITE'));
      expect(ringing).toMatchObject({
        transactionKey: 'z9hG4bK-pivot-invite-1',
        callId: 'CApivot-test-call@pivot',
        source: { transport, host: '127.0.0.1', port: sipp.port },
      });
      const ok = await harness.waitFor<SipResponseInput>(response(200, 'INVITE'));
      expect(ok.transactionKey).toBe('z9hG4bK-pivot-invite-1');
      expect(ok.to.params.tag).toMatch(/SIPpTag01/);
      expect(ok.body).toContain('o=target');
      const remoteTarget = ok.contact?.uri ?? '';
      expect(remoteTarget).toContain(`127.0.0.1:${sipp.port}`);

      const inDialog = { callId: ok.callId, from, to: ok.to, destination: ok.source, uri: remoteTarget };
      harness.adapter.execute({
        kind: 'request',
        branch: 'z9hG4bK-pivot-ack-1',
        method: 'ACK',
        cseq: { seq: 1, method: 'ACK' },
        ...inDialog,
      });
      harness.adapter.execute({
        kind: 'request',
        branch: 'z9hG4bK-pivot-bye-1',
        method: 'BYE',
        cseq: { seq: 2, method: 'BYE' },
        ...inDialog,
      });
      const byeOk = await harness.waitFor<SipResponseInput>(response(200, 'BYE'));
      expect(byeOk.transactionKey).toBe('z9hG4bK-pivot-bye-1');

      const result = await sipp.done;
      expect(result.code, describeSipp(result)).toBe(0);
      expect(harness.responses().map((r) => `${r.status} ${r.cseq.method}`)).toEqual([
        '100 INVITE',
        '180 INVITE',
        '200 INVITE',
        '200 BYE',
      ]);
    });
  }

  it('ACKs a failure itself (transaction layer) and delivers the 486 once', async () => {
    harness = await startAdapter();
    const sipp = runSipp({ scenario: 'uas-busy.xml' });
    await sipp.ready;
    harness.adapter.execute(invite('z9hG4bK-pivot-busy-1', sipp.port));
    const busy = await harness.waitFor<SipResponseInput>(response(486, 'INVITE'));
    expect(busy.transactionKey).toBe('z9hG4bK-pivot-busy-1');
    const result = await sipp.done;
    expect(result.code, describeSipp(result)).toBe(0);
    expect(result.messages.match(/^ACK /gm)).toHaveLength(1);
    expect(harness.responses().filter((r) => r.status === 486)).toHaveLength(1);
  });

  it('CANCELs a ringing INVITE with the same branch; 200 maps to the CANCEL and 487 to the INVITE', async () => {
    harness = await startAdapter();
    const sipp = runSipp({ scenario: 'uas-cancel.xml' });
    await sipp.ready;
    const command = invite('z9hG4bK-pivot-cancel-1', sipp.port);
    harness.adapter.execute(command);
    await harness.waitFor(response(180, 'INVITE'));
    harness.adapter.execute({
      ...command,
      method: 'CANCEL',
      cseq: { seq: 1, method: 'CANCEL' },
      headers: {},
      body: '',
      contact: undefined,
    });
    const cancelled = await harness.waitFor<SipResponseInput>(response(200, 'CANCEL'));
    const terminated = await harness.waitFor<SipResponseInput>(response(487, 'INVITE'));
    expect(cancelled.transactionKey).toBe('z9hG4bK-pivot-cancel-1');
    expect(terminated.transactionKey).toBe('z9hG4bK-pivot-cancel-1');
    const result = await sipp.done;
    expect(result.code, describeSipp(result)).toBe(0);
  });

  it('sends a NOTIFY with the headers and body it is given', async () => {
    harness = await startAdapter();
    const sipp = runSipp({ scenario: 'uas-notify.xml' });
    await sipp.ready;
    harness.adapter.execute({
      kind: 'request',
      branch: 'z9hG4bK-pivot-notify-1',
      method: 'NOTIFY',
      uri: `sip:pbx@127.0.0.1:${sipp.port}`,
      destination: { transport: 'udp', host: '127.0.0.1', port: sipp.port },
      callId: 'CApivot-notify@pivot',
      from,
      to: { uri: 'sip:pbx@127.0.0.1', params: { tag: 'pbx-tag' } },
      cseq: { seq: 7, method: 'NOTIFY' },
      contact: `<sip:pivot@127.0.0.1:${harness.port}>`,
      headers: { event: 'refer', 'subscription-state': 'active;expires=60' },
      body: 'SIP/2.0 100 Trying\r\n',
      contentType: 'message/sipfrag;version=2.0',
    });
    const ok = await harness.waitFor<SipResponseInput>(response(200, 'NOTIFY'));
    expect(ok).toMatchObject({
      transactionKey: 'z9hG4bK-pivot-notify-1',
      cseq: { seq: 7, method: 'NOTIFY' },
    });
    const result = await sipp.done;
    expect(result.code, describeSipp(result)).toBe(0);
  });
});
