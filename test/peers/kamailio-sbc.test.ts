/**
 * A record-routing SBC (Kamailio) between the PBX phone (baresip) and the pivot. The proxy's
 * Record-Route names an address it never sends from, so a request that follows the route set
 * (RFC 3261 §12.2.1.1: the Request-URI is the remote target, the Route headers are the route set, the
 * request goes to the first Route) arrives on that address, and one sent back to where the dialog's
 * requests came from arrives on the other. Kamailio's log tells which.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, carrier, pbx, target } from '../e2e/parties.ts';
import { type PivotUnderTest, startTestPivot, TRUNK_DOMAIN, the } from '../e2e/pivot.ts';
import { freePort } from '../helpers/sipp.ts';
import { blindTransferByBaresip, stopPeers, track } from './blindTransfer.ts';
import { type Kamailio, startKamailio, withoutRetransmissions } from './kamailio.ts';

const SBC_IP = '127.0.0.3';
const SBC_RECORD_ROUTE_IP = '127.0.0.4';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await stopPeers();
  await pivot?.dispose();
  pivot = undefined;
});

/** What went through the proxy, one line each, for assertion messages. */
function describeProxy(sbc: Kamailio): string {
  return sbc
    .received()
    .map((r) => `${r.source} -> ${r.socket} ${r.method} ${r.uri} Route: ${r.route ?? '(none)'}`)
    .join('\n');
}

/** Kamailio's own Record-Route (with its ftag parameter) as a Route header: the route set's only entry. */
function recordRouteOf(sbc: Kamailio) {
  const host = sbc.recordRoute.replace(/\./g, '\\.');
  return expect.stringMatching(new RegExp(`^<sip:${host};[^>]*\\blr\\b[^>]*>$`));
}

// A stateful relay may deliver the pivot's NOTIFY before its 202 (RFC 3515 allows it). The PBX scenario
// takes that order, but SIPp aborts when the 202 lands in the instant between that NOTIFY and its own
// answer to it: a race of the SIPp harness, not of the pivot, so a run that hits it is tried again.
describe('a blind transfer through a record-routing SBC', { retry: 2 }, () => {
  it('every in-dialog request in both directions follows the route set through the SBC', async () => {
    const carrierPort = await freePort();
    // The pivot sees the SBC, not the phone: the trunk's ACL names the SBC's address.
    pivot = await startTestPivot({ carrierPort, trunk: { acl: [`${SBC_IP}/32`] } });
    const sbc = track(await startKamailio({ ip: SBC_IP, rrIp: SBC_RECORD_ROUTE_IP, pivot: pivot.address }));
    const run = await blindTransferByBaresip({
      carrierPort,
      pbxAor: (port) => `sip:+15550100000@127.0.0.1:${port}`,
      outbound: sbc.address,
      trunkDomain: TRUNK_DOMAIN,
      pivotHttpUrl: pivot.httpUrl,
    });
    expect(run.pbxClosed.param).toBe('Call transfered');

    const route = recordRouteOf(sbc);
    const phone = `127.0.0.1:${run.pbx.sipPort}`;
    const received = withoutRetransmissions(sbc.received());
    const proxyLog = describeProxy(sbc);

    // The phone: its INVITE to the SBC's address, everything after it by the Record-Route.
    const fromPhone = received.filter((r) => r.source === phone);
    expect(
      fromPhone.map((r) => r.method),
      proxyLog,
    ).toEqual(['INVITE', 'ACK', 'REFER', 'BYE']);
    expect(fromPhone[0]!.socket).toBe(sbc.address);
    for (const request of fromPhone.slice(1)) {
      expect({ method: request.method, socket: request.socket, route: request.route }, proxyLog).toEqual({
        method: request.method,
        socket: sbc.recordRoute,
        route,
      });
    }

    // The pivot: every NOTIFY toward the phone goes to the first Route, and carries it.
    const fromPivot = received.filter((r) => r.source === pivot!.address);
    expect(
      fromPivot.map((r) => r.method),
      proxyLog,
    ).toEqual(['NOTIFY', 'NOTIFY', 'NOTIFY']);
    for (const request of fromPivot) {
      expect(request.uri).toMatch(/^sip:\+15550100000-[^@]+@127\.0\.0\.1:\d+$/);
      expect({ method: request.method, socket: request.socket, route: request.route }, proxyLog).toEqual({
        method: request.method,
        socket: sbc.recordRoute,
        route,
      });
    }
    // And the proxy relayed each of them to the phone.
    const relayedToPhone = sbc.relayed().filter((r) => r.destination === phone && r.method === 'NOTIFY');
    expect(relayedToPhone).toHaveLength(3);

    const events = await pivot.events();
    expect(the(events, 'ReferAccepted').data.referTo).toBe(run.targetUri);
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
  });

  it("the pivot's BYE (fallback after the transfer) also follows the route set through the SBC", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({
      carrierPort,
      trunk: { acl: [`${SBC_IP}/32`] },
      transfer: { byeFallbackSeconds: 1 },
    });
    const sbc = track(await startKamailio({ ip: SBC_IP, rrIp: SBC_RECORD_ROUTE_IP, pivot: pivot.address }));
    // A SIPp PBX that never hangs up after the transfer, so the pivot BYEs it.
    const far = track(carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' }));
    const bob = track(target({ outcome: 'answer', childEnd: 'hung_up' }));
    await Promise.all([far.ready, bob.ready]);
    const agent = track(
      pbx(sbc.address, {
        flow: 'transfer',
        target: `target@127.0.0.1:${bob.port}`,
        afterTransfer: 'hung_up',
      }),
    );
    await allPassed(agent, far, bob);

    const proxyLog = describeProxy(sbc);
    const fromPivot = withoutRetransmissions(sbc.received()).filter((r) => r.source === pivot!.address);
    expect(
      fromPivot.map((r) => r.method),
      proxyLog,
    ).toEqual(['NOTIFY', 'NOTIFY', 'NOTIFY', 'BYE']);
    for (const request of fromPivot) {
      expect({ method: request.method, socket: request.socket, route: request.route }, proxyLog).toEqual({
        method: request.method,
        socket: sbc.recordRoute,
        route: recordRouteOf(sbc),
      });
    }
  });
});
