// Starts the three external stand-ins in their namespaces, with TLS material from the webhook's own generator
// (one CA per site; curl trusts the concatenated bundle).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates, TLS_FILES } from '../../../src/admission/tls.ts';
import { startNode, type Running } from './processes.ts';
import type { Topology } from './topology.ts';

const STAND_IN = 'test/netns/harness/stand-in.ts';

export interface Sites {
  caBundle: string;
  running: Running[];
  stop(): Promise<void>;
}

export async function startSites(topology: Topology): Promise<Sites> {
  const dir = mkdtempSync(join(tmpdir(), 'mg-pki-'));
  chmodSync(dir, 0o755);
  const running: Running[] = [];
  const sites: Sites = {
    caBundle: join(dir, 'ca-bundle.crt'),
    running,
    stop: async () => {
      await Promise.all(running.map((r) => r.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const cas: string[] = [];
    const tls = [topology.servers.google, topology.servers.cnn];
    for (const server of tls) {
      await ensureCertificates(join(dir, server.name), [server.name]);
      cas.push(readFileSync(join(dir, server.name, TLS_FILES.caCert), 'utf8'));
    }
    writeFileSync(sites.caBundle, cas.map((pem) => `${pem.trim()}\n`).join(''), { mode: 0o644 });
    const starts = [
      startNode(topology.servers.httpbin.ns, undefined, [STAND_IN, '--http'], /^ready/),
      ...tls.map((server) => startNode(server.ns, undefined, [
        STAND_IN, '--tls', server.name, join(dir, server.name, TLS_FILES.cert), join(dir, server.name, TLS_FILES.key),
      ], /^ready/)),
    ];
    const settled = await Promise.allSettled(starts);
    for (const s of settled) if (s.status === 'fulfilled') running.push(s.value);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (error) {
    await sites.stop();
    throw error;
  }
  return sites;
}
