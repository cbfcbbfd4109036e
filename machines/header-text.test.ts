import { describe, expect, it } from 'vitest';
import { escapeControls, headerValueProblem, nameAddrTextProblem, uriTextProblem } from './header-text.ts';

describe('uriTextProblem', () => {
  it.each([
    ['sip:+44207\x01@127.0.0.9', 'control character in Refer-To URI'],
    ['sip:bob@127.0.0.9\r\nX-Evil: 1', 'control character in Refer-To URI'],
    ['sip:bob\x00@127.0.0.9', 'control character in Refer-To URI'],
    ['sip:bob\x7f@127.0.0.9', 'control character in Refer-To URI'],
    ['sip:bob\t@127.0.0.9', 'control character in Refer-To URI'],
    ['sip:bob%@127.0.0.9', 'invalid %-escape in Refer-To URI'],
    ['sip:bob%4@127.0.0.9', 'invalid %-escape in Refer-To URI'],
    ['sip:bob%zz@127.0.0.9', 'invalid %-escape in Refer-To URI'],
    ['sip:bob@127.0.0.9;x=%', 'invalid %-escape in Refer-To URI'],
    ['sip:bob%0d%0aX-Evil:1@127.0.0.9', 'escaped control character in Refer-To URI'],
    ['sip:bob%00@127.0.0.9', 'escaped control character in Refer-To URI'],
    ['sip:bob%7F@127.0.0.9', 'escaped control character in Refer-To URI'],
  ])('%j: %s', (uri, problem) => {
    expect(uriTextProblem('Refer-To', uri)).toBe(problem);
  });

  it.each([
    'sip:bob@127.0.0.9',
    'sip:%2B442071234567@127.0.0.9;user=phone',
    'sip:bob%20smith@127.0.0.9',
    'tel:+1-555-010-0000',
  ])('%s is fine', (uri) => {
    expect(uriTextProblem('Refer-To', uri)).toBeUndefined();
  });
});

describe('headerValueProblem and nameAddrTextProblem', () => {
  it('allows HTAB as whitespace in a header value, no other control', () => {
    expect(headerValueProblem('Referred-By', '"Agent"\t<sip:a@x>')).toBeUndefined();
    expect(headerValueProblem('Referred-By', '"Agent\x1b[2J" <sip:a@x>')).toBe(
      'control character in Referred-By',
    );
    expect(headerValueProblem('Referred-By', '<sip:a@x>\rX-Evil: 1')).toBe(
      'control character in Referred-By',
    );
  });

  it('checks the URI of a name-addr for escapes; a display name may hold a %', () => {
    expect(nameAddrTextProblem('Referred-By', '"50% off" <sip:a@x>')).toBeUndefined();
    expect(nameAddrTextProblem('Referred-By', '<sip:a%2@x>')).toBe('invalid %-escape in Referred-By URI');
    expect(nameAddrTextProblem('Referred-By', '<sip:a@x>\x01')).toBe('control character in Referred-By');
  });
});

describe('escapeControls', () => {
  it('writes each control character as a %-escape and keeps the rest', () => {
    expect(escapeControls('sip:+44207\x01@h\r\n\x7f\t')).toBe('sip:+44207%01@h%0D%0A%7F%09');
    expect(escapeControls('<sip:bob@h>')).toBe('<sip:bob@h>');
  });
});
