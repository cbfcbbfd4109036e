/**
 * Floods against a whole pivot (adapter, engine, SQLite store in this process): an INVITE flood from a
 * source outside every ACL is refused once per INVITE and never retransmitted, and a REFER flood from
 * the PBX's own address is held to that address's share while another source keeps being answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PivotUnderTest, startTestPivot, TRUNK_DOMAIN } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { header, rawRequest, statusLine, type UdpPeer, udpPeer } from './support.ts';

const T1_MS = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function invite(port: number, branch: string): string {
  return rawRequest({ method: 'INVITE', port, branch }).replace(
    'INVITE sip:pivot@127.0.0.1 SIP/2.0',
    `INVITE sip:+15550100000@${TRUNK_DOMAIN} SIP/2.0`,
  );
}

const branchOf = (text: string) => /branch=([^;\s,]+)/.exec(header(text, 'Via') ?? '')?.[1] ?? '';

describe('a pivot under a flood', () => {
  let pivot: PivotUnderTest;
  const peers: UdpPeer[] = [];
  beforeAll(async () => {
    pivot = await startTestPivot({ carrierPort: await freePort() });
  });
  afterAll(async () => {
    for (const peer of peers) await peer.close();
    await pivot.dispose();
  });

  it('refuses each INVITE from an unknown source once: a stateless 403 and nothing else, no retransmission', async () => {
    const spoofed = await udpPeer(pivot.port, '127.0.0.66');
    peers.push(spoofed);
    const count = 40;
    for (let i = 0; i < count; i++) spoofed.send(invite(spoofed.port, `z9hG4bK-unknown-${i}`));
    const finals = new Map<string, string[]>();
    let received = 0;
    while (finals.size < count) {
      const text = await spoofed.next(10_000);
      received++;
      if (statusLine(text) === 'SIP/2.0 100 Trying') continue;
      finals.set(branchOf(text), [...(finals.get(branchOf(text)) ?? []), text]);
    }
    for (const [, texts] of finals) {
      expect(texts).toHaveLength(1);
      expect(statusLine(texts[0]!)).toBe('SIP/2.0 403 Forbidden');
      expect(header(texts[0]!, 'To')).toContain('tag=pv-stateless');
      expect(header(texts[0]!, 'Warning')).toMatch(/^399 sip-pivot/);
    }
    // No 100 Trying: the refusal is decided before anything is stored.
    expect(received).toBe(count);
    // A refusal kept in a transaction would be sent again after T1 and 2*T1: nothing may come.
    expect(await spoofed.collect(3 * T1_MS)).toEqual([]);
  });

  it('keeps answering OPTIONS from another source while one address sends 1,000 REFERs a second', async () => {
    const pbx = await udpPeer(pivot.port, '127.0.0.1');
    const monitor = await udpPeer(pivot.port, '127.0.0.3');
    peers.push(pbx, monitor);
    const started = Date.now();
    const flood = (async () => {
      let sent = 0;
      for (let tick = 0; tick < 100; tick++) {
        for (let i = 0; i < 10; i++, sent++) {
          pbx.send(
            rawRequest({
              method: 'REFER',
              port: pbx.port,
              branch: `z9hG4bK-refer-${sent}`,
              callId: 'flooded-dialog',
              cseq: `${sent + 2} REFER`,
              toTag: 'pv-gone',
              extra: ['Refer-To: <sip:+15550109999@127.0.0.2>'],
            }),
          );
        }
        await sleep(10);
      }
      return sent;
    })();
    const answered: string[] = [];
    for (let i = 0; i < 20; i++) {
      monitor.send(rawRequest({ method: 'OPTIONS', port: monitor.port, branch: `z9hG4bK-monitor-${i}` }));
      const reply = await monitor.next(10_000);
      expect(branchOf(reply)).toBe(`z9hG4bK-monitor-${i}`);
      answered.push(statusLine(reply));
      await sleep(50);
    }
    const sent = await flood;
    const elapsedS = (Date.now() - started) / 1000;
    expect(answered).toEqual(Array(20).fill('SIP/2.0 200 OK'));

    // The PBX's answers (481: no such dialog) are what got through: its burst and its rate, no more.
    // (Counted a second after the flood, so that late answers are counted too.)
    const replies = await pbx.collect(1_000);
    const refusals = replies.filter((r) => statusLine(r).startsWith('SIP/2.0 481'));
    expect(sent).toBe(1_000);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.length).toBeLessThanOrEqual(200 + Math.ceil(100 * (elapsedS + 1)));
  });
});
