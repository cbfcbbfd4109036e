/**
 * The trunk decider, specified directly: given a trunk's stream (folded with evolveTrunk), when an API
 * change asks for new values, then the events that would be stored (one per field that changes, with
 * the previous value) and the trunk they fold to.
 */
import { describe, expect, it } from 'vitest';
import { trunkSidOf } from '../../src/shared/sids.ts';
import {
  type Attribution,
  decideTrunkChange,
  evolveTrunk,
  type TrunkChange,
  type TrunkEvent,
  type TrunkState,
} from '../../src/trunks/events.ts';
import { testConfig } from '../helpers/sipInputs.ts';

const AT = '2026-03-14T09:00:00.000Z';
const LATER = '2026-03-14T10:00:00.000Z';
const SID = trunkSidOf('acme');

const config = testConfig();

const created: TrunkEvent = {
  type: 'TrunkCreated',
  trunkSid: SID,
  at: AT,
  source: 'config',
  ...config.trunks[0]!,
};

function fold(events: TrunkEvent[]): TrunkState | undefined {
  return events.reduce<TrunkState | undefined>(
    (state, event, revision) => evolveTrunk(state, event, revision),
    undefined,
  );
}

/** Given a stream, when a change is asked: the events decided and the trunk after them. */
function given(...history: TrunkEvent[]) {
  const state = fold(history);
  if (!state) throw new Error('given: the stream folds to no trunk');
  return {
    when(change: TrunkChange, attribution: Attribution = {}) {
      const events = decideTrunkChange(state, change, attribution, LATER);
      return { events, after: fold([...history, ...events])! };
    },
  };
}

describe('trunk decider', () => {
  it('a new transfer mode is one TrunkTransferModeChanged with the previous mode, who and why', () => {
    const then = given(created).when({ transferMode: 'sip-only' }, { reason: 'fraud', by: 'SK1' });
    expect(then.events).toEqual([
      {
        type: 'TrunkTransferModeChanged',
        trunkSid: SID,
        name: 'acme',
        at: LATER,
        reason: 'fraud',
        by: 'SK1',
        transferMode: 'sip-only',
        previous: 'enable-all',
      },
    ]);
    expect(then.after.config.transferMode).toBe('sip-only');
    expect(then.after).toMatchObject({ revision: 1, createdAt: AT, updatedAt: LATER, source: 'config' });
  });

  it('asking for the values in force decides nothing', () => {
    const then = given(created).when({
      transferMode: 'enable-all',
      transferCallerId: 'from-transferee',
      acl: ['127.0.0.1/32'],
    });
    expect(then.events).toEqual([]);
  });

  it('several fields that change are one event each, in a fixed order, without attribution when none was given', () => {
    const then = given(created).when({
      acl: ['10.0.0.0/8'],
      transferCallerId: 'from-transferor',
      transferMode: 'disable-all',
    });
    expect(then.events.map((event) => event.type)).toEqual([
      'TrunkTransferModeChanged',
      'TrunkCallerIdModeChanged',
      'TrunkAclChanged',
    ]);
    expect(then.events[2]).toMatchObject({ acl: ['10.0.0.0/8'], previous: ['127.0.0.1/32'] });
    expect(then.events.every((event) => !('reason' in event) && !('by' in event))).toBe(true);
    expect(then.after.config).toMatchObject({
      transferMode: 'disable-all',
      transferCallerId: 'from-transferor',
      acl: ['10.0.0.0/8'],
    });
    expect(then.after.revision).toBe(3);
  });

  it('a change is judged against the folded stream, not the trunk as created', () => {
    const changed = given(created).when({ transferMode: 'sip-only' }).events;
    const then = given(created, ...changed).when({ transferMode: 'sip-only' });
    expect(then.events).toEqual([]);
    const back = given(created, ...changed).when({ transferMode: 'enable-all' });
    expect(back.events).toMatchObject([{ transferMode: 'enable-all', previous: 'sip-only' }]);
  });

  it('changes before a TrunkCreated fold to no trunk', () => {
    const orphan: TrunkEvent = {
      type: 'TrunkAclChanged',
      trunkSid: SID,
      name: 'acme',
      at: AT,
      acl: [],
      previous: [],
    };
    expect(fold([orphan])).toBeUndefined();
  });
});
