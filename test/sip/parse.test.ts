import { describe, expect, it } from 'vitest';
import { formatNameAddr, parseNameAddr, splitHeaderValues } from '../../machines/sip-syntax.ts';
import { parseMessage } from '../../src/sip/parse.ts';
import { validateMessage } from '../../src/sip/validate.ts';

const message = (lines: string[], body = '') => Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);

describe('parseMessage', () => {
  it('expands compact header names, unfolds continuation lines and keeps the order', () => {
    const parsed = parseMessage(
      message([
        'REFER sip:pivot@h SIP/2.0',
        'v: SIP/2.0/UDP a:5060;branch=z9hG4bK-1',
        'i: abc',
        'r: <sip:target@h>',
        'b: <sip:agent@h>',
        'o: refer',
        'X-Long: first',
        '  second',
      ]),
    );
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.message.headers).toEqual([
      { name: 'via', value: 'SIP/2.0/UDP a:5060;branch=z9hG4bK-1' },
      { name: 'call-id', value: 'abc' },
      { name: 'refer-to', value: '<sip:target@h>' },
      { name: 'referred-by', value: '<sip:agent@h>' },
      { name: 'event', value: 'refer' },
      { name: 'x-long', value: 'first second' },
    ]);
  });

  it('cuts the body at Content-Length, counted in bytes', () => {
    const lines = [
      'MESSAGE sip:a@h SIP/2.0',
      'Via: SIP/2.0/UDP a;branch=z9hG4bK-2',
      'From: <sip:b@h>;tag=1',
      'To: <sip:a@h>',
      'Call-ID: x',
      'CSeq: 1 MESSAGE',
      'Content-Length: 6',
    ];
    const parsed = parseMessage(message(lines, 'héllo trailing'));
    if (!parsed.ok) throw new Error(parsed.error);
    const valid = validateMessage(parsed.message);
    expect(valid.ok && valid.message.body).toBe('héllo');
  });
});

describe('name-addr', () => {
  it.each([
    [
      '"Alice Smith" <sip:alice@h;transport=tcp>;tag=a1',
      { uri: 'sip:alice@h;transport=tcp', displayName: 'Alice Smith', params: { tag: 'a1' } },
    ],
    ['Bob <sip:bob@h>', { uri: 'sip:bob@h', displayName: 'Bob', params: {} }],
    ['<tel:+15550100>;flag;q="0.5"', { uri: 'tel:+15550100', params: { flag: '', q: '0.5' } }],
    ['sip:carol@h;tag=c1', { uri: 'sip:carol@h', params: { tag: 'c1' } }],
  ])('parses %s', (text, expected) => {
    expect(parseNameAddr(text)).toEqual(expected);
  });

  it.each(['', '<sip:unterminated', 'no-scheme', '<sip:a@h>;=x', '"open <sip:a@h>'])('rejects %j', (text) => {
    expect(parseNameAddr(text)).toBeUndefined();
  });

  it('formats back to the angle-bracket form', () => {
    expect(formatNameAddr({ uri: 'sip:a@h', displayName: 'A "B"', params: { tag: 'x', lr: '' } })).toBe(
      '"A \\"B\\"" <sip:a@h>;tag=x;lr',
    );
  });

  it('splits lists without breaking quoted or bracketed commas', () => {
    expect(splitHeaderValues('"Doe, J" <sip:a@h>, <sip:b@h;x=1,2>')).toEqual([
      '"Doe, J" <sip:a@h>',
      '<sip:b@h;x=1,2>',
    ]);
  });
});
