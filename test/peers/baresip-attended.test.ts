/**
 * An attended transfer joining two real phones: baresip plays the carrier side of both calls (the
 * customer +15550200000 and the colleague +15550300000, two accounts of one agent on 127.0.0.2), the PBX
 * (SIPp) places call A and the consultation call B and REFERs A with B's dialog in Replaces. baresip must
 * take the offer-less re-INVITE (its 200 is an offer, our ACK the answer) and the offer of its other
 * call (RFC 3725): what it traced and what the pivot stored are checked. (baresip 1.0 has no attended
 * transfer command of its own, so it cannot be the transferor.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { attendedCall, consultation, consultCall, storedEventually } from '../e2e/attendedParties.ts';
import { allPassed } from '../e2e/parties.ts';
import { CARRIER_IP, type PivotUnderTest, startTestPivot, TRUNK_DOMAIN } from '../e2e/pivot.ts';
import { type Baresip, startBaresip } from './baresip.ts';
import { freeSipPort } from './ports.ts';

let pivot: PivotUnderTest | undefined;
let phones: Baresip | undefined;
afterEach(async () => {
  await phones?.stop();
  await pivot?.dispose();
  pivot = undefined;
  phones = undefined;
});

describe('an attended transfer joining two baresip phones', () => {
  it("the colleague makes a fresh offer in its 200, the customer answers it: both hold each other's SDP", async () => {
    const carrierPort = await freeSipPort(CARRIER_IP);
    pivot = await startTestPivot({ carrierPort });
    phones = await startBaresip({
      ip: CARRIER_IP,
      name: 'far-parties',
      sipPort: carrierPort,
      aor: (port) => `sip:+15550200000@${CARRIER_IP}:${port}`,
      extraAors: (port) => [`sip:+15550300000@${CARRIER_IP}:${port}`],
    });
    const b = consultation('baresip');
    const agentB = consultCall(pivot.address, b, 'hung_up', TRUNK_DOMAIN, '[0-9]+');
    await storedEventually(pivot.dbPath, (e) => e.type === 'CallAnswered' && e.data.callSid === b.callSid);
    const agentA = attendedCall(pivot.address, { replaces: b.replaces, flow: 'accepted' });
    await allPassed(agentA, agentB);

    // baresip got the re-INVITE without SDP and answered it with an offer; our ACK carried the answer.
    const toPhones = (m: { destination: string }) => m.destination.startsWith(`${CARRIER_IP}:`);
    const offerless = await phones.waitForSip(
      'offer-less re-INVITE',
      (m) => toPhones(m) && m.firstLine.startsWith('INVITE ') && /\r\nContent-Length: *0\r\n/i.test(m.text),
    );
    const callId = /\r\nCall-ID: *([^\r]+)\r\n/i.exec(offerless.text)?.[1];
    const ack = await phones.waitForSip(
      'ACK with the answer',
      (m) =>
        toPhones(m) &&
        m.firstLine.startsWith('ACK ') &&
        m.text.includes(`${callId}`) &&
        /\r\nm=audio/.test(m.text),
    );
    const answeredOffer = phones
      .sipTrace()
      .find(
        (m) =>
          !toPhones(m) &&
          m.firstLine.startsWith('SIP/2.0 200') &&
          m.text.includes(`${callId}`) &&
          /CSeq: *2 INVITE/i.test(m.text),
      );
    expect(answeredOffer?.text).toMatch(/\r\nm=audio \d+ /);

    const events = await pivot.events();
    const completed = events.find((e) => e.type === 'TransferCompleted')!.data;
    const port = (sdp: string) => /^m=audio (\d+) /m.exec(sdp)?.[1];
    // Each phone's call now holds the other call's media: the customer's leg got the colleague's offer
    // (the port baresip offered in its 200), and the colleague's ACK the customer's answer.
    expect(port(completed.targetLeg.remoteSdp)).toBe(port(answeredOffer!.text.split('\r\n\r\n')[1]!));
    expect(port(ack.text.split('\r\n\r\n')[1]!)).toBe(port(completed.farLeg.remoteSdp));
    expect(port(completed.farLeg.remoteSdp)).not.toBe(port(completed.targetLeg.remoteSdp));
  });
});
