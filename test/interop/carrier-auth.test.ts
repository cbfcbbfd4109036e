/**
 * A carrier that authenticates the pivot (RFC 3261 §22.2): its 407 is answered once with
 * Proxy-Authorization computed from `carrier.credentials` (SIPp's verifyauth checks the response with
 * the password), the call then completes; a second challenge ends the call with the carrier's 407.
 * The password comes from the environment and appears in no stored event.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, received, renderScenario } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, the } from '../e2e/pivot.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

const PASSWORD = 'carrier-s3cret-pa55';
/** How the config names an environment variable (written out: not a template string). */
const ENV_REFERENCE = ['$', '{PIVOT_TEST_CARRIER_PASSWORD}'].join('');

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
  delete process.env.PIVOT_TEST_CARRIER_PASSWORD;
});

function pbxCall(address: string) {
  return runSipp({
    scenario: renderScenario('vendors/freeswitch-pbx.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
    remote: address,
  });
}

type Challenge = 401 | 407;

/** The INVITEs a party received, each message's text. */
function receivedInvites(messages: string): string[] {
  return messages
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received/.test(block))
    .map((block) => block.slice(block.indexOf('\n\n') + 2).replace(/^\s+/, ''))
    .filter((text) => text.startsWith('INVITE '));
}

function challengingCarrier(port: number, status: Challenge, second: 'answer' | 'challenge_again') {
  const proxy = status === 407;
  return runSipp({
    scenario: renderScenario('carrier-challenge.xml', {
      STATUS_LINE: proxy ? '407 Proxy Authentication Required' : '401 Unauthorized',
      CHALLENGE: proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate',
      CREDENTIALS: proxy ? 'Proxy-Authorization' : 'Authorization',
      // SIPp's verifyauth reads only Authorization: a 407's answer is checked against the same
      // response as the 401 one's below (same nonce, uri and cnonce pattern), its form by the regexp.
      VERIFY: proxy
        ? '<ereg regexp="^ *Digest username=&quot;pivot&quot;, realm=&quot;carrier\\.pivot\\.test&quot;" search_in="hdr" header="Proxy-Authorization:" check_it="true" assign_to="auth_valid"/>'
        : `<verifyauth assign_to="auth_valid" username="pivot" password="${PASSWORD}"/>`,
      SECOND: second,
    }),
    localIp: CARRIER_IP,
    localPort: port,
  });
}

describe('digest authentication toward the carrier', () => {
  it.each([401, 407] as const)(
    'a %i is answered once with credentials; the call completes',
    async (status) => {
      process.env.PIVOT_TEST_CARRIER_PASSWORD = PASSWORD;
      const carrierPort = await freePort();
      pivot = await startTestPivot({
        carrierPort,
        carrierCredentials: { username: 'pivot', password: ENV_REFERENCE },
      });
      const gateway = challengingCarrier(carrierPort, status, 'answer');
      await gateway.ready;
      const [gatewayResult] = await allPassed(gateway, pbxCall(pivot.address));
      expect(received(gatewayResult!).map((line) => line.split(' ')[0])).toEqual([
        'INVITE',
        'ACK',
        'INVITE',
        'ACK',
        'BYE',
      ]);
      expect(gatewayResult!.messages).toMatch(
        /^(Proxy-)?Authorization: Digest username="pivot", realm="carrier\.pivot\.test", nonce="n0nce-1-c4rr13r", uri="sip:\+15550200000@127\.0\.0\.2", response="[0-9a-f]{32}", algorithm=MD5, qop=auth, nc=00000001, cnonce="[0-9a-f]+", opaque="0p4que"\r?$/m,
      );
      const header = status === 407 ? 'Proxy-Authorization' : 'Authorization';
      expect(gatewayResult!.messages).toMatch(new RegExp(`^${header}: Digest `, 'm'));
      // A new transaction in the same dialog: next CSeq, and the caller's Max-Forwards minus one again.
      const invites = receivedInvites(gatewayResult!.messages).map((text) =>
        (text.match(/^(CSeq: \d+ INVITE|Max-Forwards: \d+)\r?$/gm) ?? []).map((line) => line.trim()),
      );
      expect(invites).toEqual([
        ['Max-Forwards: 68', 'CSeq: 1 INVITE'],
        ['Max-Forwards: 68', 'CSeq: 2 INVITE'],
      ]);
      const events = await pivot.events();
      expect(events.map((e) => e.type)).toEqual([
        'CallReceived',
        'CallRejected',
        'CallProgress',
        'CallAnswered',
        'HangupReceived',
        'CallEnded',
      ]);
      expect(the(events, 'CallRejected').data).toMatchObject({
        status,
        authorization: { header },
      });
      expect(the(events, 'CallEnded').data.status).toBe('completed');
      expect(readFileSync(pivot.dbPath).includes(PASSWORD)).toBe(false);
    },
  );

  it('a second challenge ends the call with the carrier status', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({
      carrierPort,
      carrierCredentials: { username: 'pivot', password: PASSWORD },
    });
    const gateway = challengingCarrier(carrierPort, 407, 'challenge_again');
    await gateway.ready;
    const caller = runSipp({
      scenario: renderScenario('vendors/freeswitch-pbx.xml', { DOMAIN: 'acme.pstn.pivot.test' }),
      remote: pivot.address,
      timeoutMs: 10_000,
    });
    const [, callerResult] = await Promise.all([gateway.done, caller.done]);
    expect(received(callerResult)).toContain('SIP/2.0 407 Proxy Authentication Required');
    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual(['CallReceived', 'CallRejected', 'CallRejected', 'CallEnded']);
    expect(events[2]!.data).toMatchObject({ status: 407 });
    expect(events[2]!.data.authorization).toBeUndefined();
  });
});
