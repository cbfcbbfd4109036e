/**
 * What the engine puts into a REFER's event so the pure transfer machine can tell where a target goes:
 * the carrier's addresses (a SIP target there reaches the PSTN) and the pivot's own (a target there
 * loops back into the pivot); and Refer-To / Referred-By screened for control bytes, which must reach
 * neither the store nor a machine.
 */
import { networkInterfaces } from 'node:os';
import type { TransferPolicy } from '../../machines/events.ts';
import { escapeControls, nameAddrTextProblem } from '../../machines/header-text.ts';
import { hostNetwork, ipAddress } from '../../machines/ip-literal.ts';
import type { PivotConfig } from '../config/index.ts';
import type { TrunkDirectory } from './trunks.ts';

type Guards = Required<Pick<TransferPolicy, 'carrierNetworks' | 'pivotNetworks' | 'pivotPort'>>;

export function targetGuards(config: PivotConfig, trunks: TrunkDirectory): Guards {
  return {
    carrierNetworks: carrierNetworks(config, trunks),
    pivotNetworks: pivotNetworks(config.sip),
    pivotPort: config.sip.port,
  };
}

/** Every carrier gateway's address (`carrier.uri`, resolved at start-up) and `carrier.sources`, as CIDRs. */
export function carrierNetworks(config: PivotConfig, trunks: TrunkDirectory): string[] {
  // Every gateway, in rotation or not: a target at a gateway that stopped answering is still the PSTN.
  const gateways = trunks.carrierGateways.map((g) => g.destination);
  const own = gateways.map((gateway) => hostNetwork(gateway.host)).filter((net) => net !== undefined);
  return [...own, ...(config.carrier.sources ?? [])];
}

const THIS_HOST = ['0.0.0.0/32', '::/128'];
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/**
 * The addresses at which a request reaches this pivot, as CIDRs: `sip.host` and `sip.publicHost` when
 * they are IP addresses; an unspecified address (`0.0.0.0`, `::`) as destination means this host (Linux
 * delivers it to the loopback), and a pivot listening on one is reached at the loopback block and every
 * interface address.
 */
export function pivotNetworks(sip: { host: string; publicHost: string }): string[] {
  const networks = new Set(THIS_HOST);
  for (const host of [sip.host, sip.publicHost]) {
    const network = hostNetwork(host);
    if (network) networks.add(network);
  }
  const listening = ipAddress(sip.host.replace(/^\[(.*)\]$/, '$1'));
  if (listening && /^(0\.0\.0\.0|0(:0){7})$/.test(listening.address)) {
    for (const network of LOOPBACK) networks.add(network);
    for (const info of Object.values(networkInterfaces()).flat()) {
      const network = info ? hostNetwork(info.address) : undefined;
      if (network) networks.add(network);
    }
  }
  return [...networks];
}

export interface ScreenedRefer {
  referTo: string[];
  referredBy?: string;
  /** Why the REFER must be refused (400); its values are then kept with their controls %-escaped. */
  malformed?: string;
}

/** Refer-To values and Referred-By as the REFER's event may carry them. */
export function screenRefer(referTo: string[], referredBy: string | undefined): ScreenedRefer {
  const malformed =
    referTo.map((value) => nameAddrTextProblem('Refer-To', value)).find(Boolean) ??
    (referredBy === undefined ? undefined : nameAddrTextProblem('Referred-By', referredBy));
  if (!malformed) return { referTo, ...(referredBy === undefined ? {} : { referredBy }) };
  return {
    referTo: referTo.map(escapeControls),
    ...(referredBy === undefined ? {} : { referredBy: escapeControls(referredBy) }),
    malformed,
  };
}
