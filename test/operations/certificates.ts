// Certificates for TLS tests, made with the openssl CLI: a CA, a server certificate for 127.0.0.1, and
// client certificates by subject CN (signed by the CA, or self-signed when `rogue`).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** Paths of a client's certificate and key. */
  client(cn: string, options?: { rogue?: boolean }): { cert: string; key: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function makeCertificates(): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-tls-'));
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
      '/CN=Test CA',
    ],
    dir,
  );
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const signed = (name: string, cn: string, ext?: string) => {
    openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`],
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
        ...(ext ? ['-extfile', ext] : []),
      ],
      dir,
    );
  };
  signed('server', 'localhost', 'server.ext');
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    client(cn, options = {}) {
      const name = `client-${cn.replace(/[^A-Za-z0-9]/g, '_')}${options.rogue ? '-rogue' : ''}`;
      if (options.rogue) {
        openssl(
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            `${name}.key`,
            '-out',
            `${name}.pem`,
            '-days',
            '2',
            '-subj',
            `/CN=${cn}`,
          ],
          dir,
        );
      } else {
        signed(name, cn);
      }
      return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
    },
  };
}
