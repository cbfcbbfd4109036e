import { describe, expect, it } from 'vitest';
import {
  classifyTarget,
  normalizeE164,
  parseReferTo,
  referredByProblem,
  transferAllowed,
} from './refer-target.ts';

const domains = ['acme.pstn.pivot.test', 'beta.example'];

describe('parseReferTo: accepted targets', () => {
  it('accepts a name-addr SIP target, keeping URI params and dropping the display name', () => {
    expect(parseReferTo(['"Bob" <sip:bob@pbx.example;transport=tcp>'], domains)).toEqual({
      ok: true,
      target: { uri: 'sip:bob@pbx.example;transport=tcp', kind: 'sip' },
    });
  });

  it('accepts an addr-spec target; trailing ;params are header params, not part of the URI', () => {
    expect(parseReferTo(['sip:bob@pbx.example;foo=bar'], domains)).toEqual({
      ok: true,
      target: { uri: 'sip:bob@pbx.example', kind: 'sip' },
    });
  });

  it('ignores generic params after > (RFC 3515 §2.1 Refer-To = name-addr *(;generic-param))', () => {
    expect(parseReferTo(['<sip:bob@pbx.example>;x=1'])).toEqual({
      ok: true,
      target: { uri: 'sip:bob@pbx.example', kind: 'sip' },
    });
  });

  it('accepts sips', () => {
    expect(parseReferTo(['<sips:bob@pbx.example:5061>'])).toEqual({
      ok: true,
      target: { uri: 'sips:bob@pbx.example:5061', kind: 'sip' },
    });
  });

  it('classifies a tel target as PSTN and normalises the number', () => {
    expect(parseReferTo(['<tel:+1-555-010-0001>'])).toEqual({
      ok: true,
      target: { uri: 'tel:+1-555-010-0001', kind: 'pstn', e164: '+15550100001' },
    });
  });

  it('classifies sip:+E164@<trunk domain>;user=phone as PSTN', () => {
    expect(parseReferTo(['<sip:+442071234567@ACME.pstn.pivot.test;user=phone>'], domains)).toEqual({
      ok: true,
      target: {
        uri: 'sip:+442071234567@ACME.pstn.pivot.test;user=phone',
        kind: 'pstn',
        e164: '+442071234567',
      },
    });
  });

  it('treats sip:+E164@<other domain> as SIP without trunk domains', () => {
    expect(parseReferTo(['<sip:+442071234567@acme.pstn.pivot.test>'])).toEqual({
      ok: true,
      target: { uri: 'sip:+442071234567@acme.pstn.pivot.test', kind: 'sip' },
    });
  });

  it('drops method=INVITE, which is not allowed in a Request-URI', () => {
    expect(parseReferTo(['<sip:bob@x;method=INVITE;transport=udp>'])).toEqual({
      ok: true,
      target: { uri: 'sip:bob@x;transport=udp', kind: 'sip' },
    });
  });

  it('keeps the URI scheme and host as written', () => {
    const result = parseReferTo(['<SIP:Bob@PBX.Example>']);
    expect(result.ok && result.target.uri).toBe('SIP:Bob@PBX.Example');
  });
});

describe('parseReferTo: 400 refusals', () => {
  it.each([
    ['no Refer-To', [], 'exactly one Refer-To'],
    ['an empty Refer-To', ['  '], 'exactly one Refer-To'],
    ['two headers', ['<sip:a@x>', '<sip:b@x>'], 'exactly one Refer-To'],
    ['two values in one header', ['<sip:a@x>, <sip:b@x>'], 'exactly one Refer-To'],
    ['two addr-specs in one header', ['sip:a@x,sip:b@x'], 'exactly one Refer-To'],
    [
      'Replaces (attended transfer)',
      ['<sip:bob@x?Replaces=12345%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>'],
      'Refer-To URI headers are not supported',
    ],
    ['Call-ID header', ['<sip:bob@x?Call-ID=abc>'], 'Refer-To URI headers are not supported'],
    ['an empty header part', ['<sip:bob@x?>'], 'Refer-To URI headers are not supported'],
    ['headers in an addr-spec', ['sip:bob@x?Subject=hi'], 'Refer-To URI headers are not supported'],
    ['headers on a tel URI', ['<tel:+15550100?x=y>'], 'Refer-To URI headers are not supported'],
    ['an http URI', ['<http://example.com/>'], 'Refer-To URI scheme http is not supported'],
    ['a mailto URI', ['<mailto:bob@example.com>'], 'Refer-To URI scheme mailto is not supported'],
    ['an unterminated <', ['<sip:bob@x'], 'malformed Refer-To'],
    ['no scheme', ['<bob@x>'], 'malformed Refer-To'],
    ['a SIP URI without host', ['<sip:bob@>'], 'malformed Refer-To'],
    ['method=BYE', ['<sip:bob@x;method=BYE>'], 'Refer-To method BYE is not supported'],
    [
      'a local tel number',
      ['<tel:5550100;phone-context=+1>'],
      'Refer-To tel URI must be a global number (+E.164)',
    ],
    ['a tel number with letters', ['<tel:+1555CALLME>'], 'Refer-To tel URI must be a global number (+E.164)'],
  ])('%s', (_name, values, reason) => {
    expect(parseReferTo(values, domains)).toEqual({ ok: false, status: 400, reason });
  });
});

describe('classifyTarget', () => {
  it.each([
    ['tel:+15550100000', '+15550100000'],
    ['tel:+1-(555)-010.0000', '+15550100000'],
    ['TEL:+442071234567;ext=12', '+442071234567'],
    ['sip:+15550100000@acme.pstn.pivot.test', '+15550100000'],
    ['sip:+15550100000@Acme.PSTN.pivot.test:5060;user=phone', '+15550100000'],
    ['sip:+1-555-010-0000@beta.example;user=phone', '+15550100000'],
    ['sip:%2B15550100000@acme.pstn.pivot.test', '+15550100000'],
    ['sips:+15550100000@acme.pstn.pivot.test', '+15550100000'],
    ['sip:+15550100000;isub=1@acme.pstn.pivot.test', '+15550100000'],
  ])('%s is PSTN %s', (uri, e164) => {
    expect(classifyTarget(uri, domains)).toEqual({ kind: 'pstn', e164 });
  });

  it.each([
    ['a number at a foreign domain', 'sip:+15550100000@pbx.example'],
    ['a subdomain of a trunk domain', 'sip:+15550100000@x.acme.pstn.pivot.test'],
    ['a number without +', 'sip:15550100000@acme.pstn.pivot.test'],
    ['a name at a trunk domain', 'sip:bob@acme.pstn.pivot.test'],
    ['no user part', 'sip:acme.pstn.pivot.test'],
    ['a local tel number', 'tel:5550100;phone-context=+1'],
    ['a country code 0', 'tel:+0123456'],
    ['too many digits', 'tel:+1234567890123456'],
    ['an empty number', 'tel:+'],
    ['another scheme', 'mailto:+15550100000@acme.pstn.pivot.test'],
  ])('%s is SIP', (_name, uri) => {
    expect(classifyTarget(uri, domains)).toEqual({ kind: 'sip' });
  });

  it('compares trunk domains case-insensitively on both sides', () => {
    expect(classifyTarget('sip:+15550100000@Acme.Pstn.Pivot.Test', ['ACME.PSTN.pivot.test'])).toEqual({
      kind: 'pstn',
      e164: '+15550100000',
    });
  });

  it('needs the trunk domain list to recognise sip:+E164 targets', () => {
    expect(classifyTarget('sip:+15550100000@acme.pstn.pivot.test', [])).toEqual({ kind: 'sip' });
  });
});

describe('normalizeE164', () => {
  it.each([
    ['+15550100000', '+15550100000'],
    ['+1 555', undefined],
    ['+1.555.0100', '+15550100'],
    ['+123456789012345', '+123456789012345'],
    ['+1234567890123456', undefined],
    ['+1', undefined],
    ['15550100', undefined],
  ])('%s -> %s', (text, e164) => {
    expect(normalizeE164(text)).toBe(e164);
  });
});

describe('transferAllowed', () => {
  it.each([
    ['enable-all', 'sip', true],
    ['enable-all', 'pstn', true],
    ['sip-only', 'sip', true],
    ['sip-only', 'pstn', false],
    ['disable-all', 'sip', false],
    ['disable-all', 'pstn', false],
  ] as const)('%s allows %s: %s', (mode, kind, allowed) => {
    expect(transferAllowed(mode, kind)).toBe(allowed);
  });
});

describe('parseReferTo: a target at the carrier is PSTN, however its address is written', () => {
  // The carrier gateway at 127.0.0.2, its source block 198.51.100.0/24 and an IPv6 gateway.
  const guards = {
    carrierNetworks: ['127.0.0.2/32', '198.51.100.0/24', '2001:db8:5::/48'],
    pivotNetworks: ['127.0.0.1/32'],
    pivotPort: 5060,
  };
  const pstn = (uri: string, e164: string, carrierHost: string) => ({
    ok: true,
    target: { uri, kind: 'pstn', e164, carrierHost },
  });

  it.each([
    ['sip:+442071234567@127.0.0.2:5090', '127.0.0.2'],
    ['sip:+442071234567@127.0.0.2', '127.0.0.2'],
    ['sip:+442071234567@127.0.0.2:1', '127.0.0.2'],
    ['sip:+442071234567@127.0.0.2:5090;transport=tcp', '127.0.0.2'],
    ['sip:+442071234567@127.0.0.2;user=phone', '127.0.0.2'],
    ['sips:+442071234567@127.0.0.2:5061', '127.0.0.2'],
    ['sip:+442071234567@[::ffff:127.0.0.2]:5090', '[::ffff:127.0.0.2]'],
    ['sip:+442071234567@[::ffff:7f00:2]', '[::ffff:7f00:2]'],
    ['sip:%2B442071234567@127.0.0.2', '127.0.0.2'],
    ['sip:+44-20-7123-4567@127.0.0.2', '127.0.0.2'],
    ['sip:+442071234567@198.51.100.77', '198.51.100.77'],
    ['sip:+442071234567@[2001:db8:5::1]', '[2001:db8:5::1]'],
  ])('%s', (uri, host) => {
    expect(parseReferTo([`<${uri}>`], domains, guards)).toEqual(pstn(uri, '+442071234567', host));
  });

  it('a user part that is not a +E.164 number is still PSTN, without a number', () => {
    expect(parseReferTo(['<sip:00442071234567@127.0.0.2>'], domains, guards)).toEqual({
      ok: true,
      target: { uri: 'sip:00442071234567@127.0.0.2', kind: 'pstn', carrierHost: '127.0.0.2' },
    });
    expect(parseReferTo(['<sip:127.0.0.2>'], domains, guards)).toEqual({
      ok: true,
      target: { uri: 'sip:127.0.0.2', kind: 'pstn', carrierHost: '127.0.0.2' },
    });
  });

  it('a SIP target outside the carrier networks stays SIP', () => {
    expect(parseReferTo(['<sip:+442071234567@127.0.0.3:5090>'], domains, guards)).toEqual({
      ok: true,
      target: { uri: 'sip:+442071234567@127.0.0.3:5090', kind: 'sip' },
    });
  });

  it('without guards (events stored before they existed) nothing changes', () => {
    expect(parseReferTo(['<sip:+442071234567@127.0.0.2:5090>'], domains)).toEqual({
      ok: true,
      target: { uri: 'sip:+442071234567@127.0.0.2:5090', kind: 'sip' },
    });
    expect(parseReferTo(['<sip:+442071234567@127.0.0.02:5090;maddr=127.0.0.2>'], domains)).toEqual({
      ok: true,
      target: { uri: 'sip:+442071234567@127.0.0.02:5090;maddr=127.0.0.2', kind: 'sip' },
    });
  });

  it.each([
    ['127.0.0.02', 'Refer-To host 127.0.0.02 is not a valid IP address'],
    ['127.2', 'Refer-To host 127.2 is not a valid IP address'],
    ['2130706434', 'Refer-To host 2130706434 is not a valid IP address'],
    ['0x7f000002', 'Refer-To host 0x7f000002 is not a valid IP address'],
    ['0177.0.0.2', 'Refer-To host 0177.0.0.2 is not a valid IP address'],
    ['[::ffff:127.0.0.02]', 'Refer-To host [::ffff:127.0.0.02] is not a valid IP address'],
  ])('%s: 400, never guessed', (host, reason) => {
    expect(parseReferTo([`<sip:+442071234567@${host}:5090>`], domains, guards)).toEqual({
      ok: false,
      status: 400,
      reason,
    });
  });

  it.each([
    '<sip:bob@127.0.0.9;maddr=127.0.0.2>',
    '<sip:+442071234567@pbx.example;MADDR=127.0.0.2;transport=udp>',
  ])('%s: maddr is refused with 400', (value) => {
    expect(parseReferTo([value], domains, guards)).toEqual({
      ok: false,
      status: 400,
      reason: 'Refer-To maddr is not supported',
    });
  });
});

describe("parseReferTo: the pivot's own address is refused (403), however written", () => {
  const guards = {
    carrierNetworks: ['127.0.0.2/32'],
    pivotNetworks: ['127.0.0.1/32', '0.0.0.0/32'],
    pivotPort: 5060,
  };

  it.each([
    ['sip:bob@127.0.0.1', '127.0.0.1:5060'],
    ['sip:bob@127.0.0.1:5060;transport=tcp', '127.0.0.1:5060'],
    ['sips:bob@127.0.0.1:5060', '127.0.0.1:5060'],
    ['sip:bob@[::ffff:127.0.0.1]:5060', '[::ffff:127.0.0.1]:5060'],
    ['sip:+15550300000@0.0.0.0', '0.0.0.0:5060'],
  ])('%s', (uri, where) => {
    expect(parseReferTo([`<${uri}>`], domains, guards)).toEqual({
      ok: false,
      status: 403,
      reason: `Refer-To ${where} is the pivot's own address (the transfer would loop)`,
    });
  });

  it('another port on the same host is another party', () => {
    expect(parseReferTo(['<sip:bob@127.0.0.1:5999>'], domains, guards)).toEqual({
      ok: true,
      target: { uri: 'sip:bob@127.0.0.1:5999', kind: 'sip' },
    });
  });
});

describe('parseReferTo: control characters and %-escapes (400)', () => {
  it.each([
    ['<sip:+44207\x01@127.0.0.9>', 'control character in Refer-To'],
    ['<sip:bob@127.0.0.9>\r\nX-Evil: 1', 'control character in Refer-To'],
    ['<sip:bob%zz@127.0.0.9>', 'invalid %-escape in Refer-To URI'],
    ['<sip:bob%0d%0a@127.0.0.9>', 'escaped control character in Refer-To URI'],
  ])('%j: %s', (value, reason) => {
    expect(parseReferTo([value], domains, {})).toEqual({ ok: false, status: 400, reason });
  });

  it('are not checked for REFERs stored before these checks (no guards): they replay as decided', () => {
    expect(parseReferTo(['<sip:bob%zz@127.0.0.9>'], domains)).toEqual({
      ok: true,
      target: { uri: 'sip:bob%zz@127.0.0.9', kind: 'sip' },
    });
  });
});

describe('referredByProblem', () => {
  it('refuses control characters and bad escapes in what is copied into the target INVITE', () => {
    expect(referredByProblem('<sip:agent@pbx.example>')).toBeUndefined();
    expect(referredByProblem('<sip:agent@pbx.example>\r\nX-Evil: 1')).toBe(
      'control character in Referred-By',
    );
    expect(referredByProblem('<sip:agent%4@pbx.example>')).toBe('invalid %-escape in Referred-By URI');
  });
});
