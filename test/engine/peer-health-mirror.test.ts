/** The peers' health as another process checks it: what a snapshot says, until it goes stale. */
import { describe, expect, it } from 'vitest';
import { createPeerHealthMirror } from '../../src/engine/peerHealth.ts';
import type { PeerSnapshot } from '../../src/shared/peerStatus.ts';

const GATEWAY = { transport: 'udp' as const, host: '192.0.2.10', port: 5060 };
const OTHER = { transport: 'tcp' as const, host: '192.0.2.11', port: 5060 };

function snapshot(at: string, state: 'up' | 'down'): PeerSnapshot {
  return {
    by: 'sip-edge',
    at,
    intervalMs: 1000,
    peers: [
      {
        uri: 'sip:192.0.2.10',
        destination: GATEWAY,
        state,
        since: at,
        lastStatus: state === 'up' ? 200 : 408,
      },
      { uri: 'sip:192.0.2.11;transport=tcp', destination: OTHER, state: 'up' },
    ],
  };
}

describe('peer health mirror', () => {
  it('shows a down gateway down until the snapshot is 3 intervals old, then every peer unknown', () => {
    let now = new Date('2026-01-01T00:00:00.000Z');
    const mirror = createPeerHealthMirror({ now: () => now });
    expect(mirror.statuses()).toEqual([]);
    expect(mirror.isDown(GATEWAY)).toBe(false);

    mirror.update(snapshot('2026-01-01T00:00:00.000Z', 'down'), now);
    expect(mirror.isDown(GATEWAY)).toBe(true);
    expect(mirror.isDown(OTHER)).toBe(false);
    expect(mirror.isDown({ ...GATEWAY, port: 5070 })).toBe(false);

    now = new Date('2026-01-01T00:00:03.000Z');
    expect(mirror.isDown(GATEWAY)).toBe(true);
    now = new Date('2026-01-01T00:00:03.001Z');
    expect(mirror.isDown(GATEWAY)).toBe(false);
    expect(mirror.statuses().map((peer) => peer.state)).toEqual(['unknown', 'unknown']);

    mirror.update(snapshot('2026-01-01T00:00:03.001Z', 'up'), now);
    expect(mirror.statuses().map((peer) => peer.state)).toEqual(['up', 'up']);
  });

  it('ignores a snapshot older than the one it has (read back after a live one arrived)', () => {
    const now = new Date('2026-01-01T00:00:05.000Z');
    const mirror = createPeerHealthMirror({ now: () => now });
    mirror.update(snapshot('2026-01-01T00:00:05.000Z', 'down'), now);
    mirror.update(snapshot('2026-01-01T00:00:04.000Z', 'up'));
    expect(mirror.isDown(GATEWAY)).toBe(true);
  });
});
