import { describe, expect, it } from 'vitest';
import {
  extractUser,
  formatNameAddr,
  parseNameAddr,
  splitHeaderValues,
  uriHost,
  uriHostPort,
  uriParams,
  uriScheme,
  withoutUriParam,
} from './sip-syntax.ts';

describe('parseNameAddr: name-addr form', () => {
  it('keeps URI params inside <> and header params after >', () => {
    expect(parseNameAddr('<sip:bob@example.com;transport=tcp>;tag=a6c85cf')).toEqual({
      uri: 'sip:bob@example.com;transport=tcp',
      params: { tag: 'a6c85cf' },
    });
  });

  it('reads a quoted display name with escaped quote and backslash (RFC 3261 §25.1 quoted-pair)', () => {
    expect(parseNameAddr('"Bob \\"The Builder\\" \\\\ Jr" <sip:bob@x>')).toEqual({
      uri: 'sip:bob@x',
      displayName: 'Bob "The Builder" \\ Jr',
      params: {},
    });
  });

  it('keeps <, >, ; and , inside a quoted display name', () => {
    expect(parseNameAddr('"Doe, J <x>; y" <sip:j@x>;tag=1')).toEqual({
      uri: 'sip:j@x',
      displayName: 'Doe, J <x>; y',
      params: { tag: '1' },
    });
  });

  it('reads an unquoted (token) display name and folds its whitespace', () => {
    expect(parseNameAddr('Bob   Smith\t<sip:bob@x>')).toEqual({
      uri: 'sip:bob@x',
      displayName: 'Bob Smith',
      params: {},
    });
  });

  it('allows no space between a quoted display name and <', () => {
    expect(parseNameAddr('"Bob"<sip:bob@x>')?.displayName).toBe('Bob');
  });

  it('keeps an empty quoted display name', () => {
    expect(parseNameAddr('"" <sip:bob@x>')).toEqual({ uri: 'sip:bob@x', displayName: '', params: {} });
  });

  it('has no display name for a bare <uri>', () => {
    expect(parseNameAddr('  <sip:bob@x>  ')).toEqual({ uri: 'sip:bob@x', params: {} });
  });

  it('keeps URI headers inside <>', () => {
    expect(parseNameAddr('<sip:bob@x?Replaces=abc%40h%3Bto-tag%3D1>')?.uri).toBe(
      'sip:bob@x?Replaces=abc%40h%3Bto-tag%3D1',
    );
  });

  it('lower-cases header param names, unquotes quoted values, maps flags to ""', () => {
    expect(parseNameAddr('<sip:a@x> ; TAG = AbC ; expires=60;Lr;q="0.5"')?.params).toEqual({
      tag: 'AbC',
      expires: '60',
      lr: '',
      q: '0.5',
    });
  });

  it('keeps a ; inside a quoted param value, and quotes it again when written', () => {
    const addr = parseNameAddr('<sip:a@x>;x="a;b"');
    expect(addr?.params).toEqual({ x: 'a;b' });
    expect(formatNameAddr(addr!)).toBe('<sip:a@x>;x="a;b"');
  });

  it('accepts tel and other schemes (the caller decides which it supports)', () => {
    expect(parseNameAddr('<tel:+1-555-0100>')?.uri).toBe('tel:+1-555-0100');
    expect(parseNameAddr('<mailto:bob@x>')?.uri).toBe('mailto:bob@x');
  });
});

describe('parseNameAddr: addr-spec form (RFC 3261 §20.10)', () => {
  it('treats every ;param after the URI as a header param', () => {
    expect(parseNameAddr('sip:bob@example.com;transport=tcp;tag=88')).toEqual({
      uri: 'sip:bob@example.com',
      params: { transport: 'tcp', tag: '88' },
    });
  });

  it('takes the whole value as the URI when there are no params', () => {
    expect(parseNameAddr('sip:+15550100@pivot.test:5070')).toEqual({
      uri: 'sip:+15550100@pivot.test:5070',
      params: {},
    });
  });

  it('keeps ?headers in the URI so callers can refuse them', () => {
    expect(parseNameAddr('sip:bob@x?Replaces=abc')?.uri).toBe('sip:bob@x?Replaces=abc');
  });
});

describe('parseNameAddr: malformed input gives undefined', () => {
  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['unterminated quote', '"Bob <sip:bob@x>'],
    ['quoted name without <uri>', '"Bob" sip:bob@x'],
    ['missing >', '<sip:bob@x'],
    ['empty <>', '<>'],
    ['no scheme', '<bob@x>'],
    ['token name without <>', 'Bob sip:bob@x'],
    ['garbage after >', '<sip:bob@x> tag=1'],
    ['empty param name', '<sip:bob@x>;=1'],
    ['empty param value', '<sip:bob@x>;tag='],
    ['unterminated quoted param value', '<sip:bob@x>;x="a'],
    ['double ;;', '<sip:bob@x>;;tag=1'],
    ['quote inside token name', 'Bo"b <sip:bob@x>'],
    ['the Contact wildcard', '*'],
  ])('%s: %s', (_name, value) => {
    expect(parseNameAddr(value)).toBeUndefined();
  });
});

describe('formatNameAddr', () => {
  it('writes name-addr form, escaping the display name, and round-trips', () => {
    const addr = { uri: 'sip:bob@x;transport=tcp', displayName: 'Bob "B" \\', params: { tag: '1', lr: '' } };
    const text = formatNameAddr(addr);
    expect(text).toBe('"Bob \\"B\\" \\\\" <sip:bob@x;transport=tcp>;tag=1;lr');
    expect(parseNameAddr(text)).toEqual(addr);
  });

  it('omits an absent display name', () => {
    expect(formatNameAddr({ uri: 'sip:a@x', params: {} })).toBe('<sip:a@x>');
  });
});

describe('splitHeaderValues', () => {
  it('splits on commas outside quotes and <>', () => {
    expect(splitHeaderValues('"Doe, J" <sip:a@x;p=1,2>, <sip:b@y> , sip:c@z')).toEqual([
      '"Doe, J" <sip:a@x;p=1,2>',
      '<sip:b@y>',
      'sip:c@z',
    ]);
  });

  it('handles an escaped quote inside a quoted string', () => {
    expect(splitHeaderValues('"a\\", b" <sip:a@x>, <sip:b@x>')).toHaveLength(2);
  });

  it('drops empty elements', () => {
    expect(splitHeaderValues(' , <sip:a@x>,, ')).toEqual(['<sip:a@x>']);
    expect(splitHeaderValues('')).toEqual([]);
  });
});

describe('URI helpers', () => {
  it('uriScheme lower-cases and rejects text without a scheme', () => {
    expect(uriScheme('SIPS:bob@x')).toBe('sips');
    expect(uriScheme('tel:+1555')).toBe('tel');
    expect(uriScheme('bob@x')).toBeUndefined();
    expect(uriScheme('1sip:x')).toBeUndefined();
  });

  it.each([
    ['sip:bob@example.com', 'bob'],
    ['sip:bob:secret@example.com', 'bob'],
    ['sip:%2B15550100@x', '+15550100'],
    ['sip:%zz@x', '%zz'],
    ['sip:+1555;isub=12@x;user=phone', '+1555;isub=12'],
    ['sips:alice@x:5061;transport=tcp?Subject=hi', 'alice'],
    ['tel:+1-555-0100;phone-context=example.com', '+1-555-0100'],
    ['sip:example.com', undefined],
    ['sip:@example.com', undefined],
    ['mailto:bob@x', undefined],
    ['tel:', undefined],
  ])('extractUser(%s) = %s', (uri, user) => {
    expect(extractUser(uri)).toBe(user);
  });

  it.each([
    ['sip:bob@Example.COM:5060;transport=tcp', 'example.com'],
    ['sip:Example.com', 'example.com'],
    ['sip:bob@[2001:DB8::1]:5060', '[2001:db8::1]'],
    ['sips:10.0.0.1;lr', '10.0.0.1'],
    ['sip:+1;x=y@host?h=v', 'host'],
    ['tel:+15550100', undefined],
    ['sip:bob@', undefined],
    ['sip:bob@[::1', undefined],
    ['sip:bob@x:99999', undefined],
    ['sip:bob@x:abc', undefined],
    ['sip:bob@x:0', undefined],
  ])('uriHost(%s) = %s', (uri, host) => {
    expect(uriHost(uri)).toBe(host);
  });

  it('uriHostPort gives a socket address: IPv6 without brackets, port only when present', () => {
    expect(uriHostPort('sip:127.0.0.1:5090')).toEqual({ host: '127.0.0.1', port: 5090 });
    expect(uriHostPort('sip:carrier.example;transport=tcp')).toEqual({ host: 'carrier.example' });
    expect(uriHostPort('sips:bob@[::1]:5061')).toEqual({ host: '::1', port: 5061 });
    expect(uriHostPort('sip:bob@[::1]x')).toBeUndefined();
    expect(uriHostPort('tel:+1555')).toBeUndefined();
  });

  it('uriParams reads sip and tel URI params, not header params or URI headers', () => {
    expect(uriParams('sip:bob@x;Transport=TCP;lr?Subject=a;b')).toEqual({ transport: 'TCP', lr: '' });
    expect(uriParams('sip:+1;isub=9@x;user=phone')).toEqual({ user: 'phone' });
    expect(uriParams('tel:5550100;phone-context=+1')).toEqual({ 'phone-context': '+1' });
    expect(uriParams('sip:bob@x')).toEqual({});
    expect(uriParams('mailto:x@y;a=b')).toEqual({});
  });

  it('withoutUriParam drops one param, case-insensitively, and keeps the rest as written', () => {
    expect(withoutUriParam('SIP:bob@x:5060;METHOD=INVITE;transport=tcp', 'method')).toBe(
      'SIP:bob@x:5060;transport=tcp',
    );
    expect(withoutUriParam('sip:bob@x;lr', 'method')).toBe('sip:bob@x;lr');
    expect(withoutUriParam('sip:x;method=INVITE', 'method')).toBe('sip:x');
    expect(withoutUriParam('tel:+1;method=INVITE', 'method')).toBe('tel:+1;method=INVITE');
  });
});
