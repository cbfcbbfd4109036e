/**
 * The credentials the pivot answers a peer's challenge with: RFC 7616 §3.9.1's published example
 * (MD5 and SHA-256, qop=auth), the strongest offered algorithm first (RFC 8760), the RFC 2069 form when
 * no qop is offered, 401 -> Authorization and 407 -> Proxy-Authorization; and the pivot's own verifier
 * accepts what the client computes (one hashing for both sides).
 */
import { describe, expect, it } from 'vitest';
import { challenges, parseDigest, verifyDigest } from '../../src/engine/digest.ts';
import { answerChallenge } from '../../src/engine/digestClient.ts';

const mufasa = { username: 'Mufasa', password: 'Circle of Life' };
const NONCE = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
const CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';

function challenge(algorithm: string, qop = ', qop="auth"') {
  return `Digest realm="http-auth@example.org"${qop}, algorithm=${algorithm}, nonce="${NONCE}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
}

describe('answerChallenge', () => {
  it('RFC 7616 §3.9.1: the published MD5 and SHA-256 responses', () => {
    const md5 = answerChallenge(
      401,
      { 'www-authenticate': [challenge('MD5')] },
      'GET',
      '/dir/index.html',
      mufasa,
      CNONCE,
    );
    expect(parseDigest(md5!.value)).toMatchObject({
      response: '8ca523f5e9506fed4657c9700eebdbec',
      qop: 'auth',
      nc: '00000001',
      cnonce: CNONCE,
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
    expect(md5!.header).toBe('Authorization');
    // Both offered (RFC 8760 §2.4): SHA-256 is answered.
    const sha = answerChallenge(
      401,
      { 'www-authenticate': [challenge('MD5'), challenge('SHA-256')] },
      'GET',
      '/dir/index.html',
      mufasa,
      CNONCE,
    );
    expect(parseDigest(sha!.value)).toMatchObject({
      algorithm: 'SHA-256',
      response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    });
  });

  it('407 -> Proxy-Authorization; no qop offered -> the RFC 2069 form; nothing we support -> undefined', () => {
    const answer = answerChallenge(
      407,
      { 'proxy-authenticate': [challenge('MD5', '')] },
      'INVITE',
      'sip:+15550100@gw',
      mufasa,
    );
    expect(answer!.header).toBe('Proxy-Authorization');
    const params = parseDigest(answer!.value)!;
    expect(params.qop).toBeUndefined();
    expect(params.cnonce).toBeUndefined();
    expect(
      answerChallenge(
        407,
        { 'proxy-authenticate': [challenge('SHA-512-256')] },
        'INVITE',
        'sip:x@gw',
        mufasa,
      ),
    ).toBeUndefined();
    expect(
      answerChallenge(401, { 'proxy-authenticate': [challenge('MD5')] }, 'INVITE', 'sip:x@gw', mufasa),
    ).toBeUndefined();
  });

  it("the pivot's own verifier accepts the client's answer, and refuses it for another method", () => {
    const options = { realm: 'acme.pstn.pivot.test', secret: 'k'.repeat(32), nowSeconds: 1_800_000_000 };
    // A nonce the verifier issued: read it from its own challenge.
    const issued = parseDigest(challenges(options, ['SHA-256'], false)[0]!)!.nonce!;
    const answer = answerChallenge(
      407,
      {
        'proxy-authenticate': [
          `Digest realm="${options.realm}", nonce="${issued}", algorithm=SHA-256, qop="auth"`,
        ],
      },
      'INVITE',
      'sip:+15550100@acme.pstn.pivot.test',
      mufasa,
    )!;
    expect(verifyDigest(answer.value, 'INVITE', [mufasa], options)).toEqual({ ok: true, username: 'Mufasa' });
    expect(verifyDigest(answer.value, 'BYE', [mufasa], options)).toMatchObject({ ok: false });
  });
});
