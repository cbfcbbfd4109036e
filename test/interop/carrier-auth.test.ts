/**
 * A carrier that authenticates the pivot (RFC 3261 §22.2): its 407 is answered once with
 * Proxy-Authorization computed from `carrier.credentials` (SIPp's verifyauth checks the response with
 * the password), the call then completes; a second challenge ends the call with the carrier's 407.
 * The password comes from the environment and appears in no stored event.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allPassed,
  delayedCaller,
  escapeRegExp,
  pbx,
  received,
  renderScenario,
  target,
} from '../e2e/parties.ts';
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

function challengingCarrier(
  port: number,
  status: Challenge,
  second: 'answer' | 'challenge_again',
  bye: 'bye_ok' | 'bye_challenge' = 'bye_ok',
) {
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
      BYE: bye,
      PASSWORD,
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
        'CallAcked',
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

  it('a challenged BYE is sent once more with credentials, at the next CSeq', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({
      carrierPort,
      carrierCredentials: { username: 'pivot', password: PASSWORD },
    });
    const gateway = challengingCarrier(carrierPort, 401, 'answer', 'bye_challenge');
    await gateway.ready;
    const [gatewayResult] = await allPassed(gateway, pbxCall(pivot.address));
    const byes = gatewayResult!.messages
      .split(/^-{10,}.*$/m)
      .filter((block) => /message received/.test(block) && /^\s*BYE /m.test(block));
    expect(byes).toHaveLength(2);
    expect(byes[0]).not.toMatch(/^Authorization:/m);
    expect(byes[1]).toMatch(
      /^Authorization: Digest username="pivot", realm="carrier\.pivot\.test", nonce="bye-n0nce-1"/m,
    );
    const cseqs = byes.map((block) => /^CSeq: (\d+) BYE/m.exec(block)?.[1]).map(Number);
    expect(cseqs[1]).toBe(cseqs[0]! + 1);
  });

  it("a PSTN transfer's INVITE to the carrier, challenged 401, is sent again with credentials", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({
      carrierPort,
      carrierCredentials: { username: 'pivot', password: PASSWORD },
      trunk: { transferMode: 'enable-all' },
    });
    const far = runSipp({
      scenario: challengingPstnLeg(),
      localIp: CARRIER_IP,
      localPort: carrierPort,
      calls: 2,
      timeoutMs: 20_000,
    });
    await far.ready;
    const agent = runSipp({
      scenario: renderScenario('e2e-pbx-refer-uri.xml', { REFER_TO: 'tel:+15550900000' }),
      remote: pivot.address,
      timeoutMs: 20_000,
    });
    const [, carrierResult] = await allPassed(agent, far);
    const targetInvites = receivedInvites(carrierResult!.messages).filter((text) =>
      text.startsWith('INVITE sip:+15550900000@'),
    );
    expect(targetInvites).toHaveLength(2);
    expect(targetInvites[0]).not.toMatch(/^Authorization:/m);
    expect(targetInvites[1]).toMatch(
      /^Authorization: Digest username="pivot", realm="carrier\.pivot\.test", nonce="t4rget-n0nce"/m,
    );
    const events = await pivot.events();
    const failed = events.filter((e) => e.type === 'TargetFailed');
    expect(failed.map((e) => e.data.status)).toEqual([401]);
    expect(failed[0]!.data.authorization).toMatchObject({ header: 'Authorization' });
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
  });

  it("a transfer's hold re-INVITE, challenged 401 by the carrier, is sent again with credentials", async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({
      carrierPort,
      carrierCredentials: { username: 'pivot', password: PASSWORD },
    });
    const far = runSipp({ scenario: challengingHold(), localIp: CARRIER_IP, localPort: carrierPort });
    const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
    await Promise.all([far.ready, bob.ready]);
    const agent = pbx(pivot.address, { flow: 'transfer', target: `target@127.0.0.1:${bob.port}` });
    const [farResult] = await allPassed(far, agent, bob);
    const invites = receivedInvites(farResult!.messages);
    // The call's INVITE, the challenged hold, the hold with credentials, the reconnect.
    expect(invites).toHaveLength(4);
    expect(invites[1]).not.toMatch(/^Authorization:/m);
    expect(invites[2]).toMatch(
      /^Authorization: Digest username="pivot", realm="carrier\.pivot\.test", nonce="h0ld-n0nce"/m,
    );
    expect(invites[3]).not.toMatch(/^Authorization:/m);
    const cseqs = invites.map((text) => Number(/^CSeq: (\d+) INVITE/m.exec(text)?.[1]));
    expect(cseqs.slice(1)).toEqual([cseqs[1]!, cseqs[1]! + 1, cseqs[1]! + 2]);
    // The same offer both times: the challenged one was never answered.
    const sdpOf = (text: string) => text.slice(text.search(/^v=0/m));
    expect(sdpOf(invites[2]!)).toBe(sdpOf(invites[1]!));
    const events = await pivot.events();
    expect(events.filter((e) => e.type === 'TransfereeHeld')).toHaveLength(1);
    expect(events.map((e) => e.type)).toContain('TransferCompleted');
  });

  it.each(['answered', 'challenged again'] as const)(
    'an offer-less re-INVITE relayed to the carrier and challenged 401 goes again with credentials (%s)',
    async (outcome) => {
      const carrierPort = await freePort();
      pivot = await startTestPivot({
        carrierPort,
        carrierCredentials: { username: 'pivot', password: PASSWORD },
      });
      const twice = outcome === 'challenged again';
      const far = runSipp({
        scenario: challengingOfferlessCallee(twice),
        localIp: CARRIER_IP,
        localPort: carrierPort,
        timeoutMs: 15_000,
      });
      await far.ready;
      const caller = twice
        ? runSipp({ scenario: callerRefusedReInvite(), remote: pivot.address, timeoutMs: 15_000 })
        : delayedCaller(pivot.address, { next: 'reinvite' });
      const [farResult] = await allPassed(far, caller);
      const reInvites = receivedInvites(farResult!.messages).slice(1);
      expect(reInvites).toHaveLength(2);
      // Neither carries an offer: the second is the first again, with credentials, at the next CSeq.
      for (const text of reInvites) expect(text).toMatch(/^Content-Length: *0\r?$/m);
      expect(reInvites[0]).not.toMatch(/^Authorization:/m);
      expect(reInvites[1]).toMatch(
        /^Authorization: Digest username="pivot", realm="carrier\.pivot\.test", nonce="r3-n0nce", uri="sip:callee@127\.0\.0\.2:\d+"/m,
      );
      const cseqs = reInvites.map((text) => Number(/^CSeq: (\d+) INVITE/m.exec(text)?.[1]));
      expect(cseqs[1]).toBe(cseqs[0]! + 1);
      const events = await pivot.events();
      const answers = events.filter((e) => e.type === 'ReInviteAnswered');
      expect(answers.map((e) => e.data.status)).toEqual(twice ? [401, 401] : [401, 200]);
      expect(answers[0]!.data.authorization).toMatchObject({ header: 'Authorization' });
      expect(answers[1]!.data.authorization).toBeUndefined();
      expect(the(events, 'CallEnded').data.status).toBe('completed');
    },
  );
});

/**
 * test/sipp/e2e-carrier.xml (parties.ts' carrier, hold then reconnect) with the hold re-INVITE
 * challenged once and the second one's credentials checked by SIPp's verifyauth.
 */
function challengingHold(): string {
  const file = renderScenario('e2e-carrier.xml', {
    FLOW: 'hold_then_reconnect',
    HOLD_DELAY_MS: 0,
    RECONNECT_DELAY_MS: 0,
    CHILD_END: 'hangs_up',
    AFTER_RESUME: 'hung_up',
    HANGUP_DELAY_MS: 300,
    HOLD_DIRECTION: 'sendonly',
    RECONNECT: 'accept_reconnect',
    INVITE_BODY: 'o=sip-pivot [0-9]+ 1 IN IP4 127\\.0\\.0\\.1',
    INVITE_MEDIA: 'm=audio 10000 ',
    INVITE_BODY_IN: 'body',
    ACK_BODY: 'Content-Length: *0',
    ACK_BODY_IN: 'msg',
  });
  const hold = `<label id="hold_then_reconnect"/>
  <recv request="INVITE">`;
  const challenged = `<label id="hold_then_reconnect"/>
  <recv request="INVITE"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="carrier.pivot.test", nonce="h0ld-n0nce", algorithm=MD5, qop="auth"
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="INVITE">`;
  const checked = `<nop next="hold_authenticated" test="hold_auth"/>
  <recv request="HOLD_CREDENTIALS_FAILED" timeout="10"/>
  <label id="hold_authenticated"/>`;
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(hold);
  if (at < 0) throw new Error('e2e-carrier.xml changed');
  // The hold's own checks of its SDP stay, on the INVITE with credentials, whose check comes first.
  const rest = text
    .slice(at + hold.length)
    .replace(
      '<action>',
      `<action>\n      <verifyauth assign_to="hold_auth" username="pivot" password="${PASSWORD}"/>`,
    )
    .replace('</recv>', `</recv>\n  ${checked}`);
  writeFileSync(file, text.slice(0, at) + challenged + rest);
  return file;
}

/**
 * test/sipp/e2e-carrier-pstn.xml (the far leg and the PSTN target leg at one carrier address, from
 * test/e2e/transfer-pstn.test.ts), with the target leg's INVITE challenged once and its credentials
 * checked by SIPp's verifyauth before the target rings.
 */
function challengingPstnLeg(): string {
  const file = renderScenario('e2e-carrier-pstn.xml', {
    TARGET_NUMBER: escapeRegExp('+15550900000'),
    FROM: escapeRegExp('+15550200000'),
    FAR_END: 'hangs_up',
    TARGET_END: 'hung_up',
  });
  const challenge = `<label id="target_checked"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag09[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="carrier.pivot.test", nonce="t4rget-n0nce", algorithm=MD5, qop="auth"
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>
      <verifyauth assign_to="target_auth" username="pivot" password="${PASSWORD}"/>
    </action>
  </recv>
  <nop next="target_authenticated" test="target_auth"/>
  <recv request="TARGET_LEG_CREDENTIALS_FAILED" timeout="10"/>
  <label id="target_authenticated"/>`;
  const text = readFileSync(file, 'utf8');
  if (!text.includes('<label id="target_checked"/>')) throw new Error('e2e-carrier-pstn.xml changed');
  writeFileSync(file, text.replace('<label id="target_checked"/>', challenge));
  return file;
}

/**
 * test/sipp/e2e-delayed-uas.xml (the carrier of a delayed-offer call, then an offer-less re-INVITE) with
 * that re-INVITE challenged 401 and the credentials of the second checked by SIPp's verifyauth; `twice`:
 * the second challenged too, and the caller then hangs up.
 */
function challengingOfferlessCallee(twice: boolean): string {
  const file = renderScenario('e2e-delayed-uas.xml', {
    ADDRESS: CARRIER_IP,
    OFFER_PORT: 20000,
    ANSWER_PORT: 10000,
    THEN: 'reinvite',
  });
  const challenge = (nonce: string) => `<send>
    <![CDATA[
      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="carrier.pivot.test", nonce="${nonce}", algorithm=MD5, qop="auth"
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>`;
  const reInvite = `<label id="reinvite"/>
  <recv request="INVITE">`;
  const challenged = `<label id="reinvite"/>
  <recv request="INVITE"/>
  ${challenge('r3-n0nce')}
  <recv request="INVITE">
    <action>
      <verifyauth assign_to="reinvite_auth" username="pivot" password="${PASSWORD}"/>
      <ereg regexp="^ *0 *$" search_in="hdr" header="Content-Length:" check_it="true" assign_to="no_reinvite_body"/>
    </action>
  </recv>
  <nop next="reinvite_authenticated" test="reinvite_auth"/>
  <recv request="REINVITE_CREDENTIALS_FAILED" timeout="10"/>
  <label id="reinvite_authenticated"/>
  ${
    twice
      ? `${challenge('r3-n0nce-2')}
  <nop next="hung_up"/>`
      : ''
  }
`;
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(reInvite);
  if (at < 0) throw new Error('e2e-delayed-uas.xml changed');
  const rest = text.slice(text.indexOf('</recv>', at) + '</recv>'.length);
  writeFileSync(file, text.slice(0, at) + challenged + rest);
  return file;
}

/** test/sipp/e2e-delayed-uac.xml whose offer-less re-INVITE gets the carrier's second 401, ACKed; then it hangs up. */
function callerRefusedReInvite(): string {
  const file = renderScenario('e2e-delayed-uac.xml', {
    RURI: 'sip:+15550200000@acme.pstn.pivot.test',
    FROM: '+15550100000',
    ADDRESS: '127.0.0.1',
    OFFER_PORT: 20000,
    ANSWER_PORT: 10000,
    ACK_DELAY_MS: 0,
    ACK: 'ack_with_answer',
    THEN: 'reinvite',
  });
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('<recv response="200">', text.indexOf('<label id="reinvite"/>'));
  const end = text.indexOf('<nop next="hangs_up"/>', start);
  if (start < 0 || end < 0) throw new Error('e2e-delayed-uac.xml changed');
  const refused = `<recv response="401"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
      Max-Forwards: 70
      From: <sip:+15550100000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [$pivot_to]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Content-Length: 0

    ]]>
  </send>
  `;
  writeFileSync(
    file,
    (text.slice(0, start) + refused + text.slice(end)).replace(
      '<Reference variables="offer_origin,offer_media,reoffer_origin,reoffer_media"/>',
      '<Reference variables="offer_origin,offer_media"/>',
    ),
  );
  return file;
}
