/**
 * A REFER through the engine: what it puts into ReferReceived so the transfer machine can tell where a
 * target goes (the carrier's networks, the pivot's own address and port), and control bytes that never
 * reach the store or a machine.
 */
import { describe, expect, it } from 'vitest';
import type { SendResponseCommand } from '../../src/shared/messages.ts';
import { answer, CARRIER, pbxInDialog, SDP_CARRIER, testConfig } from '../helpers/sipInputs.ts';
import { answeredCall, type H, harness } from './dialogSetup.ts';

async function refer(h: H, headers: Record<string, string[]>) {
  const { invite, pivotTag } = await answeredCall(h);
  const request = pbxInDialog(invite, pivotTag, 'REFER', 2, headers);
  await h.engine.handle(request);
  const events = await h.store.readAll();
  const response = h.sent.find(
    (c): c is SendResponseCommand => c.kind === 'response' && c.transactionKey === request.transactionKey,
  );
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are checked field by field.
  const data = (type: string): any => events.find((e) => e.type === type)?.data;
  return { events, response, data };
}

function hasControl(value: unknown): boolean {
  if (typeof value === 'string') return [...value].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f');
  if (value && typeof value === 'object') return Object.values(value).some(hasControl);
  return false;
}

describe('ReferReceived carries where targets must not go', () => {
  it("the carrier's address and sources, the pivot's own addresses and port", async () => {
    const h = harness();
    const { data } = await refer(h, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
    expect(data('ReferReceived').policy).toMatchObject({
      carrierNetworks: ['127.0.0.2/32'],
      pivotNetworks: expect.arrayContaining(['127.0.0.1/32', '0.0.0.0/32']),
      pivotPort: 5060,
    });
  });

  it('an IPv4-mapped target is sent to as the IPv4 address it is', async () => {
    const h = harness();
    const { data } = await refer(h, { 'refer-to': ['<sip:bob@[::ffff:127.0.0.1]:5080>'] });
    expect(data('ReferReceived').targetDestination).toEqual({
      transport: 'udp',
      host: '127.0.0.1',
      port: 5080,
    });
    expect(data('ReferAccepted')).toMatchObject({ targetKind: 'sip' });
  });
});

describe('a Refer-To at the carrier', () => {
  it('sip-only: 403 with a Warning naming the carrier, recorded as ReferRejected', async () => {
    const h = harness(undefined, testConfig({ transferMode: 'sip-only' }));
    const { response, data } = await refer(h, {
      'refer-to': ['<sip:+442071234567@127.0.0.2:5090;user=phone>'],
    });
    const why =
      'PSTN targets are not allowed on trunk acme (sip-only): Refer-To host 127.0.0.2 is the carrier';
    expect(response).toMatchObject({ status: 403, headers: { Warning: `399 sip-pivot "${why}"` } });
    expect(data('ReferRejected')).toMatchObject({ status: 403, reason: why });
    expect(h.sent.filter((c) => c.kind === 'request' && c.method === 'INVITE')).toHaveLength(1);
  });

  it('enable-all: the carrier gets sip:+E164@<carrier>, and the transfer is a PSTN one', async () => {
    const h = harness();
    await refer(h, { 'refer-to': ['<sip:+442071234567@[::ffff:127.0.0.2]:7777;transport=tcp>'] });
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const invite = h.lastRequest('INVITE');
    expect(invite.uri).toBe('sip:+442071234567@127.0.0.2');
    expect(invite.destination).toEqual(CARRIER);
    const accepted = (await h.store.readAll()).find((e) => e.type === 'ReferAccepted');
    expect(accepted?.data).toMatchObject({ targetKind: 'pstn' });
  });
});

describe('control bytes never reach the store or a machine', () => {
  it.each([
    [{ 'refer-to': ['<sip:+44207\x01@127.0.0.1:5080>'] }, 'control character in Refer-To'],
    [{ 'refer-to': ['<sip:bob@127.0.0.1:5080>\rX-Evil: 1'] }, 'control character in Refer-To'],
    [{ 'refer-to': ['<sip:bob%zz@127.0.0.1:5080>'] }, 'invalid %-escape in Refer-To URI'],
    [
      { 'refer-to': ['<sip:bob@127.0.0.1:5080>'], 'referred-by': ['<sip:agent@127.0.0.1>\x00\r\nX-Evil: 1'] },
      'control character in Referred-By',
    ],
  ])('%j: 400 %s, stored %-escaped', async (headers, why) => {
    const h = harness();
    const { events, response, data } = await refer(h, headers);
    expect(response).toMatchObject({ status: 400, headers: { Warning: `399 sip-pivot "${why}"` } });
    expect(data('ReferReceived')).toMatchObject({ malformed: why });
    expect(data('ReferRejected')).toMatchObject({ status: 400, reason: why });
    // Only the SDP bodies have line breaks; the REFER's event has no control character left.
    expect(hasControl(JSON.parse(JSON.stringify(data('ReferReceived'))))).toBe(false);
    expect(events.map((e) => e.type)).toContain('ReferRejected');
    expect(h.sent.filter((c) => c.kind === 'request' && c.method === 'INVITE')).toHaveLength(1);
  });

  it('the stored Refer-To shows the control byte as an escape', async () => {
    const h = harness();
    const { data } = await refer(h, { 'refer-to': ['<sip:+44207\x01@127.0.0.1:5080>'] });
    expect(data('ReferReceived').referTo).toEqual(['<sip:+44207%01@127.0.0.1:5080>']);
  });
});
