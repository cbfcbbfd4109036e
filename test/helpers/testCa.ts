/**
 * A certificate authority made at test time with openssl, and certificates it signs for IP addresses
 * (subjectAltName IP entries, as RFC 5922 verification of an address needs). Files in a temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCa {
  dir: string;
  /** The CA's certificate (PEM file): what peers verify against. */
  ca: string;
  /**
   * A certificate and key for these IP addresses, signed by the CA (subject CN = `name`); `bundle` holds
   * both in one PEM file, as baresip's `sip_certificate` reads them.
   */
  issue(name: string, addresses: string[]): { certificate: string; key: string; bundle: string };
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestCa(): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'pivot-ca-'));
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=sip-pivot test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    issue(name, addresses) {
      const ext = path.join(dir, `${name}.ext`);
      writeFileSync(
        ext,
        `subjectAltName=${addresses.map((a) => `IP:${a}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`,
      );
      openssl(
        [
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
          '-subj',
          `/CN=${name}`,
        ],
        dir,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          `${name}.pem`,
          '-days',
          '2',
          '-extfile',
          ext,
        ],
        dir,
      );
      const certificate = path.join(dir, `${name}.pem`);
      const key = path.join(dir, `${name}.key`);
      const bundle = path.join(dir, `${name}.bundle.pem`);
      writeFileSync(bundle, readFileSync(certificate, 'utf8') + readFileSync(key, 'utf8'));
      return { certificate, key, bundle };
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
