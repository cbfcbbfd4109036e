/**
 * API key secrets: drawn at random, shown once, stored only as a salted scrypt hash (RFC 7914) with the
 * parameters it was made with, so the cost can be raised later without invalidating stored keys.
 */
import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { uuidv7Hex } from '../shared/sids.ts';

/** What is stored in place of a secret. */
export interface SecretHash {
  algorithm: 'scrypt';
  /** CPU/memory cost, block size and parallelism (RFC 7914 section 2). */
  N: number;
  r: number;
  p: number;
  keyLength: number;
  /** base64 */
  salt: string;
  /** base64 */
  hash: string;
}

/**
 * N = 2^14, r = 8, p = 1 (16 MiB, tens of milliseconds per hash): the secrets are 256 random bits, not
 * passwords, so no guess at a leaked hash can win whatever the cost; the cost is defence in depth, kept
 * low because anyone who knows a key sid can make the API pay it (authenticate.ts limits that). Verified
 * keys are cached, so it is not paid on every request.
 */
const COST = { N: 2 ** 14, r: 8, p: 1, keyLength: 32 } as const;

/** `SK` + 32 hex digits, like the other sids (time-ordered, so a listing sorts by creation). */
export function newKeySid(): string {
  return `SK${uuidv7Hex()}`;
}

export const KEY_SID = /^SK[0-9a-f]{32}$/;

/** 256 random bits, URL-safe base64 (no `:`, so it fits HTTP Basic's user:password). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function derive(secret: string, salt: Buffer, cost: Omit<SecretHash, 'algorithm' | 'salt' | 'hash'>) {
  const options: ScryptOptions = {
    N: cost.N,
    r: cost.r,
    p: cost.p,
    // Node refuses more than 32 MiB by default; scrypt needs 128 * N * r bytes, give it twice that.
    maxmem: 256 * cost.N * cost.r,
  };
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(secret, salt, cost.keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashSecret(secret: string): Promise<SecretHash> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, COST);
  return { algorithm: 'scrypt', ...COST, salt: salt.toString('base64'), hash: hash.toString('base64') };
}

export async function verifySecret(secret: string, stored: SecretHash): Promise<boolean> {
  if (stored.algorithm !== 'scrypt') return false;
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await derive(secret, Buffer.from(stored.salt, 'base64'), {
    ...stored,
    keyLength: expected.length,
  });
  return timingSafeEqual(actual, expected);
}

/** A fixed-length digest of a presented secret, for comparing against a cached one in constant time. */
export function digestOf(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
