/**
 * The billing lines of a transferred call as the billing API shows them (docs/architecture.md "Billing"): the root
 * call is billed as an ordinary call, its child call again under the child's Sid; the calls in these tests
 * last under a minute, so every line is one started minute.
 */
import { expect } from 'vitest';
import type { ReadModel, Resource } from './readModel.ts';

/**
 * The one line of a call billed as an ordinary call for one started minute: termination to the called
 * number, or origination from the calling number; its amount is its rate.
 */
export function ordinaryCallLine(
  where: { callSid: string; trunkSid: string; day: string },
  line: { kind: 'termination' | 'origination'; number: string; rate: number; currency: string },
): Resource {
  return {
    CallSid: where.callSid,
    Line: 1,
    TrunkSid: where.trunkSid,
    Day: where.day,
    Kind: line.kind,
    Number: line.number,
    Description:
      line.kind === 'termination'
        ? 'termination to the called number'
        : 'origination from the calling number',
    RatePerMinute: line.rate,
    Minutes: 1,
    Amount: line.rate,
    Currency: line.currency,
  };
}

/**
 * A transferred call billed one minute each: the root call its ordinary line, the child call the same
 * line under its own Sid and `childDescription`; each listed alike under its call. Returns the child's.
 */
export async function expectOneMinuteEach(
  api: ReadModel,
  calls: { root: Resource; child: Resource; rootLine: Resource; childDescription: string },
): Promise<Resource> {
  const { root, child, rootLine } = calls;
  const childLine = { ...rootLine, CallSid: child.Sid, Description: calls.childDescription };
  expect(root.BillingLines).toEqual([rootLine]);
  expect(child.BillingLines).toEqual([childLine]);
  expect((await api.get(`/v1/Billing/Lines?CallSid=${child.Sid}`)).Lines).toEqual([childLine]);
  expect((await api.get(`/v1/Billing/Lines?CallSid=${root.Sid}`)).Lines).toEqual([rootLine]);
  return childLine;
}
