/**
 * The SIP role when the bus cannot take an input: a new INVITE is answered 503 with Retry-After, and
 * gets no 100 Trying (that is sent only once an input is durable); other
 * requests are published again on the peer's next retransmission.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterBus } from '../../src/bus/port.ts';
import { type RunningSip, startSipRole } from '../../src/cli/roles.ts';
import type { SipInput } from '../../src/shared/messages.ts';
import { pivotConfig } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { header, rawRequest, statusLine, type UdpPeer, udpPeer } from '../sip/support.ts';

let sip: RunningSip | undefined;
let peer: UdpPeer | undefined;
afterEach(async () => {
  await peer?.close();
  await sip?.stop();
  sip = undefined;
  peer = undefined;
});

/** A bus that refuses the first `failures` publishes, then takes everything. */
function flakyBus(failures: number) {
  const published: SipInput[] = [];
  let refused = 0;
  const bus: AdapterBus = {
    async publishInput(input) {
      if (refused < failures) {
        refused++;
        throw new Error('bus down');
      }
      published.push(input);
    },
    async onCommand() {},
    async close() {},
  };
  return { bus, published };
}

async function start(bus: AdapterBus) {
  const port = await freePort();
  const config = pivotConfig(port, ':memory:', { carrierPort: 5090 });
  sip = await startSipRole({ config, bus, log: () => {} });
  peer = await udpPeer(sip.sip.port);
  return peer;
}

describe('the SIP role when an input cannot be published', () => {
  it('answers a new INVITE 503 with Retry-After', async () => {
    const { bus, published } = flakyBus(1);
    const peer = await start(bus);
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-lost-1' }));
    // No 100 Trying: the INVITE never became durable.
    const refusal = await peer.next();
    expect(statusLine(refusal)).toBe('SIP/2.0 503 Service Unavailable');
    expect(header(refusal, 'Retry-After')).toBe('5');
    expect(published).toEqual([]);
  });

  it('publishes a BYE again when the peer retransmits it', async () => {
    const { bus, published } = flakyBus(1);
    const peer = await start(bus);
    const bye = rawRequest({ method: 'BYE', port: peer.port, branch: 'z9hG4bK-lost-2', toTag: 'pv-1' });
    peer.send(bye);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(published).toEqual([]);
    peer.send(bye);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(published.map((i) => i.transactionKey)).toEqual(['z9hG4bK-lost-2']);
  });
});
