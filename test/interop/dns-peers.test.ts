/**
 * Peers reached by name, located by RFC 3263 against a real DNS server (dnsmasq) and SIPp peers on
 * 127.0.0.x: the carrier named by SRV records fails over from its first gateway to the next; a trunk's
 * origination URI named by SRV reaches the PBX at the address found; a SIP
 * transfer target named by SRV is INVITEd at the address found (the Request-URI keeps the name), and at
 * its next address when the first answers 503 or refuses a TCP connection; a
 * target whose name does not resolve gets 202 then a final NOTIFY 404; a name that resolves to the
 * carrier is a PSTN target (refused under sip-only); a carrier name that does not resolve fails that
 * call with 503, not the pivot.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { COMPLETED_AND_PBX_HUNG_UP } from '../e2e/expectedEvents.ts';
import { allPassed, carrier, escapeRegExp, pbx, pbxSdp, received, renderScenario } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, the, typesOf } from '../e2e/pivot.ts';
import { type DnsRecords, type DnsServer, startDnsmasq } from '../helpers/dnsmasq.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

const SECOND_GATEWAY = '127.0.0.4';

let pivot: PivotUnderTest | undefined;
let dns: DnsServer | undefined;
afterEach(async () => {
  await pivot?.dispose();
  await dns?.stop();
  pivot = undefined;
  dns = undefined;
});

async function withDns(records: DnsRecords): Promise<string[]> {
  dns = await startDnsmasq(records);
  return [dns.server];
}

/** parties.ts' target (answers, the carrier ends the child call), expecting `uri` as Request-URI. */
function namedTarget(port: number, uri: string, transport: 'udp' | 'tcp' = 'udp') {
  const file = renderScenario('e2e-target.xml', {
    USER: 'target',
    FROM: escapeRegExp('+15550200000'),
    OUTCOME: 'answer',
    CHILD_END: 'hung_up',
    HANGUP_DELAY_MS: 300,
  });
  const text = readFileSync(file, 'utf8')
    .replace('^INVITE sip:target@127\\.0\\.0\\.1:[0-9]+ SIP/2\\.0', `^INVITE ${escapeRegExp(uri)} SIP/2\\.0`)
    .replace('&lt;sip:target@127\\.0\\.0\\.1:[0-9]+>', `&lt;${escapeRegExp(uri)}>`);
  writeFileSync(file, text);
  return runSipp({ scenario: file, localIp: '127.0.0.1', localPort: port, timeoutMs: 20_000, transport });
}

/**
 * parties.ts' transferring PBX, without the NOTIFY "180 Ringing" it waits for: a target that is never
 * INVITEd never rings, so NOTIFY 100 is followed by the final one.
 */
function pbxWithoutRinging(pivotAddress: string, target: string, final: string) {
  const file = renderScenario('e2e-pbx.xml', {
    FLOW: 'transfer',
    REFER_TO: 'X-Refer-To-Omitted: yes',
    STATUS: 403,
    TARGET: target,
    FINAL: escapeRegExp(final),
    AFTER_TRANSFER: 'hang_up',
    SECOND_TARGET: 'target@127.0.0.1:5999',
    BYE_DELAY_MS: 500,
    OFFER_HEADER: 'Content-Type: application/sdp',
    OFFER: pbxSdp('sendrecv'),
    ANSWER_HEADER: 'X-Delayed-Offer: no',
    ANSWER: '',
  });
  const text = readFileSync(file, 'utf8');
  const ringing = / {2}<recv request="NOTIFY">\s*<action>\s*<ereg[^\n]*n2_event[\s\S]*?<\/send>\n/;
  if (!ringing.test(text)) throw new Error('e2e-pbx.xml: no NOTIFY 180 step to leave out');
  writeFileSync(file, text.replace(ringing, '').replace(',n2_event,n2_state,n2_frag,', ','));
  return runSipp({ scenario: file, remote: pivotAddress, timeoutMs: 20_000 });
}

describe('peers located by DNS (RFC 3263)', () => {
  it('carrier by SRV: 503 from the priority-10 gateway, the call completes on the priority-20 one', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const servers = await withDns({
      hosts: { 'gw1.pivot.test': [CARRIER_IP], 'gw2.pivot.test': [SECOND_GATEWAY] },
      srv: {
        '_sip._udp.carrier.pivot.test': [
          { target: 'gw2.pivot.test', port: second, priority: 20, weight: 1 },
          { target: 'gw1.pivot.test', port: first, priority: 10, weight: 1 },
        ],
      },
    });
    pivot = await startTestPivot({
      carrierPort: first,
      carrierUris: ['sip:carrier.pivot.test'],
      dnsServers: servers,
    });
    const overloaded = runSipp({
      scenario: 'vendors/carrier-overloaded.xml',
      localIp: CARRIER_IP,
      localPort: first,
    });
    const answering = runSipp({
      scenario: 'vendors/carrier-answer.xml',
      localIp: SECOND_GATEWAY,
      localPort: second,
    });
    await Promise.all([overloaded.ready, answering.ready]);
    const caller = runSipp({
      scenario: renderScenario('vendors/freeswitch-pbx.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
      remote: pivot.address,
    });
    const [overloadedResult, answeringResult] = await allPassed(overloaded, answering, caller);
    // The Request-URI keeps the carrier's name; only the destination came from DNS (RFC 3263 §4).
    expect(received(overloadedResult!)[0]).toBe('INVITE sip:+15550200000@carrier.pivot.test SIP/2.0');
    expect(received(answeringResult!)[0]).toBe('INVITE sip:+15550200000@carrier.pivot.test SIP/2.0');
    const events = await pivot.events();
    expect(the(events, 'CallRejected').data).toMatchObject({ status: 503, retryable: true });
    expect(the(events, 'CallReceived').data.outbound.destination).toEqual({
      transport: 'udp',
      host: CARRIER_IP,
      port: first,
    });
    expect(the(events, 'CallEnded').data.status).toBe('completed');
  });

  it('a carrier name that does not resolve: the PBX gets 503 naming it, and the pivot goes on', async () => {
    const servers = await withDns({});
    pivot = await startTestPivot({
      carrierPort: 5060,
      carrierUris: ['sip:gone.pivot.test'],
      dnsServers: servers,
    });
    const caller = runSipp({
      scenario: renderScenario('vendors/freeswitch-pbx.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
      remote: pivot.address,
      timeoutMs: 10_000,
    });
    const result = await caller.done;
    expect(received(result)).toContain('SIP/2.0 503 Service Unavailable');
    expect(result.messages).toMatch(
      /^Warning: 399 sip-pivot "no carrier gateway has an address: gone\.pivot\.test does not resolve to any address"\r?$/m,
    );
    // Still serving: the read side answers.
    expect((await fetch(`${pivot.httpUrl}/healthz`)).status).toBeLessThan(600);
  });

  it("origination to a trunk's originationUri by name: the PBX is reached at its SRV address", async () => {
    const pbxPort = await freePort();
    const servers = await withDns({
      hosts: { 'desk.pivot.test': ['127.0.0.1'] },
      srv: {
        '_sip._udp.pbx.pivot.test': [{ target: 'desk.pivot.test', port: pbxPort, priority: 1, weight: 1 }],
      },
    });
    pivot = await startTestPivot({
      carrierPort: 5999,
      dnsServers: servers,
      trunk: { originationUri: 'sip:pbx.pivot.test' },
    });
    const answering = renderScenario('e2e-pbx-answer.xml', {
      END: 'hangs_up',
      CARRIER_HOST: escapeRegExp(CARRIER_IP),
    });
    const text = readFileSync(answering, 'utf8');
    const ruri = '^INVITE sip:\\+15550100000@127\\.0\\.0\\.1:[0-9]+ SIP/2\\.0';
    if (!text.includes(ruri)) throw new Error('e2e-pbx-answer.xml changed');
    writeFileSync(answering, text.replace(ruri, '^INVITE sip:\\+15550100000@pbx\\.pivot\\.test SIP/2\\.0'));
    const pbxSide = runSipp({
      scenario: answering,
      localIp: '127.0.0.1',
      localPort: pbxPort,
      timeoutMs: 20_000,
    });
    await pbxSide.ready;
    const caller = runSipp({
      scenario: renderScenario('e2e-carrier-call.xml', { END: 'hung_up' }),
      remote: pivot.address,
      localIp: CARRIER_IP,
      timeoutMs: 20_000,
    });
    await allPassed(pbxSide, caller);
    const events = await pivot.events();
    expect(the(events, 'CallReceived').data).toMatchObject({
      direction: 'trunking-originating',
      outboundUri: 'sip:+15550100000@pbx.pivot.test',
      outbound: { destination: { transport: 'udp', host: '127.0.0.1', port: pbxPort } },
    });
    expect(the(events, 'CallEnded').data.status).toBe('completed');
  });

  it('a SIP target named by SRV: INVITEd at the address found, the transfer completes', async () => {
    const [carrierPort, targetPort] = [await freePort(), await freePort()];
    const servers = await withDns({
      hosts: { 'desk.pivot.test': ['127.0.0.1'] },
      srv: {
        '_sip._udp.agents.pivot.test': [
          { target: 'desk.pivot.test', port: targetPort, priority: 1, weight: 1 },
        ],
      },
    });
    pivot = await startTestPivot({ carrierPort, dnsServers: servers });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const bob = namedTarget(targetPort, 'sip:target@agents.pivot.test');
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, { flow: 'transfer', target: 'target@agents.pivot.test' });
    await allPassed(agent, far, bob);
    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root)).toEqual(COMPLETED_AND_PBX_HUNG_UP);
    expect(the(events, 'ReferReceived').data).toMatchObject({
      targetDestination: { transport: 'udp', host: '127.0.0.1', port: targetPort },
      targetAddresses: [{ host: '127.0.0.1', port: targetPort }],
    });
    expect(the(events, 'ReferAccepted').data).toMatchObject({ targetKind: 'sip' });
  });

  it('a SIP target name with two addresses: a 503 from the first, the INVITE goes to the second', async () => {
    const [carrierPort, busyPort, targetPort] = [await freePort(), await freePort(), await freePort()];
    const servers = await withDns({
      hosts: { 'full.pivot.test': [SECOND_GATEWAY], 'desk.pivot.test': ['127.0.0.1'] },
      srv: {
        '_sip._udp.agents.pivot.test': [
          { target: 'full.pivot.test', port: busyPort, priority: 1, weight: 1 },
          { target: 'desk.pivot.test', port: targetPort, priority: 2, weight: 1 },
        ],
      },
    });
    pivot = await startTestPivot({ carrierPort, dnsServers: servers });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const overloaded = runSipp({
      scenario: 'vendors/carrier-overloaded.xml',
      localIp: SECOND_GATEWAY,
      localPort: busyPort,
    });
    const bob = namedTarget(targetPort, 'sip:target@agents.pivot.test');
    await Promise.all([far.ready, overloaded.ready, bob.ready]);
    const agent = pbx(pivot.address, { flow: 'transfer', target: 'target@agents.pivot.test' });
    const [overloadedResult, bobResult] = await allPassed(overloaded, bob, agent, far);
    expect(received(overloadedResult!).map((line) => line.split(' ')[0])).toEqual(['INVITE', 'ACK']);
    // One INVITE in two transactions of the same dialog: same Call-ID, next CSeq.
    const callIdOf = (messages: string) => messages.match(/^Call-ID: (.+)$/im)?.[1]?.trim();
    expect(callIdOf(bobResult!.messages)).toBe(callIdOf(overloadedResult!.messages));
    expect(overloadedResult!.messages).toMatch(/^CSeq: 1 INVITE$/m);
    expect(bobResult!.messages).toMatch(/^CSeq: 2 INVITE$/m);
    const events = await pivot.events();
    expect(the(events, 'ReferReceived').data).toMatchObject({
      targetDestination: { transport: 'udp', host: SECOND_GATEWAY, port: busyPort },
      targetAlternates: [{ transport: 'udp', host: '127.0.0.1', port: targetPort }],
    });
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
    expect(events.map((e) => e.type)).not.toContain('TransferFailed');
  });

  it('a SIP target name over TCP whose first address refuses the connection: the INVITE goes to the next', async () => {
    const [carrierPort, closedPort, targetPort] = [await freePort(), await freePort(), await freePort()];
    const servers = await withDns({
      hosts: { 'gone.pivot.test': [SECOND_GATEWAY], 'desk.pivot.test': ['127.0.0.1'] },
      srv: {
        '_sip._tcp.agents.pivot.test': [
          { target: 'gone.pivot.test', port: closedPort, priority: 1, weight: 1 },
          { target: 'desk.pivot.test', port: targetPort, priority: 2, weight: 1 },
        ],
      },
    });
    pivot = await startTestPivot({ carrierPort, dnsServers: servers });
    const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
    const uri = 'sip:target@agents.pivot.test;transport=tcp';
    const bob = namedTarget(targetPort, uri, 'tcp');
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, { flow: 'transfer', target: 'target@agents.pivot.test;transport=tcp' });
    await allPassed(bob, agent, far);
    const events = await pivot.events();
    expect(the(events, 'ReferReceived').data).toMatchObject({
      targetDestination: { transport: 'tcp', host: SECOND_GATEWAY, port: closedPort },
      targetAlternates: [{ transport: 'tcp', host: '127.0.0.1', port: targetPort }],
    });
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
  });

  it('a target name that does not resolve: 202, then a final NOTIFY 404, and the carrier is resumed', async () => {
    const carrierPort = await freePort();
    const servers = await withDns({});
    pivot = await startTestPivot({ carrierPort, dnsServers: servers });
    const far = carrier({ port: carrierPort, flow: 'hold_then_resume', afterResume: 'hung_up' });
    await far.ready;
    const agent = pbxWithoutRinging(pivot.address, 'agent@nowhere.pivot.test', '404 Not Found');
    const [pbxResult, carrierResult] = await allPassed(agent, far);
    expect(received(pbxResult!)).toContain('SIP/2.0 202 Accepted');
    expect(received(carrierResult!).filter((line) => line.startsWith('INVITE'))).toHaveLength(3);
    const events = await pivot.events();
    const root = the(events, 'CallReceived').data.callSid;
    expect(typesOf(events, root)).toEqual([
      'CallReceived',
      'CallProgress',
      'CallAnswered',
      'CallAcked',
      'ReferReceived',
      'ReferAccepted',
      'TransfereeHeld',
      'TransfereeResumed',
      'TransferFailed',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(the(events, 'ReferReceived').data.targetUnreachable).toEqual({
      status: 404,
      reason: 'nowhere.pivot.test does not resolve to any address',
    });
    expect(the(events, 'TransferFailed').data).toMatchObject({ status: 404, reason: 'Not Found' });
    expect(events.map((e) => e.type)).not.toContain('TargetInvited');
  });

  it('a target name that resolves to the carrier is a PSTN target: refused under sip-only', async () => {
    const carrierPort = await freePort();
    const servers = await withDns({ hosts: { 'sneaky.pivot.test': [CARRIER_IP] } });
    pivot = await startTestPivot({ carrierPort, dnsServers: servers, trunk: { transferMode: 'sip-only' } });
    const far = carrier({ port: carrierPort, flow: 'hung_up' });
    await far.ready;
    const agent = pbx(pivot.address, {
      flow: 'refused',
      referTo: [`<sip:+15550300000@sneaky.pivot.test:${carrierPort}>`],
      status: 403,
    });
    const [, carrierResult] = await allPassed(agent, far);
    expect(received(carrierResult!).filter((line) => line.startsWith('INVITE'))).toHaveLength(1);
    const events = await pivot.events();
    expect(the(events, 'ReferRejected').data).toMatchObject({
      status: 403,
      reason:
        'PSTN targets are not allowed on trunk acme (sip-only): Refer-To host sneaky.pivot.test is the carrier',
    });
  });
});
