/**
 * The zod schema of the YAML configuration (docs/architecture.md "Configuration"). Every object is strict so a
 * misspelt key is an error instead of a silently ignored setting; defaults are filled in here so the
 * rest of the program reads one complete, typed value.
 */
import { z } from 'zod';
import { TRANSFER_CALLER_IDS, TRANSFER_MODES } from '../../machines/events.ts';
import { E164 } from '../../machines/refer-target.ts';
import { uriHost } from '../../machines/sip-syntax.ts';
import { isCidr } from './cidr.ts';
import { esdbUrlProblem } from './esdbUrl.ts';

const host = z.string().regex(/^[^\s/]+$/, { error: 'expected a host name or IP address' });

// 0 asks the OS for a free port, which tests use to run side by side.
const port = z
  .number()
  .int()
  .min(0, { error: 'expected a port number 0-65535' })
  .max(65535, { error: 'expected a port number 0-65535' });

const positiveSeconds = z.number().int().min(1, { error: 'expected a whole number of seconds >= 1' });

/**
 * A sip:/sips: URI with a host and no headers: the pivot sends requests to it. A host name is located
 * by RFC 3263 (src/dns/) and kept fresh in the background, so no call waits for DNS.
 */
const sipUri = z.string().refine((s) => !s.includes('?') && uriHost(s) !== undefined, {
  error: 'expected a sip: or sips: URI such as "sip:127.0.0.1:5090"',
});

/** A URL whose scheme is one of `protocols` (e.g. `nats:`), checked with WHATWG URL parsing. */
function url(protocols: string[], example: string) {
  return z.string().refine((s) => URL.canParse(s) && protocols.includes(new URL(s).protocol), {
    error: `expected a URL such as "${example}"`,
  });
}

/**
 * A secret as written, or `${NAME}` to read it from the environment at start-up (so it stays out of the
 * file); an unset variable is an error naming the field, never an empty password.
 */
const secret = z
  .string()
  .min(1, { error: 'expected a password' })
  .transform((value, context) => {
    const name = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value)?.[1];
    if (name === undefined) return value;
    const found = process.env[name];
    if (found === undefined || found === '') {
      context.addIssue({ code: 'custom', message: `environment variable ${name} is not set` });
      return z.NEVER;
    }
    return found;
  });

/** Where events are stored; `memory` is for tests and demos (nothing survives a restart). */
const store = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sqlite'), path: z.string().min(1, { error: 'expected a file path' }) }),
  z.strictObject({
    kind: z.literal('postgres'),
    url: url(['postgres:', 'postgresql:'], 'postgres://pivot@localhost:5432/pivot'),
  }),
  z.strictObject({
    kind: z.literal('eventstoredb'),
    /** A single node or a cluster's seeds (`esdb://a:2113,b:2113,c:2113`), as the client reads them. */
    url: z.string().superRefine((value, context) => {
      const problem = esdbUrlProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
    /** Secure mode: credentials (the password may be `${NAME}`) and the CA the nodes' certificates chain to. */
    username: z.string().min(1).optional(),
    password: secret.optional(),
    tlsCaFile: z.string().min(1, { error: 'expected a PEM file path' }).optional(),
  }),
  z.strictObject({ kind: z.literal('memory') }),
]);

/** How the SIP adapter and the engine talk: in one process, or over NATS when the roles run apart. */
const bus = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('inprocess') }),
  z.strictObject({
    kind: z.literal('nats'),
    url: url(['nats:', 'tls:', 'ws:', 'wss:'], 'nats://127.0.0.1:4222'),
    /**
     * Input partitions: at most this many inputs are handled at once across all engines (one per
     * partition, so a session's inputs keep their order). Every process of a deployment must agree; the
     * stream records it. Default 16.
     */
    partitions: z.number().int().min(1, { error: 'expected a whole number >= 1' }).max(1024).optional(),
  }),
]);

const e164 = z.string().regex(E164, { error: 'expected an E.164 number such as "+15550100000"' });

/** A rate deck: `""` is the default, other keys are `+digits` prefixes; values are per minute. */
const rateDeck = z
  .record(
    z.string().regex(/^(\+\d+)?$/, { error: 'expected "" (the default) or a quoted "+digits" prefix' }),
    z.number().min(0, { error: 'expected a rate >= 0' }),
  )
  // Without a default some numbers would have no price; say so at start-up, not on the first bill.
  .refine((deck) => '' in deck, { error: 'expected a default rate "" in the deck' });

const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * What the carrier is told the caller is, from the PBX's P-Asserted-Identity or else its From:
 * `e164` normalises a national or international number with the trunk's `numbering` and falls back to
 * the main number when the caller is not a number (an extension such as `1001`); `main-number` always
 * presents the trunk's main number; `passthrough` keeps the user part as sent, in a well-formed URI.
 */
export const callerIdRules = ['e164', 'main-number', 'passthrough'] as const;

const digits = (what: string) => z.string().regex(/^\d{1,4}$/, { error: `expected ${what} of 1-4 digits` });

/** How the PBX writes numbers that are not +E.164 (RFC 3966 global form is always understood). */
const numbering = z.strictObject({
  /** E.164 country code for national numbers, e.g. "1" or "44". */
  countryCode: z.string().regex(/^[1-9]\d{0,2}$/, { error: 'expected a country code such as "1" or "44"' }),
  /** Dialled before a national number, e.g. "0" in the UK, "1" in North America; stripped. */
  nationalPrefix: digits('a national prefix').optional(),
  /** Dialled before an international number, e.g. "00" or "011"; replaced by "+". */
  internationalPrefix: digits('an international prefix').optional(),
  /** Digits in a national number without prefix (10 in North America); shorter numbers are extensions. */
  nationalNumberLength: z.number().int().min(4).max(14).optional(),
});

/** The SHA-256 fingerprint of a certificate, as openssl or a browser prints it. */
const sha256Fingerprint = z.string().regex(/^(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/, {
  error: 'expected a SHA-256 fingerprint: 64 hex digits, colons optional',
});

/**
 * The client certificate a trunk's PBX presents on the TLS listener: any of these SHA-256 fingerprints,
 * or a certificate naming any of these (its subject CN or a subjectAltName: DNS name, IP address, URI).
 */
const tlsClient = z
  .strictObject({
    fingerprints: z
      .array(sha256Fingerprint)
      .min(1, { error: 'expected at least one fingerprint' })
      .optional(),
    names: z
      .array(z.string().regex(/^[^\s,]{1,255}$/, { error: 'expected a name without spaces or commas' }))
      .min(1, { error: 'expected at least one name' })
      .optional(),
  })
  .refine((client) => client.fingerprints !== undefined || client.names !== undefined, {
    error: 'expected fingerprints or names',
  });

/** Digest credentials (RFC 3261 §22) a trunk's PBX may authenticate with; referenced by name. */
const credentialList = z
  .array(
    z.strictObject({
      username: z
        .string()
        .regex(/^[^\s:"\\]{1,64}$/, { error: 'expected a user name without spaces or quotes' }),
      password: z.string().min(8, { error: 'expected a password of at least 8 characters' }),
    }),
  )
  .min(1, { error: 'expected at least one credential' });
/** What the pivot answers a peer's digest challenge (401/407) with: RFC 3261 §22.2, RFC 8760. */
const peerCredential = z.strictObject({
  username: z.string().regex(/^[^\s"\\]{1,128}$/, { error: 'expected a user name without spaces or quotes' }),
  password: secret,
});

/** One trunk; also validates trunks created through the HTTP API. */
export const trunkSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, {
    error: 'expected a name of letters, digits, ".", "_" or "-"',
  }),
  /** Termination R-URIs look like `sip:+E164@<domain>`; also marks `sip:+E164@<domain>` targets as PSTN. */
  domain: z.string().regex(DOMAIN, { error: 'expected a domain name such as "acme.pstn.pivot.test"' }),
  /** Source addresses of the customer's PBX; at least one, or no call could ever be accepted. */
  acl: z
    .array(z.string().refine(isCidr, { error: 'expected an IPv4 or IPv6 CIDR such as "192.0.2.0/24"' }))
    .min(1, { error: 'expected at least one CIDR' }),
  originationUri: sipUri,
  numbers: z.array(e164),
  transferMode: z.enum(TRANSFER_MODES),
  transferCallerId: z.enum(TRANSFER_CALLER_IDS).default('from-transferee'),
  maxTransfersPerCall: z
    .number()
    .int()
    .min(1, { error: 'expected a whole number >= 1 (use transferMode: disable-all to refuse transfers)' })
    .default(5),
  /**
   * Calls per second the trunk may start: new calls (either direction) plus accepted transfers, as SIP
   * trunking providers sell it. Above it a new INVITE or a REFER gets 503 with Retry-After and nothing
   * is stored (src/engine/cpsLimiter.ts). No limit when absent.
   */
  cpsLimit: z.number().positive({ error: 'expected a number of calls per second > 0' }).optional(),
  /**
   * When set, a PBX must also answer a digest challenge with one of these credentials (the ACL is still
   * checked: use 0.0.0.0/0 for credentials alone).
   */
  credentialList: z.string().min(1).optional(),
  /**
   * When set, a PBX must also call over TLS presenting this client certificate (verified, see
   * `sip.tls.clientCertificates`); the ACL is still checked: use 0.0.0.0/0 and ::/0 for the certificate
   * alone. A certificate that is another trunk's is refused on every trunk but its own.
   */
  tlsClient: tlsClient.optional(),
  callerIdRule: z.enum(callerIdRules).optional(),
  /** Presented when the caller is not a number; defaults to the first of `numbers`. */
  mainNumber: e164.optional(),
  numbering: numbering.optional(),
  /**
   * The longest a call on this trunk may last from its answer; then the pivot BYEs both legs
   * (machines/call/reapers.ts). 4 hours when absent; `false` sets no limit.
   */
  maxCallSeconds: z.union([positiveSeconds, z.literal(false)]).optional(),
  rates: z.strictObject({
    currency: z.string().regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 currency code such as "USD"' }),
    origination: rateDeck,
    termination: rateDeck,
  }),
});

/** What a status callback can be sent for (projections/webhooks/projection.ts maps events to these). */
export const STATUS_CALLBACK_EVENTS = [
  'initiated',
  'ringing',
  'answered',
  'completed',
  'transfer-requested',
  'transfer-completed',
  'transfer-failed',
] as const;

/** A trunk's status callback: signed POSTs to `url` as its calls and transfers progress. */
const statusCallback = z.strictObject({
  /** The trunk (by name) whose calls and transfers are reported. */
  trunk: z.string().min(1, { error: 'expected a trunk name' }),
  url: url(['http:', 'https:'], 'https://example.com/pivot/status'),
  events: z
    .array(z.enum(STATUS_CALLBACK_EVENTS))
    .min(1)
    .default([...STATUS_CALLBACK_EVENTS]),
  /** Key of the HMAC-SHA256 signature of each body (header X-Pivot-Signature). Never stored in events. */
  secret: z.string().min(16, { error: 'expected a secret of at least 16 characters' }),
});
export type StatusCallbackConfig = z.output<typeof statusCallback>;

/** A request rate a source may send (a token bucket), or `false` for none. */
const requestRate = z.union([
  z.literal(false),
  z.strictObject({
    ratePerSecond: z.number().positive({ error: 'expected a rate > 0' }),
    burst: z.number().int().min(1, { error: 'expected a whole number >= 1' }),
  }),
]);

/** A projection module: a path (relative to the working directory) and what its factory receives. */
const projectionModule = z.strictObject({
  module: z
    .string()
    .regex(/\.(?:ts|mts|js|mjs)$/, { error: 'expected a .ts, .mts, .js or .mjs module path' }),
  /** Passed to the module's default export when it is a function. */
  options: z.record(z.string(), z.unknown()).optional(),
});
export type ProjectionModule = z.output<typeof projectionModule>;

export const pivotConfigSchema = z.strictObject({
  sip: z.strictObject({
    host,
    port,
    /** The address peers reach us at (Via, Contact, Record-Route); differs from `host` behind NAT. */
    publicHost: host,
    /**
     * Requests per second each source address may send (a token bucket; retransmissions count), or
     * `false` for no limit. Over it, UDP is dropped and TCP answered 503. Default 100/s, burst 200: a
     * PBX placing about 25 transferred calls a second. Raise it for a busy SBC.
     */
    sourceLimit: requestRate.optional(),
    /**
     * The one budget shared by every source outside the trunks' ACLs and the carrier's addresses
     * (transfer targets, monitors, scanners), requests/s; default 100/s, burst 200. `false`: each such
     * source gets `sourceLimit` of its own, as known peers do.
     */
    unknownSourceLimit: requestRate.optional(),
    /** Server transactions waiting for a final answer; above it new requests get 503 (default 10,000). */
    maxPendingServerTransactions: z
      .number()
      .int()
      .min(1, { error: 'expected a whole number >= 1' })
      .optional(),
    /**
     * Timer C (RFC 3261 §16.6 step 11): how long an outbound INVITE may go without a final response
     * before the pivot CANCELs it and answers the caller 408. 181 s when absent (RFC 3261 wants more
     * than 3 minutes).
     */
    timerCSeconds: positiveSeconds.optional(),
    /**
     * How long the pivot waits for the ACK of its 2xx to a caller's INVITE before it BYEs both legs
     * (RFC 3261 §13.3.1.4). 32 s (64*T1) when absent.
     */
    ackTimeoutSeconds: positiveSeconds.optional(),
    /**
     * Digest challenges offered to trunks with credentials, one Proxy-Authenticate each, in this order.
     * MD5 alone by default: many PBXs and test tools read only the first challenge and know only MD5;
     * list SHA-256 first (RFC 8760) where every PBX supports it.
     */
    digestAlgorithms: z
      .array(z.enum(['SHA-256', 'MD5']))
      .min(1, { error: 'expected at least one of SHA-256, MD5' })
      .optional(),
    /**
     * SIP over TLS (RFC 3261 §26): a listener on `port` (default 5061) with this certificate chain and
     * key (PEM files), and TLS toward peers whose URI asks for it (`sips:`, `;transport=tls`), their
     * certificates verified against the system's CAs, or against `ca` (a PEM file) when set.
     */
    tls: z
      .strictObject({
        port: port.default(5061),
        certificate: z.string().min(1, { error: 'expected a PEM file path' }),
        key: z.string().min(1, { error: 'expected a PEM file path' }),
        ca: z.string().min(1, { error: 'expected a PEM file path' }).optional(),
        /**
         * Client certificates on the listener (mutual TLS): `request` asks every peer that connects for
         * one, `require` also refuses the handshake of a peer that sends none or one that does not verify.
         * Only a certificate that verifies (against `clientCa`) names the PBX to the trunks' `tlsClient`.
         * Not asked when absent.
         */
        clientCertificates: z.enum(['request', 'require']).optional(),
        /** The CAs client certificates must chain to (a PEM file); `ca`, else the system's, when absent. */
        clientCa: z.string().min(1, { error: 'expected a PEM file path' }).optional(),
        /**
         * Peers (a carrier gateway, a trunk's PBX) verified against their own CA instead of `ca`, or
         * pinned to one certificate by its SHA-256 fingerprint.
         */
        peers: z
          .array(
            z
              .strictObject({
                host: z.string().min(1, { error: 'expected the host name or address the pivot connects to' }),
                port: port.optional(),
                ca: z.string().min(1, { error: 'expected a PEM file path' }).optional(),
                fingerprint: sha256Fingerprint.optional(),
              })
              .refine((peer) => peer.ca !== undefined || peer.fingerprint !== undefined, {
                error: 'expected ca or fingerprint',
              }),
          )
          .optional(),
      })
      .refine((tls) => tls.clientCa === undefined || tls.clientCertificates !== undefined, {
        error: 'expected clientCertificates (request or require) with it: no client certificate is asked for',
        path: ['clientCa'],
      })
      .optional(),
  }),
  http: z.strictObject({
    host,
    port,
    /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>`; open otherwise. */
    metricsToken: z
      .string()
      .regex(/^[\x21-\x7e]{16,}$/, { error: 'expected at least 16 printable characters, no spaces' })
      .optional(),
  }),
  store,
  bus,
  carrier: z.strictObject({
    /**
     * The carrier's gateway, or its gateways in order of preference: a termination INVITE answered 503,
     * or not answered at all (timeout, transport error), is tried on the next one.
     */
    uri: z.union([sipUri, z.array(sipUri).min(1, { error: 'expected at least one gateway URI' })]),
    /**
     * Every address block the carrier sends from (its gateways, SBC pools). Requests from these are
     * origination calls; without it only the address `uri` resolves to counts.
     */
    sources: z
      .array(z.string().refine(isCidr, { error: 'expected an IPv4 or IPv6 CIDR such as "192.0.2.0/24"' }))
      .optional(),
    /** Answers the carrier's digest challenges (INVITE, re-INVITE, BYE, a transfer's INVITE). */
    credentials: peerCredential.optional(),
  }),
  /**
   * By trunk name: what the pivot answers a digest challenge from that trunk's `originationUri` with.
   * Kept out of the trunk itself, whose settings are stored as events.
   */
  originationCredentials: z.record(z.string(), peerCredential).optional(),
  /**
   * How the names in `carrier.uri`, trunks' `originationUri` and transfer targets are located (RFC 3263
   * NAPTR, SRV, A/AAAA; src/dns/): the DNS servers to ask (the system's when absent) and bounds on how
   * long an answer is used before it is refreshed in the background.
   */
  dns: z
    .strictObject({
      servers: z
        .array(
          z.string().regex(/^(\[[0-9a-f:.]+\]|[0-9.]+|[0-9a-f:]+)(:\d{1,5})?$/i, {
            error: 'expected an IP address, optionally with :port ([v6]:port)',
          }),
        )
        .min(1, { error: 'expected at least one DNS server' })
        .optional(),
      minTtlSeconds: positiveSeconds.optional(),
      maxTtlSeconds: positiveSeconds.optional(),
    })
    .optional(),
  /**
   * OPTIONS to every carrier gateway and trunk origination address this often; one that does not
   * answer (or answers 503) leaves the rotation until it answers again (src/engine/peerHealth.ts).
   * Off when absent. With the roles apart the SIP adapter pings and shares what it finds over NATS
   * (src/cli/peerChecks.ts).
   */
  healthChecks: z.strictObject({ intervalSeconds: positiveSeconds }).optional(),
  /** Named digest credential lists that trunks reference with `credentialList`. */
  credentialLists: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i), credentialList).optional(),
  transfer: z
    .strictObject({
      noAnswerTimeoutSeconds: positiveSeconds.default(30),
      /** The transferor should hang up after a transfer (RFC 5589); if it does not, the pivot sends BYE. */
      byeFallbackSeconds: positiveSeconds.default(32),
    })
    // prefault (not default) so an absent section still gets its fields' defaults.
    .prefault({}),
  trunks: z.array(trunkSchema).min(1, { error: 'expected at least one trunk' }),
  /**
   * The SIP trace: every message the adapter receives and sends, filed by call, for the console's
   * ladder and `GET /v1/Calls/{Sid}/Messages`. A SQLite file of its own (default `sip-trace.db` next
   * to the read models), bounded per call and by age; `enabled: false` records nothing.
   */
  trace: z
    .strictObject({
      enabled: z.boolean().default(true),
      maxMessagesPerCall: z.number().int().min(1, { error: 'expected a whole number >= 1' }).default(500),
      retentionDays: z.number().positive({ error: 'expected a number of days > 0' }).default(7),
      path: z.string().min(1, { error: 'expected a file path' }).optional(),
    })
    .prefault({}),
  /**
   * Read models (call log, transfers, billing, audit): a SQLite file of their own, and projections
   * written with projections/api.ts loaded from modules (a list alone is short for `{ modules: [...] }`).
   */
  projections: z
    .union([
      z
        .array(projectionModule)
        .transform(
          (modules): { path?: string; modules?: ProjectionModule[]; postgres?: { url: string } } => ({
            modules,
          }),
        ),
      z.strictObject({
        path: z.string().min(1, { error: 'expected a file path' }).optional(),
        modules: z.array(projectionModule).optional(),
        /** Where PostgreSQL projections keep their tables; default: the store's database when it is PostgreSQL. */
        postgres: z
          .strictObject({ url: url(['postgres:', 'postgresql:'], 'postgres://pivot@localhost:5432/pivot') })
          .optional(),
      }),
    ])
    .optional(),
  /** Per-trunk status callbacks (webhooks), delivered by the read side (docs/projections.md). */
  statusCallbacks: z.array(statusCallback).optional(),
});

/** Every trunk's `credentialList` must name a list that exists. */
export const checkedConfigSchema = pivotConfigSchema.superRefine((config, context) => {
  config.statusCallbacks?.forEach((callback, index) => {
    if (config.statusCallbacks!.findIndex((other) => other.trunk === callback.trunk) !== index) {
      context.addIssue({
        code: 'custom',
        path: ['statusCallbacks', index, 'trunk'],
        message: `expected one status callback per trunk (${callback.trunk} has another)`,
        input: callback.trunk,
      });
    }
    if (!config.trunks.some((trunk) => trunk.name === callback.trunk)) {
      context.addIssue({
        code: 'custom',
        path: ['statusCallbacks', index, 'trunk'],
        message: `expected the name of a trunk (got "${callback.trunk}")`,
        input: callback.trunk,
      });
    }
  });
  config.trunks.forEach((trunk, index) => {
    if (trunk.tlsClient !== undefined && config.sip.tls?.clientCertificates === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['trunks', index, 'tlsClient'],
        message:
          'expected sip.tls.clientCertificates (request or require): no client certificate is asked for',
        input: trunk.tlsClient,
      });
    }
    if (trunk.credentialList !== undefined && !config.credentialLists?.[trunk.credentialList]) {
      context.addIssue({
        code: 'custom',
        path: ['trunks', index, 'credentialList'],
        message: `expected the name of a list in credentialLists (got "${trunk.credentialList}")`,
        input: trunk.credentialList,
      });
    }
  });
});

/** The carrier's gateway URIs, in order of preference. */
export function carrierUris(config: Pick<PivotConfig, 'carrier'>): string[] {
  const { uri } = config.carrier;
  return typeof uri === 'string' ? [uri] : uri;
}

/** The validated configuration, defaults filled in. */
export type PivotConfig = z.output<typeof pivotConfigSchema>;
/** The configuration as written (defaulted fields optional), e.g. for tests building one in code. */
export type PivotConfigInput = z.input<typeof pivotConfigSchema>;
export type TrunkConfig = PivotConfig['trunks'][number];
export type StoreConfig = PivotConfig['store'];
export type BusConfig = PivotConfig['bus'];

/**
 * Where the read models live: `projections.path`, else `views.db` next to a SQLite store, else
 * `./data/views.db`; in memory when the events are (nothing would outlive the process anyway).
 */
export function viewsPathOf(config: Pick<PivotConfig, 'store' | 'projections'>): string {
  if (config.projections?.path) return config.projections.path;
  if (config.store.kind === 'memory') return ':memory:';
  if (config.store.kind === 'sqlite') {
    const slash = config.store.path.lastIndexOf('/');
    return `${slash < 0 ? '.' : config.store.path.slice(0, slash)}/views.db`;
  }
  return './data/views.db';
}

/** Where the SIP trace lives: `trace.path`, else `sip-trace.db` next to the read models. */
export function tracePathOf(config: Pick<PivotConfig, 'store' | 'projections' | 'trace'>): string {
  if (config.trace.path) return config.trace.path;
  const views = viewsPathOf(config);
  if (views === ':memory:') return ':memory:';
  const slash = views.lastIndexOf('/');
  return `${slash < 0 ? '.' : views.slice(0, slash)}/sip-trace.db`;
}
