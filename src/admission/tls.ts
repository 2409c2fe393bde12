import { existsSync, mkdirSync, readFileSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

export interface TlsMaterial {
  cert: string;
  key: string;
  ca?: string | undefined;
}

export const TLS_FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;

function years(count: number): Date {
  const date = new Date();
  date.setFullYear(date.getFullYear() + count);
  return date;
}

/**
 * Writes a CA and a serving certificate signed by it into `dir` unless a serving pair is already there
 * (a mounted Secret, cert-manager, or an earlier start). SHA-256 and explicit SANs: selfsigned defaults to SHA-1.
 */
export async function ensureCertificates(dir: string, dnsNames: string[], options: { caDir?: string } = {}): Promise<{ generated: boolean }> {
  const certPath = join(dir, TLS_FILES.cert);
  const keyPath = join(dir, TLS_FILES.key);
  if (existsSync(certPath) && existsSync(keyPath)) return { generated: false };
  mkdirSync(dir, { recursive: true });
  // Loaded only when generating: most starts find the files (a mounted Secret) and skip its ~100 ms import.
  const selfsigned = await import('selfsigned');
  // Bundled by esbuild, a CommonJS module behind a dynamic import exposes its exports only as `default`.
  const generate = selfsigned.generate ?? (selfsigned as unknown as { default: typeof selfsigned }).default.generate;
  // Signing with an existing CA (`caDir`) rotates the serving pair without touching any caBundle.
  const existingCa = options.caDir ? { cert: readFileSync(join(options.caDir, TLS_FILES.caCert), 'utf8'), private: readFileSync(join(options.caDir, TLS_FILES.caKey), 'utf8') } : undefined;
  // A unique CA name: clients that trust an old and a new CA during a rotation pick the issuer by name.
  const ca = existingCa ?? await generate([{ name: 'commonName', value: `meshgate-webhook-ca-${randomUUID().slice(0, 8)}` }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: years(10),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const names = [...new Set(['localhost', ...dnsNames])];
  const leaf = await generate([{ name: 'commonName', value: dnsNames[0] ?? 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: years(1),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  writeFileSync(join(dir, TLS_FILES.caCert), ca.cert);
  writeFileSync(join(dir, TLS_FILES.caKey), ca.private, { mode: 0o600 });
  // Key first, certificate last: a watcher that reloads on the certificate sees a matching key.
  writeFileSync(keyPath, leaf.private, { mode: 0o600 });
  writeFileSync(certPath, leaf.cert);
  return { generated: true };
}

export function readTlsMaterial(dir: string): TlsMaterial {
  const caPath = join(dir, TLS_FILES.caCert);
  return {
    cert: readFileSync(join(dir, TLS_FILES.cert), 'utf8'),
    key: readFileSync(join(dir, TLS_FILES.key), 'utf8'),
    ca: existsSync(caPath) ? readFileSync(caPath, 'utf8') : undefined,
  };
}

/**
 * Calls `onChange` after the files in `dir` change, debounced: writers (kubelet's Secret update swaps a symlink,
 * `cp` writes in chunks) produce bursts of events, and a half-written pair must not be loaded.
 */
export function watchCertificates(dir: string, onChange: () => void, debounceMs = 200): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  watcher.on('close', () => clearTimeout(timer));
  return watcher;
}
