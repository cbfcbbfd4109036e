/**
 * The SIP trace over the wire: after a real blind transfer (SIPp PBX, carrier and target), the call's
 * /Messages lists what the pivot received and sent in wire order, bounded by the per-call cap, and
 * nothing when the trace is off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readPcap } from '../helpers/pcap.ts';
import { freePort } from '../helpers/sipp.ts';
import { type PivotUnderTest, startTestPivot } from './pivot.ts';
import { readModel } from './readModel.ts';
import { transferToSipTarget } from './sipTargetTransfer.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

interface Message {
  Direction: 'in' | 'out';
  FirstLine: string;
  CSeq: string;
  RemotePort: number;
  Text: string;
}

/** The transferred (root) call and its child, once the read models have them. */
async function transferredCall(url: string) {
  const api = readModel(url);
  await api.untilEndedAndBilled({ calls: 2, billingLines: 2 });
  const { Calls } = await api.get('/v1/Calls');
  const child = Calls.find((c: { ParentCallSid: string | null }) => c.ParentCallSid !== null);
  return { api, root: child.ParentCallSid as string, child: child.Sid as string };
}

const label = (m: Message) =>
  `${m.Direction} ${m.FirstLine.startsWith('SIP/2.0') ? `${m.FirstLine.slice(8)} (${m.CSeq})` : m.FirstLine.split(' ')[0]}`;

describe('the SIP trace of a call', () => {
  it('lists REFER, 202, the NOTIFYs and the target INVITE in wire order, for the call and its child', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const { targetPort } = await transferToSipTarget(pivot.address, carrierPort, 'from-transferee');
    const { api, root, child } = await transferredCall(pivot.httpUrl);

    const trace = await api.get(`/v1/Calls/${root}/Messages`);
    expect(trace).toMatchObject({ CallSid: root, SessionSid: root, Capture: 'on', Truncated: false });
    const messages = trace.Messages as Message[];
    const labels = messages.map(label);
    expect(labels[0]).toBe('in INVITE');
    const at = (wanted: string, from = 0) => {
      const index = labels.indexOf(wanted, from);
      expect(index, `${wanted} after #${from} in ${labels.join(', ')}`).toBeGreaterThanOrEqual(from);
      return index;
    };
    const refer = at('in REFER');
    const accepted = at('out 202 Accepted (2 REFER)', refer);
    expect(messages[accepted]!.Text).toMatch(/^CSeq: *\d+ REFER\r$/m);
    const firstNotify = at('out NOTIFY', accepted);
    const targetInvite = labels.findIndex(
      (l, i) => l === 'out INVITE' && messages[i]!.RemotePort === targetPort,
    );
    expect(targetInvite).toBeGreaterThan(firstNotify);
    const notifies = messages.filter((m) => m.FirstLine.startsWith('NOTIFY'));
    expect(notifies.map((m) => /\r\n\r\n(SIP\/2\.0 \d{3})/.exec(m.Text)?.[1])).toEqual([
      'SIP/2.0 100',
      'SIP/2.0 180',
      'SIP/2.0 200',
    ]);
    expect(messages.every((m) => m.Text.startsWith(m.FirstLine))).toBe(true);

    // A child call lives in its parent's session, and so do its messages.
    const ofChild = await api.get(`/v1/Calls/${child}/Messages`);
    expect(ofChild.SessionSid).toBe(root);
    expect(ofChild.Messages).toHaveLength(messages.length);

    const text = await fetch(`${pivot.httpUrl}/v1/Calls/${root}/Messages?format=text`, {
      headers: { authorization: pivot.apiKey.authorization },
    });
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await text.text();
    expect(body).toMatch(/^\S+ 127\.0\.0\.1:\d+ -> pivot \(UDP\)\nINVITE sip:/);
    expect(body).toContain(
      `pivot -> 127.0.0.1:${targetPort} (UDP)\nINVITE sip:target@127.0.0.1:${targetPort}`,
    );

    const capture = await fetch(`${pivot.httpUrl}/v1/Calls/${root}/Messages?format=pcap`, {
      headers: { authorization: pivot.apiKey.authorization },
    });
    expect(capture.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap');
    const packets = readPcap(Buffer.from(await capture.arrayBuffer()));
    expect(packets.map((p) => p.payload)).toEqual(messages.map((m) => m.Text));
    expect(packets[0]).toMatchObject({
      source: '127.0.0.1',
      destination: '127.0.0.1',
      destinationPort: pivot.port,
    });
    expect(packets[targetInvite]).toMatchObject({ sourcePort: pivot.port, destinationPort: targetPort });
    expect(packets.every((p) => p.headerValid)).toBe(true);

    const anonymous = await fetch(`${pivot.httpUrl}/v1/Calls/${root}/Messages`);
    expect(anonymous.status).toBe(401);
    const bad = await fetch(`${pivot.httpUrl}/v1/Calls/${root}/Messages?format=pcapng`, {
      headers: { authorization: pivot.apiKey.authorization },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toMatch(/format/);
  });

  it('keeps at most maxMessagesPerCall messages of a session, and none when the trace is off', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, trace: { maxMessagesPerCall: 5 } });
    await transferToSipTarget(pivot.address, carrierPort, 'from-transferee');
    const { api, root } = await transferredCall(pivot.httpUrl);
    const capped = await api.get(`/v1/Calls/${root}/Messages`);
    const labels = capped.Messages.map(label);
    expect(labels).toHaveLength(5);
    expect(labels[0]).toBe('in INVITE');
    expect(labels).toContain('out INVITE');
    expect(labels).not.toContain('in REFER');
    expect(capped).toMatchObject({ MaxMessages: 5, Truncated: true });
    await pivot.dispose();

    const nextCarrier = await freePort();
    pivot = await startTestPivot({ carrierPort: nextCarrier, trace: { enabled: false } });
    await transferToSipTarget(pivot.address, nextCarrier, 'from-transferee');
    const off = await transferredCall(pivot.httpUrl);
    expect(await off.api.get(`/v1/Calls/${off.root}/Messages`)).toMatchObject({
      Capture: 'off',
      Messages: [],
    });
  });
});
