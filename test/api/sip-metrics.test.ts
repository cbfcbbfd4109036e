/** The SIP edge's figures on /metrics of a running pivot: what it answered and what it holds. */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

async function options(port: number, n: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const answered = new Promise<void>((resolve) => socket.once('message', () => resolve()));
  socket.send(
    [
      'OPTIONS sip:127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${socket.address().port};branch=z9hG4bK-metrics-${n}`,
      'Max-Forwards: 70',
      'From: <sip:probe@127.0.0.1>;tag=probe',
      'To: <sip:127.0.0.1>',
      `Call-ID: metrics-${n}@127.0.0.1`,
      `CSeq: ${n} OPTIONS`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
    port,
    '127.0.0.1',
  );
  await answered;
  socket.close();
}

function figure(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not on /metrics`);
  return Number(line.split(' ')[1]);
}

describe('/metrics and the SIP edge', () => {
  it('counts the stateless answers the adapter sent and the sources it tracks', async () => {
    pivot = await startTestPivot({ carrierPort: await freePort() });
    for (let n = 1; n <= 3; n++) await options(pivot.port, n);
    const text = await (await fetch(`${pivot.httpUrl}/metrics`)).text();
    expect(figure(text, 'pivot_sip_stateless_answers_total')).toBe(3);
    expect(figure(text, 'pivot_sip_sources_tracked')).toBe(1);
    expect(figure(text, 'pivot_sip_source_limit_dropped_total')).toBe(0);
    expect(figure(text, 'pivot_sip_server_transactions_pending')).toBe(0);
  });
});
