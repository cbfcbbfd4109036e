/**
 * FNV-1a, 32 bits, over the UTF-8 bytes: a hash stable across processes, platforms and releases, for
 * choices that must come out alike wherever and whenever they are made (a session's NATS partition, a
 * replayed glare back-off).
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
