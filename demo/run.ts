/**
 * `pivot demo` / `npm run demo`: a first look at a running pivot. Against the pivot the config describes
 * (`npm start` runs one with config/pivot.sample.yaml) it plays a PBX (127.0.0.1), a carrier (on the
 * config's carrier address, 127.0.0.2 in the sample) and transfer targets, all SIPp, and places three
 * calls that the PBX transfers:
 *   1. to a SIP target that answers: the call gets a child call;
 *   2. to a busy target: the final NOTIFY says 486 and the call goes on until the PBX hangs up;
 *   3. to a PSTN number while the trunk's TransferMode is sip-only (set through the API for this call,
 *      then set back): the REFER is refused 403 by policy, and both changes are in the audit.
 * Then it prints an API key to sign in with, the console links, and the replay of the first call.
 */

import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { startApiKeyRegistry } from '../src/apikeys/registry.ts';
import { loadConfig } from '../src/config/index.ts';
import { carrierUris } from '../src/config/schema.ts';
import { findSessionStream, formatSteps, replayEvents } from '../src/engine/replay.ts';
import { openStore } from '../src/store/open.ts';
import { allPassed, carrier, pbx, target } from '../test/e2e/parties.ts';

const configPath = process.argv[2] ?? 'config/pivot.sample.yaml';
const config = loadConfig(configPath);
const sipAddress = `${config.sip.publicHost}:${config.sip.port}`;
const httpHost = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
const http = `http://${httpHost}:${config.http.port}`;

function fail(message: string): never {
  process.stderr.write(`pivot demo: ${message}\n`);
  process.exit(1);
}

const gateway = /^sips?:(?:[^@]*@)?(127\.\d+\.\d+\.\d+)(?::(\d+))?/.exec(carrierUris(config)[0] ?? '');
if (!gateway)
  fail(`the carrier (${carrierUris(config)[0]}) must be on a loopback address for the demo to play it`);
const carrierIp = gateway[1]!;
const carrierPort = Number(gateway[2] ?? 5060);
if (carrierIp === '127.0.0.1') {
  fail(
    'the carrier and the PBX would share 127.0.0.1 (every local call would count as the carrier): use a carrier on 127.0.0.2, as config/pivot.sample.yaml does',
  );
}
if (carrierIp !== '127.0.0.2') fail(`the demo's carrier plays 127.0.0.2; the config has ${carrierIp}`);
const trunk = config.trunks.find(
  (t) => t.domain === 'acme.pstn.pivot.test' && t.acl.includes('127.0.0.1/32'),
);
if (!trunk)
  fail(
    'the demo calls trunk acme (domain acme.pstn.pivot.test, acl 127.0.0.1/32) as in config/pivot.sample.yaml',
  );

try {
  const health = await fetch(`${http}/healthz`);
  if (!health.ok) fail(`the pivot at ${http} answers ${health.status} on /healthz`);
} catch {
  fail(`no pivot answers at ${http}: start one first (npm start, or npx pivot serve --config ${configPath})`);
}

const onPath = (name: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name)));
if (!onPath(process.env.SIPP_BIN ?? 'sipp')) {
  fail(
    'SIPp plays the parties and is not installed: sudo apt-get install -y sip-tester (or sh scripts/ensure-tools.sh)',
  );
}

const say = (line: string) => process.stdout.write(`${line}\n`);

// An admin key made in the pivot's store, as `pivot keys create` does: the demo changes a trunk with it,
// and you sign in to the console with it.
const store = openStore(config.store);
const registry = await startApiKeyRegistry({ store, follow: false });
const { key, secret } = await registry.create({ role: 'admin', name: 'demo' });
await registry.stop();
const authorization = `Basic ${Buffer.from(`${key.sid}:${secret}`).toString('base64')}`;

async function api<T>(path: string, body?: unknown): Promise<T> {
  // A key made a moment ago reaches the API through its store subscription: retry a 401 briefly.
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${http}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 401 && attempt < 50) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const json = await response.json();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
    return json as T;
  }
}

interface Call {
  Sid: string;
  ParentCallSid: string | null;
  Status: string;
  StartTime: string;
}

const started = new Date().toISOString();
const trunkSid = (
  await api<{ Trunks: { Sid: string; Domain: string; TransferMode: string }[] }>('/v1/Trunks')
).Trunks.find((t) => t.Domain === trunk.domain)?.Sid;
if (!trunkSid) fail('trunk acme is not in the API');

say(
  `Pivot: SIP ${sipAddress}, API ${http}. PBX 127.0.0.1, carrier ${carrierIp}:${carrierPort}, targets 127.0.0.1.`,
);

say('1/3 A call transferred to a SIP target that answers…');
{
  const far = carrier({ port: carrierPort, flow: 'hold_then_reconnect', childEnd: 'hangs_up' });
  const bob = target({ outcome: 'answer', childEnd: 'hung_up' });
  await Promise.all([far.ready, bob.ready]);
  await allPassed(pbx(sipAddress, { flow: 'transfer', target: `target@127.0.0.1:${bob.port}` }), far, bob);
}

say('2/3 A call transferred to a busy target…');
{
  const far = carrier({ port: carrierPort, flow: 'hold_then_resume', afterResume: 'hung_up' });
  const busy = target({ outcome: 'busy' });
  await Promise.all([far.ready, busy.ready]);
  await allPassed(
    pbx(sipAddress, { flow: 'transfer', target: `target@127.0.0.1:${busy.port}`, final: '486 Busy Here' }),
    far,
    busy,
  );
}

say('3/3 A transfer to a PSTN number while the trunk allows SIP targets only…');
const before = (await api<{ TransferMode: string }>(`/v1/Trunks/${trunkSid}`)).TransferMode;
await api(`/v1/Trunks/${trunkSid}`, {
  TransferMode: 'sip-only',
  Reason: 'demo: PSTN transfers refused for one call',
});
try {
  const far = carrier({ port: carrierPort, flow: 'hung_up' });
  await far.ready;
  await allPassed(pbx(sipAddress, { flow: 'refused', referTo: ['<tel:+15550300000>'], status: 403 }), far);
} finally {
  await api(`/v1/Trunks/${trunkSid}`, { TransferMode: before, Reason: 'demo: back as it was' });
}

// The read models follow the store: wait until they list the demo's calls, all ended.
let calls: Call[] = [];
for (let attempt = 0; attempt < 100; attempt++) {
  calls = (await api<{ Calls: Call[] }>(`/v1/Calls?StartTimeAfter=${encodeURIComponent(started)}`)).Calls;
  if (calls.length >= 4 && calls.every((c) => !['ringing', 'in-progress'].includes(c.Status))) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const roots = calls.filter((c) => !c.ParentCallSid).reverse();
const transferred = roots.find((root) => calls.some((c) => c.ParentCallSid === root.Sid));

say('');
say(
  `Console: ${http}/console/  — sign in with this admin key (shown once; revoke it with npx pivot keys revoke ${key.sid}):`,
);
say(`  sid    ${key.sid}`);
say(`  secret ${secret}`);
say('');
const labels = [
  'transferred (child call under it)',
  'busy target (the call went on)',
  'refused by policy (403)',
];
for (const [i, call] of roots.entries()) say(`  ${labels[i] ?? 'call'}: ${http}/console/#/calls/${call.Sid}`);
say(`  audit (the two trunk changes): ${http}/console/#/audit?Kind=trunk`);

if (transferred) {
  say('');
  say(`npx pivot replay ${transferred.Sid}`);
  const stream = await findSessionStream(store, transferred.Sid);
  if (stream) say(formatSteps(replayEvents(stream.slice('call-'.length), await store.readStream(stream))));
}
await store.close();
