import { describe, expect, it } from 'vitest';
import { namesDialog, replacesOf } from './replaces.ts';

describe('replacesOf: the Refer-To forms phones send', () => {
  it('Linphone (belle-sip): lower-case %-escapes, from-tag before to-tag, no early-only', () => {
    // As linphonec 5.1 writes it for `transfer 1 --to-call 2` (test/peers/linphone-attended.test.ts).
    const referTo =
      '<sip:+15550300000@acme.pstn.pivot.test?Replaces=f~7BTN5Td1%3bfrom-tag%3dDrXj2uQpJ%3bto-tag%3dpvd2be357adfe0c>';
    expect(replacesOf([referTo])).toEqual({
      kind: 'replaces',
      uri: 'sip:+15550300000@acme.pstn.pivot.test',
      dialog: { callId: 'f~7BTN5Td1', toTag: 'pvd2be357adfe0c', fromTag: 'DrXj2uQpJ' },
    });
  });

  it('a Call-ID of the pivot (a dialog it opened) with its %-escaped @ and the phone tags', () => {
    const callId = 'pv-CA0123456789abcdef0123456789abcdef-a1@127.0.0.1';
    const referTo = `<sip:+15550200000@127.0.0.1?Replaces=${encodeURIComponent(callId)}%3bfrom-tag%3dlin-1%3bto-tag%3dpvf00d>`;
    const result = replacesOf([referTo]);
    expect(result).toMatchObject({ kind: 'replaces', dialog: { callId, toTag: 'pvf00d', fromTag: 'lin-1' } });
  });

  it('upper-case escapes and early-only (RFC 3891 §6.1) read the same', () => {
    expect(
      replacesOf(['<sip:bob@pbx.example?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2%3Bearly-only>']),
    ).toEqual({
      kind: 'replaces',
      uri: 'sip:bob@pbx.example',
      dialog: { callId: 'abc@host', toTag: '1', fromTag: '2', earlyOnly: true },
    });
  });
});

describe('namesDialog: whichever side opened the dialog', () => {
  const dialog = { callId: 'c1', toTag: 'pivot-tag', fromTag: 'phone-tag' };

  it("to-tag is the pivot's own tag, from-tag the phone's (RFC 3891 §3), for a dialog the phone or the pivot opened", () => {
    expect(namesDialog(dialog, 'c1', 'pivot-tag', 'phone-tag')).toBe(true);
  });

  it('another Call-ID, or a tag of neither side, names another dialog', () => {
    expect(namesDialog(dialog, 'c2', 'pivot-tag', 'phone-tag')).toBe(false);
    expect(namesDialog(dialog, 'c1', 'pivot-tag', 'someone-else')).toBe(false);
    expect(namesDialog(dialog, 'c1', 'pivot-tag', undefined)).toBe(false);
  });
});
