/**
 * Which partition an input goes to: a stable hash of its session, so every input of a session lands in
 * one partition (and so stays in order), whatever process publishes it. Pure.
 */

import { fnv1a32 } from '../../shared/fnv1a.ts';
import type { SipInput } from '../../shared/messages.ts';
import { sessionOf } from '../../shared/sessionKeys.ts';

export function partitionOfSession(session: string, partitions: number): number {
  return fnv1a32(session) % partitions;
}

export function partitionOf(input: SipInput, partitions: number): number {
  return partitionOfSession(sessionOf(input), partitions);
}
