/**
 * Toll-fraud paths through a transfer, over the wire (SIPp parties, and a raw UDP PBX for bytes SIPp
 * cannot send). A Refer-To naming the carrier's address is a PSTN call, however the address is written:
 * refused under sip-only, a PSTN transfer billed as such under enable-all. A Refer-To naming the pivot
 * itself, an IP address spelled in a form RFC 3261 does not allow, maddr, and control bytes are refused
 * before any INVITE. Every refusal carries a Warning and is stored as ReferRejected.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp, type SippResult } from '../helpers/sipp.ts';
import {
  allPassed,
  carrier,
  escapeRegExp,
  pbxSdp,
  received,
  renderScenario,
  withoutTrying,
} from './parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, the, typesOf } from './pivot.ts';
import { rawPbx } from './rawPbx.ts';
import { type Resource, readModel } from './readModel.ts';
import { onlyChildOf } from './transferredCall.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

const UK = '+442071234567';

/** The Warning header of the response with this status the party received. */
function warningOf(result: SippResult, status: number): string | undefined {
  const block = result.messages
    .split(/^-{10,}.*$/m)
    .find((b) => /message received/.test(b) && new RegExp(`^\\s*SIP/2\\.0 ${status} `, 'm').test(b));
  return /^\s*Warning:\s*(.*?)\s*$/im.exec(block ?? '')?.[1];
}

interface Ports {
  carrier: number;
  pivot: number;
}

interface Refusal {
  referTo: (ports: Ports) => string;
  status: number;
  reason: (ports: Ports) => string;
  transferMode: 'sip-only' | 'enable-all';
  /** SIPp reads `[...]` in a scenario as a keyword: an IPv6 reference goes in through `-set`, as `[$name]`. */
  vars?: Record<string, string>;
}

/**
 * A rendered scenario that also declares `vars` (SIPp refuses a `-set` variable the scenario does not
 * declare) and the SIPp options that set them.
 */
function withVars(scenario: string, vars: Record<string, string>): { scenario: string; extraArgs: string[] } {
  const names = Object.keys(vars);
  if (names.length > 0) {
    const text = readFileSync(scenario, 'utf8');
    writeFileSync(
      scenario,
      text.replace(/(<scenario[^>]*>)/, `$1\n  <Global variables="${names.join(',')}"/>`),
    );
  }
  return { scenario, extraArgs: Object.entries(vars).flatMap(([name, value]) => ['-set', name, value]) };
}

/** The PBX of parties.ts `pbx(..., { flow: 'refused' })`, with `vars` for `[$name]` in its Refer-To. */
function refusedPbx(pivotAddress: string, referTo: string, status: number, vars: Record<string, string>) {
  const rendered = renderScenario('e2e-pbx.xml', {
    FLOW: 'refused',
    REFER_TO: `Refer-To: <${referTo}>`,
    STATUS: status,
    TARGET: 'target@127.0.0.1:5999',
    FINAL: escapeRegExp('200 OK'),
    AFTER_TRANSFER: 'hang_up',
    SECOND_TARGET: 'target@127.0.0.1:5999',
    BYE_DELAY_MS: 500,
    OFFER_HEADER: 'Content-Type: application/sdp',
    OFFER: pbxSdp('sendrecv'),
    ANSWER_HEADER: 'X-Delayed-Offer: no',
    ANSWER: '',
  });
  return runSipp({ ...withVars(rendered, vars), remote: pivotAddress, timeoutMs: 20_000 });
}

/** A call through the pivot, a REFER the pivot refuses, then the PBX hangs up. */
async function expectRefused(refusal: Refusal) {
  const carrierPort = await freePort();
  pivot = await startTestPivot({ carrierPort, trunk: { transferMode: refusal.transferMode } });
  const ports = { carrier: carrierPort, pivot: pivot.port };
  const reason = refusal.reason(ports);
  const far = carrier({ port: carrierPort, flow: 'hung_up' });
  await far.ready;
  const agent = refusedPbx(pivot.address, refusal.referTo(ports), refusal.status, refusal.vars ?? {});
  const [pbxResult, carrierResult] = await allPassed(agent, far);
  expect(warningOf(pbxResult!, refusal.status)).toBe(`399 sip-pivot "${reason}"`);
  // The carrier saw only the original call: no INVITE for the transfer target.
  expect(received(carrierResult!).filter((line) => line.startsWith('INVITE'))).toEqual([
    `INVITE sip:+15550200000@${CARRIER_IP} SIP/2.0`,
  ]);
  const events = await pivot.events();
  const root = the(events, 'CallReceived').data.callSid;
  expect(typesOf(events, root)).toEqual([
    'CallReceived',
    'CallProgress',
    'CallAnswered',
    'CallAcked',
    'ReferReceived',
    'ReferRejected',
    'HangupReceived',
    'CallEnded',
  ]);
  expect(the(events, 'ReferRejected').data).toMatchObject({ status: refusal.status, reason });
}

const carrierReason = (host: string) => () =>
  `PSTN targets are not allowed on trunk acme (sip-only): Refer-To host ${host} is the carrier`;

describe('sip-only: a Refer-To at the carrier is a PSTN target, refused with 403', () => {
  const cases: [string, (ports: Ports) => string, string, Record<string, string>?][] = [
    ['the carrier address as configured', (p) => `sip:${UK}@${CARRIER_IP}:${p.carrier}`, CARRIER_IP],
    [
      'IPv4-mapped IPv6',
      (p) => `sip:${UK}@[$mapped]:${p.carrier}`,
      `[::ffff:${CARRIER_IP}]`,
      { mapped: `[::ffff:${CARRIER_IP}]` },
    ],
    ['another port, over TCP', () => `sip:${UK}@${CARRIER_IP}:5999;transport=tcp`, CARRIER_IP],
    ['sips, user=phone, no port', () => `sips:${UK}@${CARRIER_IP};user=phone`, CARRIER_IP],
  ];
  for (const [title, referTo, host, vars] of cases) {
    it(title, () =>
      expectRefused({
        referTo,
        status: 403,
        reason: carrierReason(host),
        transferMode: 'sip-only',
        ...(vars ? { vars } : {}),
      }),
    );
  }
});

describe('a Refer-To address in a form RFC 3261 does not allow: 400, never guessed', () => {
  for (const host of ['127.0.0.02', '127.2', '2130706434']) {
    it(host, () =>
      expectRefused({
        referTo: (p) => `sip:${UK}@${host}:${p.carrier}`,
        status: 400,
        reason: () => `Refer-To host ${host} is not a valid IP address`,
        transferMode: 'sip-only',
      }),
    );
  }

  it('maddr pointing at the carrier', () =>
    expectRefused({
      referTo: () => `sip:bob@127.0.0.1:5999;maddr=${CARRIER_IP}`,
      status: 400,
      reason: () => 'Refer-To maddr is not supported',
      transferMode: 'sip-only',
    }));
});

describe("a Refer-To at the pivot's own address: 403 instead of a loop", () => {
  it('as configured', () =>
    expectRefused({
      referTo: (p) => `sip:bob@127.0.0.1:${p.pivot}`,
      status: 403,
      reason: (p) => `Refer-To 127.0.0.1:${p.pivot} is the pivot's own address (the transfer would loop)`,
      transferMode: 'enable-all',
    }));

  it('IPv4-mapped IPv6, over TCP', () =>
    expectRefused({
      referTo: (p) => `sip:bob@[$mapped]:${p.pivot};transport=tcp`,
      vars: { mapped: '[::ffff:127.0.0.1]' },
      status: 403,
      reason: (p) =>
        `Refer-To [::ffff:127.0.0.1]:${p.pivot} is the pivot's own address (the transfer would loop)`,
      transferMode: 'enable-all',
    }));
});

describe('enable-all: a Refer-To at the carrier is a PSTN transfer, billed as one', () => {
  const B = '+15550200000';
  const C = '+15550900000';
  const RATES = {
    currency: 'EUR',
    origination: { '': 0.0034 },
    termination: { '': 0.0045, '+1555020': 0.0125, '+1555090': 0.0333 },
  };

  it('sip:+E164@[::ffff:<carrier>]:<port>;user=phone: the carrier gets sip:+E164@<carrier>', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, trunk: { transferMode: 'enable-all', rates: RATES } });
    const far = runSipp({
      scenario: renderScenario('e2e-carrier-pstn.xml', {
        TARGET_NUMBER: escapeRegExp(C),
        FROM: escapeRegExp(B),
        FAR_END: 'hung_up',
        TARGET_END: 'hangs_up',
      }),
      localIp: CARRIER_IP,
      localPort: carrierPort,
      calls: 2,
      timeoutMs: 20_000,
    });
    await far.ready;
    const referTo = `sip:${C}@[::ffff:${CARRIER_IP}]:${carrierPort};user=phone`;
    const rendered = renderScenario('e2e-pbx-refer-uri.xml', {
      REFER_TO: `sip:${C}@[$mapped]:${carrierPort};user=phone`,
    });
    const agent = runSipp({
      ...withVars(rendered, { mapped: `[::ffff:${CARRIER_IP}]` }),
      remote: pivot.address,
      timeoutMs: 20_000,
    });
    const [pbxResult, carrierResult] = await allPassed(agent, far);
    expect(withoutTrying(received(pbxResult!))).toContain('SIP/2.0 202 Accepted');
    expect(received(carrierResult!).filter((line) => line.startsWith('INVITE sip:+'))).toEqual([
      `INVITE sip:${B}@${CARRIER_IP} SIP/2.0`,
      `INVITE sip:${C}@${CARRIER_IP} SIP/2.0`,
    ]);

    const api = readModel(pivot.httpUrl);
    await api.untilEndedAndBilled({ calls: 2, billingLines: 3 });
    const { Calls: all } = await api.get('/v1/Calls');
    const rootSid: string = all.find((c: Resource) => c.ParentCallSid === null).Sid;
    const child = await onlyChildOf(api, rootSid);
    expect(child).toMatchObject({ To: C, TargetKind: 'pstn', Price: 0.0458, PriceUnit: 'EUR' });
    expect(child.BillingLines.map((line: Resource) => [line.Number, line.RatePerMinute])).toEqual([
      [B, 0.0125],
      [C, 0.0333],
    ]);
    const events = await pivot.events();
    expect(the(events, 'ReferAccepted').data).toMatchObject({ referTo, targetKind: 'pstn' });
  });
});

describe('control bytes in Refer-To or Referred-By (a raw UDP PBX): 400, nothing sent on', () => {
  it('Refer-To with \\x01 in the user part, then Referred-By with a CR: both 400, the call goes on', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'hung_up' });
    await far.ready;
    const agent = await rawPbx({ host: '127.0.0.1', port: pivot.port });
    try {
      await agent.call();
      const first = await agent.inDialog('REFER', 2, ['Refer-To: <sip:+44207\x01@127.0.0.1:5999>']);
      expect(first.status).toBe(400);
      expect(first.header('Warning')).toBe('399 sip-pivot "control character in Refer-To"');
      const second = await agent.inDialog('REFER', 3, [
        'Refer-To: <sip:bob@127.0.0.1:5999>',
        'Referred-By: <sip:agent@127.0.0.1>\rX-Injected: yes',
      ]);
      expect(second.status).toBe(400);
      expect(second.header('Warning')).toBe('399 sip-pivot "control character in Referred-By"');
      const bye = await agent.inDialog('BYE', 9, []);
      expect(bye.status).toBe(200);
    } finally {
      agent.close();
    }
    const [carrierResult] = await allPassed(far);
    expect(received(carrierResult!).filter((line) => line.startsWith('INVITE'))).toHaveLength(1);
    const events = await pivot.events();
    const rejected = events.filter((e) => e.type === 'ReferRejected').map((e) => e.data);
    expect(rejected).toMatchObject([
      { status: 400, reason: 'control character in Refer-To' },
      { status: 400, reason: 'control character in Referred-By' },
    ]);
    const refers = events.filter((e) => e.type === 'ReferReceived').map((e) => e.data);
    expect(refers[0].referTo).toEqual(['<sip:+44207%01@127.0.0.1:5999>']);
    expect(refers[1].referredBy).toBe('<sip:agent@127.0.0.1>%0DX-Injected: yes');
  });
});
