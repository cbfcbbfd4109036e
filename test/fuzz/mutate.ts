/**
 * Mutations of a valid SIP message, each chosen and shaped by the seeded generator: what broken peers,
 * scanners and attackers actually send (bit rot, duplicated and missing headers, lying Content-Length,
 * bare LF or CR line ends, truncation, non-ASCII, lines of tens of kilobytes).
 */
import type { Random } from './random.ts';

/** Kept under the largest UDP payload, so every mutant can be sent as one datagram. */
export const MAX_MUTANT_BYTES = 65_000;

type Mutation = (bytes: Buffer, random: Random) => Buffer;

const CRLF = Buffer.from('\r\n');

function headerBounds(bytes: Buffer): { end: number; lines: Array<[number, number]> } {
  const end = bytes.indexOf('\r\n\r\n');
  const headEnd = end === -1 ? bytes.length : end;
  const lines: Array<[number, number]> = [];
  let start = bytes.indexOf(CRLF) + 2;
  if (start < 2) return { end: headEnd, lines };
  while (start < headEnd) {
    const next = bytes.indexOf(CRLF, start);
    const stop = next === -1 || next > headEnd ? headEnd : next;
    lines.push([start, stop]);
    start = stop + 2;
  }
  return { end: headEnd, lines };
}

const flipBytes: Mutation = (bytes, random) => {
  const out = Buffer.from(bytes);
  const flips = 1 + random.int(8);
  for (let i = 0; i < flips && out.length > 0; i++) {
    const at = random.int(out.length);
    out[at] = random.chance(0.5) ? (out[at] ?? 0) ^ (1 << random.int(8)) : random.int(256);
  }
  return out;
};

const duplicateHeader: Mutation = (bytes, random) => {
  const { lines } = headerBounds(bytes);
  if (lines.length === 0) return bytes;
  const [start, stop] = random.pick(lines);
  const line = bytes.subarray(start, stop);
  const copies = random.chance(0.8) ? 1 + random.int(3) : 50 + random.int(500);
  const extra = Buffer.concat(Array.from({ length: copies }, () => Buffer.concat([line, CRLF])));
  return Buffer.concat([bytes.subarray(0, start), extra, bytes.subarray(start)]);
};

const removeHeader: Mutation = (bytes, random) => {
  const { lines } = headerBounds(bytes);
  if (lines.length === 0) return bytes;
  const [start, stop] = random.pick(lines);
  return Buffer.concat([bytes.subarray(0, start), bytes.subarray(stop + 2)]);
};

const CONTENT_LENGTHS = [
  '-1',
  '-99999',
  '4294967296',
  '99999999999999999999',
  '1e3',
  '0x10',
  ' 12 ',
  '',
  'NaN',
  '0',
  '1',
  '65536',
  '3, 4',
];

const lieAboutLength: Mutation = (bytes, random) => {
  const text = bytes.toString('latin1');
  const value = random.pick(CONTENT_LENGTHS);
  const replaced = /content-length:[^\r\n]*/i.test(text)
    ? text.replace(/content-length:[^\r\n]*/i, `Content-Length: ${value}`)
    : text.replace('\r\n\r\n', `\r\nl: ${value}\r\n\r\n`);
  const twice = random.chance(0.2)
    ? replaced.replace('\r\n\r\n', `\r\nContent-Length: ${random.pick(CONTENT_LENGTHS)}\r\n\r\n`)
    : replaced;
  return Buffer.from(twice, 'latin1');
};

const crlfGames: Mutation = (bytes, random) => {
  const text = bytes.toString('latin1');
  switch (random.int(7)) {
    case 0:
      return Buffer.from(text.replaceAll('\r\n', '\n'), 'latin1');
    case 1:
      return Buffer.from(text.replaceAll('\r\n', '\r'), 'latin1');
    case 2:
      return Buffer.from(`${'\r\n'.repeat(1 + random.int(4))}${text}`, 'latin1');
    case 3: {
      // A blank line in the middle of the headers: the rest becomes the body.
      const at = text.indexOf('\r\n', random.int(Math.max(1, text.indexOf('\r\n\r\n'))));
      return Buffer.from(at === -1 ? text : `${text.slice(0, at)}\r\n${text.slice(at)}`, 'latin1');
    }
    case 4:
      // Line folding (RFC 3261 §7.3.1), in places it may and may not appear.
      return Buffer.from(
        text.replace(/\r\n([A-Z])/g, (m, c: string) => (random.chance(0.3) ? `\r\n \t${c}` : m)),
        'latin1',
      );
    case 5:
      return Buffer.from(
        text.replace('\r\n\r\n', random.pick(['\r\n', '\n\n', '\r\r', '\r\n\r', ''])),
        'latin1',
      );
    default:
      return Buffer.from(text.replaceAll('\r\n', random.pick(['\n\r', '\r\r\n', '\r\n\0'])), 'latin1');
  }
};

const truncate: Mutation = (bytes, random) => bytes.subarray(0, random.int(bytes.length + 1));

const UNICODE = ['é', '☎', '🦄', '\u202e', '\u0000', '\ufeff', '\u00a0', '𝕊𝕀ℙ', 'ß', '\u200b', '中文'];

const unicode: Mutation = (bytes, random) => {
  const inserts = 1 + random.int(4);
  let out = bytes;
  for (let i = 0; i < inserts; i++) {
    const at = random.int(out.length + 1);
    const piece = random.chance(0.3)
      ? Buffer.from([random.pick([0xff, 0xfe, 0xc3, 0xe2, 0x80, 0xf0])])
      : Buffer.from(random.pick(UNICODE), 'utf8');
    out = Buffer.concat([out.subarray(0, at), piece, out.subarray(at)]);
  }
  return out;
};

const longLine: Mutation = (bytes, random) => {
  const length = random.pick([1_000, 8_192, 20_000, 60_000]);
  const filler = random.pick(['a', ';', ',', '<', '%', ' ', '"', '\\']).repeat(length);
  const text = bytes.toString('latin1');
  switch (random.int(4)) {
    case 0:
      return Buffer.from(text.replace('\r\n', `\r\nX-Long: ${filler}\r\n`), 'latin1');
    case 1:
      return Buffer.from(text.replace(/ sip:/, ` sip:${filler}`), 'latin1');
    case 2:
      return Buffer.from(text.replace(/branch=/, `branch=${filler}`), 'latin1');
    default:
      return Buffer.from(text.replace(/Call-ID: /i, `Call-ID: ${filler}`), 'latin1');
  }
};

const FIELD_VALUES: ReadonlyArray<[RegExp, string[]]> = [
  [/^[A-Z]+ /, ['FOO ', 'invite ', ' ', 'INVITE  ', 'SIP/2.0 ', '']],
  [/SIP\/2\.0\r\n/, ['SIP/3.0\r\n', 'SIP/2.0 \r\n', 'HTTP/1.1\r\n', '\r\n']],
  [/^SIP\/2\.0 \d+/, ['SIP/2.0 999', 'SIP/2.0 -1', 'SIP/2.0 0', 'SIP/2.0 1000000', 'SIP/2.0 2OO']],
  [/CSeq: \d+/i, ['CSeq: -1', 'CSeq: 4294967296', 'CSeq: ', 'CSeq: 1 1', 'CSeq: 0']],
  [
    /Max-Forwards: \d+/i,
    ['Max-Forwards: 0', 'Max-Forwards: -1', 'Max-Forwards: 999999999999', 'Max-Forwards: x'],
  ],
  [/;branch=[^;\r\n]*/, ['', ';branch=', ';branch=z9hG4bK', ';branch="q"', ';branch=z9hG4bK-same']],
  [/<sip:[^>]*>/, ['<>', '<sip:>', '<tel:+1555>', '<sip:@:99999>', 'sip:no-brackets;tag=x', '<sip:a@[::1>']],
  [/;tag=[^;\r\n]*/, ['', ';tag=', ';tag=;tag=x', ';tag="quoted"']],
];

const replaceField: Mutation = (bytes, random) => {
  const text = bytes.toString('latin1');
  const [pattern, values] = random.pick(FIELD_VALUES);
  return Buffer.from(text.replace(pattern, random.pick(values)), 'latin1');
};

const garbage: Mutation = (_bytes, random) =>
  Buffer.from(Array.from({ length: random.int(2_000) }, () => random.int(256)));

const MUTATIONS: readonly Mutation[] = [
  flipBytes,
  duplicateHeader,
  removeHeader,
  lieAboutLength,
  crlfGames,
  truncate,
  unicode,
  longLine,
  replaceField,
  garbage,
];

/** One to three mutations (now and then none: valid messages keep the deeper paths busy). */
export function mutate(bytes: Buffer, random: Random): Buffer {
  if (random.chance(0.05)) return bytes;
  let out = bytes;
  const count = 1 + random.int(3);
  for (let i = 0; i < count; i++) out = random.pick(MUTATIONS)(out, random);
  return out.length > MAX_MUTANT_BYTES ? out.subarray(0, MAX_MUTANT_BYTES) : out;
}
