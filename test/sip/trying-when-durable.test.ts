/**
 * A new INVITE's 100 Trying stops the caller's retransmissions (RFC 3261 §17.1.1.2), so it may only go
 * out once the INVITE is durable: a pivot that dies before storing it must still be asked again. With a
 * store whose appends are held, nothing answers the INVITE until the append goes through; then exactly
 * one 100 Trying goes out (the adapter's and the engine's are one).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  openBus,
  type RunningEngine,
  type RunningSip,
  startEngineRole,
  startSipRole,
} from '../../src/cli/roles.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { pivotConfig, TRUNK_DOMAIN } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { rawRequest, statusLine, type UdpPeer, udpPeer } from './support.ts';

/** A memory store whose call-stream appends wait until `release()`; `held` resolves when one waits. */
function heldStore() {
  const inner = createInMemoryEventStore();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached!: () => void;
  const held = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const appended: string[] = [];
  const store: EventStore = {
    ...inner,
    async appendToStream(stream, events, options) {
      if (stream.startsWith('call-')) {
        reached();
        await gate;
      }
      const result = await inner.appendToStream(stream, events, options);
      if (stream.startsWith('call-')) appended.push(...events.map((e) => e.type));
      return result;
    },
  };
  return { store, held, release, appended };
}

let sip: RunningSip | undefined;
let engine: RunningEngine | undefined;
const peers: UdpPeer[] = [];
/** Lets a held append through, so a failed test still stops. */
let releaseStore: (() => void) | undefined;
afterEach(async () => {
  releaseStore?.();
  for (const peer of peers.splice(0)) await peer.close();
  await sip?.stop();
  await engine?.stop();
  sip = undefined;
  engine = undefined;
});

/** Every datagram up to and including the 200 to an OPTIONS sent now (UDP on loopback keeps order). */
async function drain(peer: UdpPeer, branch: string): Promise<string[]> {
  peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch }));
  const seen: string[] = [];
  for (;;) {
    const text = await peer.next(10_000);
    seen.push(text);
    if (text.includes(branch) && statusLine(text) === 'SIP/2.0 200 OK') return seen;
  }
}

describe('100 Trying to a new INVITE', () => {
  it('goes out once, and only after the INVITE was stored', async () => {
    const carrier = await udpPeer(0, '127.0.0.2');
    const pbx = await udpPeer(0, '127.0.0.1');
    peers.push(carrier, pbx);
    const port = await freePort();
    const config = pivotConfig(port, ':memory:', { carrierPort: carrier.port });
    const { store, held, release, appended } = heldStore();
    releaseStore = release;
    const bus = await openBus({ kind: 'inprocess' }, () => {});
    engine = await startEngineRole({ config, bus: bus.engine, store, log: () => {} });
    sip = await startSipRole({ config, bus: bus.adapter, log: () => {} });
    const toPivot = await udpPeer(sip.sip.port, '127.0.0.1');
    peers.push(toPivot);

    const invite = rawRequest({ method: 'INVITE', port: toPivot.port, branch: 'z9hG4bK-durable-1' }).replace(
      'INVITE sip:pivot@127.0.0.1 SIP/2.0',
      `INVITE sip:+15550100000@${TRUNK_DOMAIN} SIP/2.0`,
    );
    toPivot.send(invite);
    await held;
    const beforeAppend = await drain(toPivot, 'z9hG4bK-options-1');
    expect(beforeAppend.map(statusLine)).toEqual(['SIP/2.0 200 OK']);
    expect(appended).toEqual([]);

    release();
    const toCarrier = await carrier.next(10_000);
    expect(toCarrier.startsWith('INVITE sip:+15550100000@')).toBe(true);
    expect(appended).toContain('CallReceived');
    const afterAppend = await drain(toPivot, 'z9hG4bK-options-2');
    expect(afterAppend.filter((t) => statusLine(t) === 'SIP/2.0 100 Trying')).toHaveLength(1);
  });
});
