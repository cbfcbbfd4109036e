/**
 * Status callback signatures: `X-Pivot-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with
 * the trunk's secret>`. A receiver recomputes it over the bytes it received and compares in constant
 * time (`verifySignature`), so a request that did not come from the pivot, or was altered, is refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-pivot-signature';

export function signatureOf(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signatureOf(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
