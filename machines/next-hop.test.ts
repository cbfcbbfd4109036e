/**
 * Given a leg's dialog, when the pivot sends a request in it, then it goes through the route set to
 * the remote target (RFC 3261 §12.2.1.1), reusing the peer's flow where the peer is behind NAT or on TCP.
 */
import { describe, expect, it } from 'vitest';
import { PBX, pbxLeg } from '../test/helpers/fixtures.ts';
import { nextRequest } from './dialog.ts';
import { isPrivate } from './next-hop.ts';

const PROXY = { transport: 'udp', host: '198.51.100.20', port: 5060 } as const;

function bye(overrides: Parameters<typeof pbxLeg>[1]) {
  const [, request] = nextRequest(pbxLeg('inbound', { pendingInvite: undefined, ...overrides }), 'BYE');
  return request;
}

describe('in-dialog requests follow the route set', () => {
  it('a loose route: Request-URI is the remote target, Route the set, sent to the first route', () => {
    const request = bye({
      routed: true,
      flow: PROXY,
      destination: PROXY,
      routeSet: ['<sip:198.51.100.30:5080;lr>', '<sip:198.51.100.31;lr>'],
    });
    expect(request.uri).toBe('sip:pbx@10.20.0.10:5070');
    expect(request.route).toEqual(['<sip:198.51.100.30:5080;lr>', '<sip:198.51.100.31;lr>']);
    expect(request.destination).toEqual({ transport: 'udp', host: '198.51.100.30', port: 5080 });
  });

  it('a strict route (no lr): the first route is the Request-URI and the remote target the last Route', () => {
    const request = bye({
      routed: true,
      flow: PROXY,
      routeSet: ['<sip:198.51.100.30:5080>', '<sip:198.51.100.31;lr>'],
    });
    expect(request.uri).toBe('sip:198.51.100.30:5080');
    expect(request.route).toEqual(['<sip:198.51.100.31;lr>', '<sip:pbx@10.20.0.10:5070>']);
    expect(request.destination).toEqual({ transport: 'udp', host: '198.51.100.30', port: 5080 });
  });

  it('the first route on the host the peer sends from: its flow is reused (the port NAT gave it)', () => {
    const flow = { transport: 'udp', host: '198.51.100.30', port: 40112 } as const;
    const request = bye({ routed: true, flow, routeSet: ['<sip:198.51.100.30;lr>'] });
    expect(request.destination).toBe(flow);
  });

  it('no route set: straight to the Contact, with its transport', () => {
    const request = bye({
      routed: true,
      flow: PROXY,
      remoteTarget: 'sip:pbx@198.51.100.44:5090;transport=tcp',
    });
    expect(request.destination).toEqual({ transport: 'tcp', host: '198.51.100.44', port: 5090 });
  });

  it('a PBX on TCP that listens nowhere: requests go back on its connection', () => {
    const flow = { transport: 'tcp', host: '203.0.113.9', port: 51234 } as const;
    const request = bye({ routed: true, flow, remoteTarget: 'sip:pbx@203.0.113.9:5060;transport=tcp' });
    expect(request.destination).toBe(flow);
  });

  it('a private Contact behind a public source address is never a destination', () => {
    const flow = { transport: 'udp', host: '203.0.113.9', port: 40000 } as const;
    const request = bye({ routed: true, flow, remoteTarget: 'sip:pbx@192.168.1.20:5060' });
    expect(request.destination).toBe(flow);
  });

  it('a leg stored before routing followed the route set keeps its stored destination', () => {
    const request = bye({ routeSet: ['<sip:198.51.100.30:5080;lr>'] });
    expect(request.destination).toBe(PBX);
    expect(request.uri).toBe('sip:pbx@10.20.0.10:5070');
  });

  it('before the peer answered (no remote tag) the stored destination is used', () => {
    const [, invite] = nextRequest(
      { ...pbxLeg('outbound'), routed: true, remoteTarget: 'sip:+15550100000@pbx.example.com' },
      'INVITE',
    );
    expect(invite.destination).toBe(PBX);
  });

  it('tells private addresses apart', () => {
    expect(['10.1.2.3', '172.16.0.1', '192.168.0.1', '100.64.0.1', 'fd00::1'].every(isPrivate)).toBe(true);
    expect(['127.0.0.1', '172.32.0.1', '203.0.113.9', '2001:db8::1'].some(isPrivate)).toBe(false);
  });
});
