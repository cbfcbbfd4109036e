/**
 * Several trunks behind one PBX address, one of them with digest credentials, driven by a SIPp PBX
 * that behaves as Asterisk does toward an ITSP: challenged INVITE, ACK, INVITE again with
 * Proxy-Authorization; the caller an extension with the DID in P-Asserted-Identity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, renderScenario } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort, runSipp, type SippResult } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

const SUPPORT_DOMAIN = 'support.pstn.pivot.test';

async function startTwoTrunks() {
  const carrierPort = await freePort();
  pivot = await startTestPivot({
    carrierPort,
    extraTrunks: [
      {
        name: 'support',
        domain: SUPPORT_DOMAIN,
        acl: ['127.0.0.1/32'],
        credentialList: 'support-pbx',
        originationUri: 'sip:127.0.0.1:5071',
        numbers: ['+15550100042'],
        transferMode: 'sip-only',
        rates: { currency: 'USD', origination: { '': 0.01 }, termination: { '': 0.02 } },
      },
    ],
    credentialLists: { 'support-pbx': [{ username: 'support', password: 's3cret-pass' }] },
  });
  return { carrierPort, pivot };
}

/** The INVITE the carrier received, whole. */
function inviteAt(result: SippResult): string {
  const block = result.messages
    .split(/^-{10,}.*$/m)
    .find((b) => /message received/.test(b) && /^\s*INVITE /m.test(b));
  if (!block) throw new Error(`the carrier received no INVITE:\n${result.messages}`);
  return block;
}

describe('trunks identified by domain behind one PBX address, digest on one of them', () => {
  it('a call to the second trunk is challenged (407), authenticated, and reaches the carrier as that trunk', async () => {
    const { carrierPort, pivot } = await startTwoTrunks();
    const carrier = runSipp({
      scenario: 'vendors/carrier-answer.xml',
      localIp: CARRIER_IP,
      localPort: carrierPort,
    });
    await carrier.ready;
    const pbx = runSipp({
      scenario: renderScenario('vendors/asterisk-pbx-auth.xml', {
        DOMAIN: SUPPORT_DOMAIN,
        USER: 'support',
        PASS: 's3cret-pass',
      }),
      remote: pivot.address,
    });
    const [carrierResult] = await allPassed(carrier, pbx);
    const invite = inviteAt(carrierResult!);
    // The extension never reaches the carrier: the DID from P-Asserted-Identity does, well formed.
    expect(invite).toMatch(/^From: "Front Desk" <sip:\+15550100042@127\.0\.0\.1>;tag=pv[0-9a-f]+f$/m);
    expect(invite).toMatch(/^P-Asserted-Identity: <sip:\+15550100042@127\.0\.0\.1>$/m);
    // RFC 7332: the B2BUA passes Max-Forwards on, one less than the PBX's 70.
    expect(invite).toMatch(/^Max-Forwards: 69$/m);
    expect(invite).not.toMatch(/1001|Proxy-Authorization/);

    const events = await pivot.events();
    const received = events.filter((e) => e.type === 'CallReceived');
    expect(received).toHaveLength(1);
    expect(received[0]!.data).toMatchObject({
      trunkName: 'support',
      from: '+15550100042',
      to: '+15550200000',
    });
  });

  it('the same PBX address calls the first trunk without credentials', async () => {
    const { carrierPort, pivot } = await startTwoTrunks();
    const carrier = runSipp({
      scenario: 'vendors/carrier-answer.xml',
      localIp: CARRIER_IP,
      localPort: carrierPort,
    });
    await carrier.ready;
    const pbx = runSipp({
      scenario: renderScenario('vendors/freeswitch-pbx.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
      remote: pivot.address,
    });
    await allPassed(carrier, pbx);
    const events = await pivot.events();
    expect(events.find((e) => e.type === 'CallReceived')?.data.trunkName).toBe('acme');
  });

  it('a wrong password gets 403 and nothing is stored', async () => {
    const { pivot } = await startTwoTrunks();
    const pbx = runSipp({
      scenario: renderScenario('vendors/asterisk-pbx-auth.xml', {
        DOMAIN: SUPPORT_DOMAIN,
        USER: 'support',
        PASS: 'not-the-password',
      }),
      remote: pivot.address,
    });
    const [result] = await allPassed(pbx);
    expect(result!.messages).toMatch(
      /SIP\/2\.0 403 Forbidden[\s\S]*Warning: 399 sip-pivot "digest authentication failed: wrong password for support"/,
    );
    expect(await pivot.events()).toEqual([]);
  });
});
