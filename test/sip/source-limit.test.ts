/**
 * The per-source token bucket and the cap on pending server transactions: what one source sends beyond
 * its share is shed (dropped over UDP, 503 with Retry-After over TCP) while other sources are served,
 * and beyond the cap new requests get 503 at once instead of growing the adapter's memory.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { SipAdapter } from '../../src/sip/index.ts';
import { createSourceLimiter } from '../../src/sip/sourceLimit.ts';
import { until } from '../helpers/until.ts';
import {
  type Harness,
  header,
  rawRequest,
  startAdapter,
  statusLine,
  type UdpPeer,
  udpPeer,
} from './support.ts';
import { type TcpPeer, tcpConnect } from './tcpPeer.ts';

/** A bucket that does not refill during the test: exactly `burst` requests pass. */
const BURST = 5;
const sourceLimit = { ratePerSecond: 0.001, burst: BURST };

const options = (port: number, branch: string, transport = 'UDP') =>
  rawRequest({ method: 'OPTIONS', port, branch }).replace('SIP/2.0/UDP', `SIP/2.0/${transport}`);

describe('the per-source rate limit', () => {
  let harness: Harness | undefined;
  const peers: Array<UdpPeer | TcpPeer> = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) {
      if ('close' in peer) await peer.close();
      else peer.socket.destroy();
    }
    await harness?.stop();
    harness = undefined;
  });

  it('drops a UDP source over its limit without a word, and serves another source meanwhile', async () => {
    harness = await startAdapter(undefined, { sourceLimit });
    const adapter: SipAdapter = harness.adapter;
    const flooder = await udpPeer(harness.port, '127.0.0.1');
    const other = await udpPeer(harness.port, '127.0.0.3');
    peers.push(flooder, other);

    for (let i = 0; i < 20; i++) flooder.send(options(flooder.port, `z9hG4bK-flood-${i}`));
    await until(() => adapter.stats().sourceLimitDropped === 20 - BURST);
    const answered: string[] = [];
    for (let i = 0; i < BURST; i++) answered.push(statusLine(await flooder.next()));
    expect(answered).toEqual(Array(BURST).fill('SIP/2.0 200 OK'));

    other.send(options(other.port, 'z9hG4bK-other-1'));
    const reply = await other.next();
    expect(statusLine(reply)).toBe('SIP/2.0 200 OK');
    expect(header(reply, 'Via')).toContain('z9hG4bK-other-1');
    expect(adapter.stats()).toMatchObject({
      sourcesTracked: 2,
      sourceLimitDropped: 15,
      sourceLimitRefused: 0,
    });

    // Operators hear of it once, not once per dropped request.
    const logs = harness.logs;
    const shedLine = 'sip requests over their source rate limit';
    await until(() => logs.some((l) => l.msg === shedLine));
    expect(logs.filter((l) => l.msg === shedLine)).toEqual([
      {
        level: 'warn',
        msg: shedLine,
        fields: { dropped: 15, refused: 0, sources: 2, unknownSourcesShed: 0 },
      },
    ]);
  });

  it('tells a TCP source over its limit 503 with Retry-After', async () => {
    harness = await startAdapter(undefined, { sourceLimit });
    const pbx = await tcpConnect(harness.port, '127.0.0.4');
    peers.push(pbx);
    for (let i = 0; i <= BURST; i++)
      pbx.send(options(pbx.socket.localPort ?? 5060, `z9hG4bK-tcp-${i}`, 'TCP'));
    const statuses: string[] = [];
    let last = '';
    for (let i = 0; i <= BURST; i++) {
      last = await pbx.next();
      statuses.push(statusLine(last));
    }
    expect(statuses).toEqual([...Array(BURST).fill('SIP/2.0 200 OK'), 'SIP/2.0 503 Service Unavailable']);
    expect(header(last, 'Retry-After')).toBe('1');
    expect(header(last, 'Via')).toContain(`z9hG4bK-tcp-${BURST}`);
    expect(harness.adapter.stats()).toMatchObject({ sourceLimitRefused: 1, sourceLimitDropped: 0 });
  });

  it('lets a source through again once its bucket refills', async () => {
    let clock = 1_000_000;
    harness = await startAdapter(undefined, {
      sourceLimit: { ratePerSecond: 10, burst: 1 },
      now: () => clock,
    });
    const peer = await udpPeer(harness.port, '127.0.0.5');
    peers.push(peer);
    peer.send(options(peer.port, 'z9hG4bK-refill-1'));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
    peer.send(options(peer.port, 'z9hG4bK-refill-2'));
    const adapter = harness.adapter;
    await until(() => adapter.stats().sourceLimitDropped === 1);
    clock += 100; // one token at 10/s
    peer.send(options(peer.port, 'z9hG4bK-refill-3'));
    const reply = await peer.next();
    expect(header(reply, 'Via')).toContain('z9hG4bK-refill-3');
  });
});

describe('the cap on pending server transactions', () => {
  let harness: Harness | undefined;
  let peer: UdpPeer | undefined;
  afterEach(async () => {
    await peer?.close();
    await harness?.stop();
    peer = harness = undefined;
  });

  it('refuses a new INVITE with 503 Retry-After once reached, keeping nothing for it; OPTIONS is still answered', async () => {
    // The engine never answers: every INVITE stays pending.
    harness = await startAdapter(undefined, { maxPendingServerTransactions: 2 });
    peer = await udpPeer(harness.port);
    for (const branch of ['z9hG4bK-cap-1', 'z9hG4bK-cap-2']) {
      peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch }));
      expect(statusLine(await peer.next())).toBe('SIP/2.0 100 Trying');
    }
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-cap-3' }));
    const refusal = await peer.next();
    expect(statusLine(refusal)).toBe('SIP/2.0 503 Service Unavailable');
    expect(header(refusal, 'Retry-After')).toBe('5');
    expect(harness.requests('INVITE')).toHaveLength(2);
    expect(harness.adapter.stats()).toMatchObject({ pending: 2, transactions: 2, overloadRefused: 1 });

    peer.send(options(peer.port, 'z9hG4bK-cap-options'));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
  });
});

describe('the per-source buckets', () => {
  it('remember a bounded number of sources; a forgotten one starts again with a full bucket', () => {
    let clock = 0;
    const limiter = createSourceLimiter({ ratePerSecond: 1, burst: 2, maxSources: 2 }, () => clock);
    expect([limiter.admit('10.0.0.1'), limiter.admit('10.0.0.1'), limiter.admit('10.0.0.1')]).toEqual([
      true,
      true,
      false,
    ]);
    limiter.admit('10.0.0.2');
    limiter.admit('10.0.0.3');
    expect(limiter.sources).toBe(2);
    // 10.0.0.1 was the least recent: forgotten, it has its burst again.
    expect([limiter.admit('10.0.0.1'), limiter.admit('10.0.0.1'), limiter.admit('10.0.0.1')]).toEqual([
      true,
      true,
      false,
    ]);
    clock += 500; // half a token: not enough
    expect(limiter.admit('10.0.0.1')).toBe(false);
    clock += 1_000;
    expect(limiter.admit('10.0.0.1')).toBe(true);
  });
});
