import { afterEach, describe, expect, it } from 'vitest';
import { type ApiWorld, apiWorld } from './support.ts';

let w: ApiWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

interface State {
  Key: string;
  Type: string;
  Initial: string | null;
  States: State[];
  Transitions: { Event: string; Targets: string[] }[];
}

describe('API: /v1/Machines', () => {
  it('describes the call and transfer machines from their definitions: states, initial, finals, transitions', async () => {
    w = await apiWorld();
    const { status, body } = await w.get('/v1/Machines');
    expect(status).toBe(200);
    const [call, transfer] = body.Machines as { Name: string; Root: State }[];
    expect(call!.Name).toBe('call');
    expect(call!.Root.Initial).toBe('idle');
    const states = new Map(call!.Root.States.map((s) => [s.Key, s]));
    expect([...states.keys()]).toEqual(
      expect.arrayContaining(['idle', 'ringing', 'inProgress', 'transferring', 'handedOff', 'ended']),
    );
    expect(states.get('ended')!.Type).toBe('final');
    expect(states.get('idle')!.Transitions).toContainEqual(
      expect.objectContaining({ Event: 'CallReceived', Targets: ['ringing'] }),
    );
    expect(transfer!.Name).toBe('transfer');
    const transferStates = transfer!.Root.States.map((s) => s.Key);
    expect(transferStates).toEqual(
      expect.arrayContaining(['idle', 'holding', 'inviting', 'completed', 'failed']),
    );
    expect((await w.app.inject({ method: 'GET', url: '/v1/Machines' })).statusCode).toBe(401);
  });
});
