/**
 * Host names in the URIs the pivot sends to (the carrier, each trunk's originationUri) are looked up
 * once at start-up and replaced by an address: the engine routes by IP literal, and carrier calls are
 * recognised by their source address, which must be the carrier's. A name that does not resolve stops
 * the program with a ConfigError naming the field. (No SRV/NAPTR: the port is the URI's, or 5060.)
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigError } from './error.ts';
import type { PivotConfig } from './schema.ts';

export type Lookup = (host: string) => Promise<{ address: string; family: number }>;

/** `sip:` or `sips:`, an optional userinfo, then the host (a bracketed IPv6 literal or a name). */
const HOST = /^(sips?:(?:[^@;?]*@)?)(\[[^\]]+\]|[^:;?>]+)/i;

async function resolveUri(uri: string, field: string, lookup: Lookup): Promise<string> {
  const match = HOST.exec(uri);
  if (!match) return uri;
  const host = match[2]!;
  if (isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0) return uri;
  let address: { address: string; family: number };
  try {
    address = await lookup(host);
  } catch (error) {
    throw new ConfigError([`config: ${field}: host ${host} does not resolve (${(error as Error).message})`]);
  }
  const literal = address.family === 6 ? `[${address.address}]` : address.address;
  return `${match[1]}${literal}${uri.slice(match[0].length)}`;
}

export async function resolveHosts(config: PivotConfig, lookup: Lookup = dnsLookup): Promise<PivotConfig> {
  const { uri } = config.carrier;
  const carrierUri =
    typeof uri === 'string'
      ? await resolveUri(uri, 'carrier.uri', lookup)
      : await Promise.all(uri.map((one, i) => resolveUri(one, `carrier.uri[${i}]`, lookup)));
  const trunks = await Promise.all(
    config.trunks.map(async (trunk, i) => ({
      ...trunk,
      originationUri: await resolveUri(trunk.originationUri, `trunks[${i}].originationUri`, lookup),
    })),
  );
  return { ...config, carrier: { ...config.carrier, uri: carrierUri }, trunks };
}
