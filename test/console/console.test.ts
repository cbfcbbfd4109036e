/**
 * The web console in a real browser (chromium), against a pivot that just carried a real blind transfer
 * (SIPp PBX, carrier and target): the call log nests the child call under its parent, the call page
 * draws the SIP ladder in wire order and replays the machines revision by revision, a trunk change made
 * through the form lands in the audit, and the console says so when the API goes away. Every page is
 * saved as a screenshot under test-artifacts/console/.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { readModel } from '../e2e/readModel.ts';
import { transferToSipTarget } from '../e2e/sipTargetTransfer.ts';
import { readPcap } from '../helpers/pcap.ts';
import { freePort } from '../helpers/sipp.ts';
import { ARTIFACTS, buildConsole, launchBrowser, screenshot } from './browser.ts';

let pivot: PivotUnderTest;
let browser: Browser;
let page: Page;
let root: string;
let child: string;
let targetPort: number;

beforeAll(async () => {
  buildConsole();
  const carrierPort = await freePort();
  pivot = await startTestPivot({ carrierPort });
  ({ targetPort } = await transferToSipTarget(pivot.address, carrierPort, 'from-transferee'));
  const api = readModel(pivot.httpUrl);
  await api.untilEndedAndBilled({ calls: 2, billingLines: 2 });
  const { Calls } = await api.get('/v1/Calls');
  const childCall = Calls.find((c: { ParentCallSid: string | null }) => c.ParentCallSid !== null);
  root = childCall.ParentCallSid;
  child = childCall.Sid;
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await pivot?.dispose();
});

/** Waits for the page to reach a state (the console polls the API; a loaded machine is slow). */
const until = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 20_000, interval: 50 });

/** A section of the console, from its navigation bar. */
const nav = (name: string) =>
  page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name }).click();

describe('the web console', () => {
  it('links / to the console, and signs in with an API key (a wrong one is refused)', async () => {
    await page.goto(`${pivot.httpUrl}/`);
    await page.getByRole('link', { name: 'Console' }).click();
    await page.getByLabel('Key sid').fill(pivot.apiKey.sid);
    await page.getByLabel('Secret').fill('not the secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/unknown, revoked, or the secret is wrong/);
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Secret').fill(pivot.apiKey.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Calls' }).waitFor();
  });

  it('the call log shows the transferred call with its child call nested under it', async () => {
    const rows = page.locator('table.calls tbody tr');
    await until(() => rows.count()).toBe(2);
    expect(await rows.nth(0).getAttribute('data-sid')).toBe(root);
    expect(await rows.nth(0).textContent()).toContain('transferred');
    expect(await rows.nth(1).getAttribute('data-sid')).toBe(child);
    expect(await rows.nth(1).getAttribute('class')).toBe('child');
    expect(await rows.nth(1).textContent()).toContain('child call');
    await screenshot(page, '02-calls');
  });

  it('the call page draws the SIP ladder: REFER, 202, the NOTIFYs and the target INVITE in order', async () => {
    await page.locator(`tr[data-sid="${root}"] th a`).click();
    await page.getByRole('heading', { name: /^Call / }).waitFor();
    const rows = page.locator('.ladder-row');
    await until(() => rows.count()).toBeGreaterThan(20);
    const seen = await rows.evaluateAll((buttons) =>
      buttons.map(
        (b) =>
          `${b.getAttribute('data-from')}>${b.getAttribute('data-to')} ${b.getAttribute('data-first-line')}`,
      ),
    );
    const index = (pattern: RegExp, from = 0) => {
      const i = seen.findIndex((line, n) => n >= from && pattern.test(line));
      expect(i, `${pattern} after #${from} in\n${seen.join('\n')}`).toBeGreaterThanOrEqual(from);
      return i;
    };
    expect(seen[0]).toMatch(/^PBX>pivot INVITE sip:/);
    const refer = index(/^PBX>pivot REFER /);
    const accepted = index(/^pivot>PBX SIP\/2\.0 202 Accepted$/, refer);
    const notify = index(/^pivot>PBX NOTIFY /, accepted);
    const invite = index(
      new RegExp(`^pivot>target INVITE sip:target@127\\.0\\.0\\.1:${targetPort} `),
      notify,
    );
    index(/^pivot>PBX NOTIFY /, invite);
    expect(seen.filter((l) => /^pivot>PBX NOTIFY /.test(l))).toHaveLength(3);
    expect(seen.some((l) => l.startsWith('pivot>carrier INVITE'))).toBe(true);

    // A message opens with its full text, by keyboard too.
    await rows.nth(refer).focus();
    await page.keyboard.press('Enter');
    const detail = page.getByRole('region', { name: 'Selected SIP message' });
    expect(await detail.locator('pre').textContent()).toMatch(/^REFER sip:[^\n]+\nVia: /);
    expect(await detail.locator('pre').textContent()).toContain(
      `Refer-To: <sip:target@127.0.0.1:${targetPort}>`,
    );
    await screenshot(page, '03-call');

    // The whole trace saves as a capture file, fetched with the key.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'pcap (Wireshark)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${root}.pcap`);
    const saved = readFileSync((await download.path())!);
    expect(readPcap(saved)).toHaveLength(seen.length);
    await page.locator('.ladder').screenshot({ path: `${ARTIFACTS}/03-ladder.png` });
  });

  it('stepping the timeline replays the call: the highlighted state changes with the revision', async () => {
    const current = (machine: string) =>
      page.locator(`svg[data-machine^="${machine}"] g.current`).getAttribute('data-state');
    const revision = () => page.locator('.step-output [data-revision]').textContent();
    expect(await current('call')).toBe('ended');
    expect(await current('transfer')).toBe('completed');
    const last = Number(await revision());

    await page.getByRole('button', { name: 'First revision' }).click();
    await until(revision).toBe('0');
    expect(await current('call')).toBe('ringing');
    expect(await page.locator('svg[data-machine^="transfer"] g.current').count()).toBe(0);

    // Step forward until the call is being transferred: the transfer machine appears, holding the far party.
    for (let r = 1; r <= last && (await current('call')) !== 'transferring'; r++) {
      await page.getByRole('button', { name: 'Next revision' }).click();
      await until(revision).toBe(String(r));
    }
    expect(await current('call')).toBe('transferring');
    expect(await current('transfer')).toBe('holding');
    expect(await page.locator('svg[data-machine="call"] g.visited').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('table.timeline tr[aria-current="step"] code').textContent()).toBe(
      'ReferAccepted',
    );
    await screenshot(page, '04-call-replayed');
    await page.locator('.charts').screenshot({ path: `${ARTIFACTS}/04-statecharts.png` });
  });

  it('a child call page shows its parent and the same session', async () => {
    await page.goto(`${pivot.httpUrl}/console/#/calls/${child}`);
    await page.getByRole('link', { name: /CA/ }).first().waitFor();
    expect(await page.locator('.facts').textContent()).toContain('Transferred from');
    await expect
      .poll(() => page.locator('svg[data-machine="call"] g.current').getAttribute('data-state'))
      .toBe('ended');
  });

  it('transfers and billing pages list the transfer and the billed legs', async () => {
    await nav('Transfers');
    await page.getByRole('heading', { name: 'Transfers' }).waitFor();
    await until(() => page.locator('main table tbody tr').count()).toBe(1);
    expect(await page.locator('main table tbody tr').textContent()).toContain('completed');
    await screenshot(page, '05-transfers');
    await nav('Billing');
    await expect
      .poll(() =>
        page.locator('#lines ~ * table tbody tr, section[aria-labelledby="lines"] tbody tr').count(),
      )
      .toBe(2);
    await screenshot(page, '06-billing');
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV (every line)' }).click(),
    ]);
    expect(csv.suggestedFilename()).toBe('billing-lines.csv');
    const lines = readFileSync((await csv.path())!, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(
      'CallSid,Line,TrunkSid,Day,Kind,Number,Description,RatePerMinute,Minutes,Amount,Currency',
    );
    expect(
      lines
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
    ).toEqual([root, child].sort());
  });

  it('a trunk change through the form is validated like the API and shows in the audit', async () => {
    await nav('Trunks');
    await page.getByRole('link', { name: 'acme' }).click();
    await page.getByRole('heading', { name: 'Trunk acme' }).waitFor();
    const max = page.getByLabel('Max transfers per call');
    await max.fill('0');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect
      .poll(() => page.locator('#policy-problem').textContent())
      .toContain('MaxTransfersPerCall: expected a whole number >= 1');
    expect(await max.getAttribute('aria-invalid')).toBe('true');
    await max.fill('3');
    await page.getByLabel('Transfer mode').selectOption('sip-only');
    await page.getByLabel('Reason (kept in the audit)').fill('fraud spike');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await until(() => page.getByRole('status').first().textContent()).toMatch(/Saved: revision 2/);
    await screenshot(page, '07-trunk');

    await nav('Audit');
    const whats = page.locator('table.audit tbody th.what');
    await expect
      .poll(() => whats.allTextContents())
      .toEqual(
        expect.arrayContaining([
          'trunk acme: transferMode enable-all -> sip-only',
          'trunk acme: maxTransfersPerCall 5 -> 3',
        ]),
      );
    const row = page.locator('table.audit tbody tr', { hasText: 'maxTransfersPerCall 5 -> 3' });
    expect(await row.textContent()).toContain('fraud spike');
    await screenshot(page, '08-audit');
  });

  it('reads well on a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    // Signed in as the form would leave it: the key in this tab's sessionStorage.
    const key = JSON.stringify({ sid: pivot.apiKey.sid, secret: pivot.apiKey.secret });
    await context.addInitScript(`sessionStorage.setItem('sip-pivot.console.key', ${JSON.stringify(key)})`);
    const phone = await context.newPage();
    await phone.goto(`${pivot.httpUrl}/console/#/calls/${root}`);
    await phone.locator('.ladder-row').first().waitFor();
    // Nothing but the scrollable regions is wider than the screen.
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone, '09-call-phone');
    await phone.goto(`${pivot.httpUrl}/console/#/calls`);
    await phone.locator('table.calls tbody tr').first().waitFor();
    await screenshot(phone, '10-calls-phone');
    await context.close();
  });

  it('says when a read model lags behind the event store (two health checks in a row)', async () => {
    await nav('Calls');
    // The pivot's own /healthz, with the calls projection held 42 events behind: a lag the console
    // cannot be made to see on demand from a live store.
    await page.route('**/healthz', async (route) => {
      const health = await (await route.fetch()).json();
      health.Projections = health.Projections.map((p: { Name: string; Lag: number }) =>
        p.Name === 'callLog' ? { ...p, Lag: 42 } : p,
      );
      await route.fulfill({ json: health });
    });
    const banner = page.locator('.banner.lag');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toContain('callLog by 42 events');
    await screenshot(page, '11-lagging');
    await page.unroute('**/healthz');
    await banner.waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('says the API is unreachable when the pivot stops', async () => {
    await nav('Calls');
    await page.locator('table.calls tbody tr').first().waitFor();
    await pivot.stop();
    const banner = page.locator('.banner.down');
    await banner.waitFor({ timeout: 20_000 });
    expect(await banner.textContent()).toContain('unreachable');
    await screenshot(page, '12-unreachable');
  });
});
