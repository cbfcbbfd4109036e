/**
 * Which source addresses are known peers: a trunk's PBX (its ACL) or the carrier (its gateways and
 * `sources`). The SIP edge gives each known peer its own request budget and makes every other source
 * share one, so a flood spread over many spoofed addresses cannot crowd out the trunks' calls.
 */
import { isIP } from 'node:net';
import { createLru } from '../shared/lru.ts';
import type { TrunkDirectory } from './trunks.ts';

/** Answers remembered per directory; a directory changes whenever a trunk does. */
const CACHED_ANSWERS = 10_000;

export function knownPeers(current: () => TrunkDirectory): (address: string) => boolean {
  let directory: TrunkDirectory | undefined;
  // Bounded, least recently asked first out: spoofed floods bring ever new addresses, while the
  // peers' own addresses, asked all the time, stay answered from here.
  const answers = createLru<boolean>(CACHED_ANSWERS);
  return (address) => {
    const now = current();
    if (now !== directory) {
      directory = now;
      answers.clear();
    }
    const cached = answers.get(address);
    if (cached !== undefined) return cached;
    const known =
      isIP(address) !== 0 &&
      (now.isCarrier(address) || now.trunks.some((trunk) => now.admits(trunk, address)));
    answers.set(address, known);
    return known;
  };
}
