import { describe, expect, it } from 'vitest';
import { fnv1a32 } from '../../src/shared/fnv1a.ts';

describe('fnv1a32', () => {
  it('gives the FNV-1a 32-bit reference values', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of text outside ASCII, not its UTF-16 code units', () => {
    // 'é' is the bytes 0xc3 0xa9 in UTF-8; the single code unit 0xe9 would give 0x6c0b6c44.
    expect(fnv1a32('é')).toBe(0x1e9de8c1);
  });
});
