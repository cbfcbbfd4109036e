/**
 * A transferred call as the call log and the transfers API show it: the lookups that find the root call
 * and its child, and the rows a completed transfer to a SIP target leaves, whichever way the root call
 * went (terminating or originating). The trunk is the one test/e2e/pivot.ts configures.
 */
import { expect } from 'vitest';
import { atOf, type ReadModel, type Resource, secondsBetween, sidPattern } from './readModel.ts';

/** The trunk (one, seeded from the config) and its root call: of its two calls, the one without a parent. */
async function rootCallOnTrunk(api: ReadModel) {
  const { Trunks } = await api.get('/v1/Trunks');
  expect(Trunks).toHaveLength(1);
  const trunk: Resource = Trunks[0];
  const trunkSid: string = trunk.Sid;
  const { Calls: all } = await api.get(`/v1/Calls?TrunkSid=${trunkSid}`);
  expect(all).toHaveLength(2);
  const roots = all.filter((c: Resource) => c.ParentCallSid === null);
  expect(roots).toHaveLength(1);
  const rootSid: string = roots[0].Sid;
  expect(rootSid).toMatch(sidPattern('CA'));
  const root = await api.get(`/v1/Calls/${rootSid}`);
  const rootEvents = await api.get(`/v1/Calls/${rootSid}/Events`);
  return { trunk, trunkSid, rootSid, root, rootEvents };
}

/** The one child call listed under `rootSid`: a call of its own. */
export async function onlyChildOf(api: ReadModel, rootSid: string): Promise<Resource> {
  const { Calls: children } = await api.get(`/v1/Calls?ParentCallSid=${rootSid}`);
  expect(children).toHaveLength(1);
  const child = children[0];
  expect(child.Sid).toMatch(sidPattern('CA'));
  return child;
}

/** The child call a transfer bridged: another Sid than the root's, the transfer's Sid, the root's session. */
async function transferChildOf(api: ReadModel, rootSid: string) {
  const child = await onlyChildOf(api, rootSid);
  expect(child.Sid).not.toBe(rootSid);
  expect(child.TransferSid).toMatch(sidPattern('TR'));
  const childEvents = await api.get(`/v1/Calls/${child.Sid}/Events`);
  expect(childEvents.SessionSid).toBe(rootSid);
  return { child, childEvents };
}

/** The call log's duration rule, on a call these tests keep short (a second or more, well under ten). */
export function expectShortCallDuration(call: Resource): void {
  expect(call.Duration).toBe(secondsBetween(call.AnswerTime, call.EndTime));
  expect(call.Duration).toBeGreaterThanOrEqual(1);
  expect(call.Duration).toBeLessThanOrEqual(10);
}

interface Priced {
  trunkSid: string;
  direction: 'trunking-terminating' | 'trunking-originating';
  price: number;
  currency: string;
}

/** The root call's row: an ordinary call (shown with its own caller) that accepted one transfer. */
function completedRootCall(
  rootEvents: Resource,
  call: Priced & { sid: string; from: string; to: string },
): Resource {
  return {
    Sid: call.sid,
    ParentCallSid: null,
    TrunkSid: call.trunkSid,
    TransferSid: null,
    TrunkName: 'acme',
    Direction: call.direction,
    From: call.from,
    To: call.to,
    CallerId: call.from,
    TargetKind: null,
    Status: 'completed',
    StartTime: atOf(rootEvents, 'CallReceived'),
    AnswerTime: atOf(rootEvents, 'CallAnswered'),
    EndTime: atOf(rootEvents, 'CallEnded'),
    TransfersAccepted: 1,
    Price: call.price,
    PriceUnit: call.currency,
  };
}

/** The child call's row: the transferee bridged to the SIP target (user `target`), answered as it starts. */
function completedSipChildCall(
  childEvents: Resource,
  call: Priced & { rootSid: string; from: string; callerId: string },
): Resource {
  return {
    ParentCallSid: call.rootSid,
    TrunkSid: call.trunkSid,
    TrunkName: 'acme',
    Direction: call.direction,
    From: call.from,
    To: 'target',
    CallerId: call.callerId,
    TargetKind: 'sip',
    Status: 'completed',
    StartTime: atOf(childEvents, 'ChildCallStarted'),
    AnswerTime: atOf(childEvents, 'ChildCallStarted'),
    EndTime: atOf(childEvents, 'CallEnded'),
    TransfersAccepted: 0,
    Price: call.price,
    PriceUnit: call.currency,
  };
}

/** The transfer's row: the PBX's REFER to `referTo` accepted (202), the target answered (200). */
function completedSipTransfer(
  rootEvents: Resource,
  transfer: {
    child: Resource;
    rootSid: string;
    trunkSid: string;
    referTo: string;
    callerId: string;
    transferCallerId: 'from-transferee' | 'from-transferor';
  },
): Resource {
  return {
    Sid: transfer.child.TransferSid,
    CallSid: transfer.rootSid,
    ChildCallSid: transfer.child.Sid,
    TrunkSid: transfer.trunkSid,
    ReferredBy: '<sip:agent@pbx.example.test>',
    ReferTo: transfer.referTo,
    TargetKind: 'sip',
    TargetUri: transfer.referTo,
    CallerId: transfer.callerId,
    TransferMode: 'enable-all',
    TransferCallerId: transfer.transferCallerId,
    Outcome: 'completed',
    ReferStatus: 202,
    TargetStatus: 200,
    RejectionReason: null,
    FailureReason: null,
    ReferTime: atOf(rootEvents, 'ReferReceived'),
    AcceptTime: atOf(rootEvents, 'ReferAccepted'),
    AnswerTime: atOf(rootEvents, 'TargetAnswered'),
    EndTime: atOf(rootEvents, 'TransferCompleted'),
  };
}

/**
 * Reads a completed transfer to a SIP target back from the API and checks the rows it left, the same
 * whichever way the root call went: the root call (an ordinary call that accepted one transfer), its one
 * child call (the transferee bridged to the target) and the transfer. Returns them for the test's own checks.
 */
export async function expectCompletedSipTransferRows(
  api: ReadModel,
  expected: Omit<Priced, 'trunkSid'> & {
    /** The root call's parties; its caller is also the caller ID it shows. */
    from: string;
    to: string;
    /** The child call's From: the transferee. */
    childFrom: string;
    /** What the target was shown, by the trunk's transferCallerId. */
    callerId: string;
    referTo: string;
    transferCallerId: 'from-transferee' | 'from-transferor';
  },
) {
  const { trunk, trunkSid, rootSid, root, rootEvents } = await rootCallOnTrunk(api);
  const priced = {
    trunkSid,
    direction: expected.direction,
    price: expected.price,
    currency: expected.currency,
  };
  expect(root).toMatchObject(
    completedRootCall(rootEvents, { ...priced, sid: rootSid, from: expected.from, to: expected.to }),
  );

  const { child, childEvents } = await transferChildOf(api, rootSid);
  expect(child).toMatchObject(
    completedSipChildCall(childEvents, {
      ...priced,
      rootSid,
      from: expected.childFrom,
      callerId: expected.callerId,
    }),
  );
  expectShortCallDuration(child);

  const { Transfers } = await api.get(`/v1/Transfers?CallSid=${rootSid}`);
  expect(Transfers).toHaveLength(1);
  expect(Transfers[0]).toMatchObject(
    completedSipTransfer(rootEvents, {
      child,
      rootSid,
      trunkSid,
      referTo: expected.referTo,
      callerId: expected.callerId,
      transferCallerId: expected.transferCallerId,
    }),
  );
  return { trunk, trunkSid, rootSid, root, child, transfer: Transfers[0] as Resource };
}
