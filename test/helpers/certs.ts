import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  /** CA certificate that signed both others. */
  ca: string;
  /** Server certificate for 127.0.0.1 (subjectAltName IP) and its key. */
  serverCert: string;
  serverKey: string;
  /** Client certificate (CN=mqtt-conform-client) and its key. */
  clientCert: string;
  clientKey: string;
}

export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`
 * (world-readable: mosquitto started as root reads them as its own user).
 */
export function makeCerts(dir: string): TestCerts {
  const p = (name: string): string => join(dir, name);
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  const key = (name: string): void => run(['genrsa', '-out', p(name), '2048']);
  key('ca.key');
  run([
    'req',
    '-x509',
    '-new',
    '-key',
    p('ca.key'),
    '-days',
    '1',
    '-subj',
    '/CN=mqtt-conform test CA',
    '-out',
    p('ca.pem'),
  ]);
  const leaf = (name: string, cn: string, ext: string): void => {
    key(`${name}.key`);
    run(['req', '-new', '-key', p(`${name}.key`), '-subj', `/CN=${cn}`, '-out', p(`${name}.csr`)]);
    writeFileSync(p(`${name}.ext`), ext);
    run([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      p(`${name}.ext`),
      '-out',
      p(`${name}.pem`),
    ]);
  };
  leaf('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'mqtt-conform-client', 'extendedKeyUsage=clientAuth\n');
  chmodSync(dir, 0o755);
  for (const f of ['ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key']) chmodSync(p(f), 0o644);
  return {
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
  };
}
