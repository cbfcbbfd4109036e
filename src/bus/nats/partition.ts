/**
 * Which partition an input goes to: a stable hash of its session, so every input of a session lands in
 * one partition (and so stays in order), whatever process publishes it. Pure.
 */

import type { SipInput } from '../../shared/messages.ts';
import { sessionOf } from '../../shared/sessionKeys.ts';

/** FNV-1a, 32 bits, over the UTF-8 bytes: stable across processes, platforms and releases. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function partitionOfSession(session: string, partitions: number): number {
  return fnv1a32(session) % partitions;
}

export function partitionOf(input: SipInput, partitions: number): number {
  return partitionOfSession(sessionOf(input), partitions);
}
