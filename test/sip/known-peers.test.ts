/**
 * The SIP edge favours known peers: sources in a trunk's ACL or the carrier's addresses each keep their
 * own request budget, every other source draws from one shared budget. A flood spread over many
 * addresses therefore exhausts only the shared budget, and a trunk change through the API makes a
 * source a peer at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { rawRequest, statusLine, type UdpPeer, udpPeer } from './support.ts';

/** A shared budget of 3 requests that practically never refills. */
const UNKNOWN = { ratePerSecond: 0.001, burst: 3 };

describe('source budgets at the SIP edge', () => {
  let pivot: PivotUnderTest;
  const peers: UdpPeer[] = [];
  beforeAll(async () => {
    pivot = await startTestPivot({ carrierPort: await freePort(), unknownSourceLimit: UNKNOWN });
  });
  afterAll(async () => {
    for (const peer of peers) await peer.close();
    await pivot.dispose();
  });

  const peerAt = async (host: string) => {
    const peer = await udpPeer(pivot.port, host);
    peers.push(peer);
    return peer;
  };
  let n = 0;
  const options = (peer: UdpPeer) =>
    peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch: `z9hG4bK-peers-${n++}` }));
  const shed = async () => {
    const response = await fetch(`${pivot.httpUrl}/metrics`);
    const text = await response.text();
    return Number(/^pivot_sip_unknown_sources_shed_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };

  it('unknown sources share one budget; known peers keep theirs; an ACL change makes a peer at once', async () => {
    const scanner = await peerAt('127.0.0.7');
    for (let i = 0; i < UNKNOWN.burst; i++) options(scanner);
    for (let i = 0; i < UNKNOWN.burst; i++) expect(statusLine(await scanner.next())).toBe('SIP/2.0 200 OK');

    // Another unknown address, never heard from: the shared budget is spent, so it is shed.
    const other = await peerAt('127.0.0.8');
    options(other);
    await expect.poll(shed, { timeout: 10_000 }).toBe(1);

    // The trunk's PBX (its ACL) is a known peer with a budget of its own.
    const pbx = await peerAt('127.0.0.1');
    options(pbx);
    expect(statusLine(await pbx.next())).toBe('SIP/2.0 200 OK');

    const changed = await fetch(`${pivot.httpUrl}/v1/Trunks/${trunkSidOf('acme')}`, {
      method: 'PATCH',
      headers: { authorization: pivot.apiKey.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ Acl: ['127.0.0.1/32', '127.0.0.8/32'], Reason: 'second PBX' }),
    });
    expect(changed.status).toBe(200);
    options(other);
    expect(statusLine(await other.next())).toBe('SIP/2.0 200 OK');
    expect(await shed()).toBe(1);
  });
});
