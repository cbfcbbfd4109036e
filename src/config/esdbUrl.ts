/**
 * EventStoreDB connection strings as the installed client (@eventstore/db-client) reads them, checked
 * at start-up instead of at the first connection: `esdb://` or `esdb+discover://`, optional
 * `user:password@`, one or more `host[:port]` separated by commas (a cluster's seed nodes), and
 * `?key=value` options the client knows. WHATWG URL parsing refuses a host list, so it is not used.
 */
const OPTIONS = [
  'userCertFile',
  'userKeyFile',
  'maxDiscoverAttempts',
  'connectionName',
  'defaultDeadline',
  'discoveryInterval',
  'gossipTimeout',
  'nodePreference',
  'tls',
  'tlsVerifyCert',
  'tlsCAFile',
  'throwOnAppendFailure',
  'keepAliveInterval',
  'keepAliveTimeout',
].map((name) => name.toLowerCase());

const HOST = /^[^$+!?*'(),;[\]{}|"%~#<>=&/:@\s]+(:\d{1,5})?$/;

/** Why `text` is not a connection string the client reads, or undefined when it is. */
export function esdbUrlProblem(text: string): string | undefined {
  const match = /^([a-z+]+):\/\/(.*)$/i.exec(text.trim().replace(/\/+$/, ''));
  const [, scheme = '', rest = ''] = match ?? [];
  if (scheme.startsWith('kurrentdb')) {
    return `expected esdb:// or esdb+discover:// (the EventStoreDB client in use does not read ${scheme}://)`;
  }
  if (scheme !== 'esdb' && scheme !== 'esdb+discover')
    return 'expected a URL such as "esdb://localhost:2113?tls=false"';
  const at = rest.lastIndexOf('@', rest.indexOf('?') < 0 ? rest.length : rest.indexOf('?'));
  const credentials = at < 0 ? undefined : rest.slice(0, at);
  if (credentials !== undefined && !/^[^:@]+:[^@]+$/.test(credentials)) {
    return 'expected user:password@ before the hosts';
  }
  const [hostPart = '', query] = rest.slice(at + 1).split('?', 2);
  const hosts = hostPart.replace(/\/$/, '').split(',');
  const badHost = hosts.find((host) => !HOST.test(host.trim()));
  if (badHost !== undefined) return `expected host[:port] entries separated by commas (got "${badHost}")`;
  for (const pair of (query ?? '').split('&').filter(Boolean)) {
    const [key = '', value] = pair.split('=', 2);
    if (!OPTIONS.includes(key.toLowerCase().replace(/[_-]/g, ''))) return `unknown connection option ${key}`;
    if (value === undefined || value === '') return `connection option ${key} needs a value`;
  }
  return undefined;
}
