import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ensureCertificates } from '../../src/admission/tls.ts';
import { startTestWebhook } from '../helpers/webhook.ts';

function get(url: string, agent: Agent, ca: string[]): Promise<{ status: number; fingerprint: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, { agent, ca }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

test('a rotated certificate is served without a restart, and open connections survive', async () => {
  const hook = await startTestWebhook();
  try {
    const other = mkdtempSync(join(tmpdir(), 'meshgate-rotated-'));
    await ensureCertificates(other, []);
    const cas = [hook.ca, readFileSync(join(other, 'ca.crt'), 'utf8')];
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(hook.url, keepAlive, cas);
    assert.equal(first.status, 200);

    copyFileSync(join(other, 'tls.key'), join(hook.certDir, 'tls.key'));
    copyFileSync(join(other, 'tls.crt'), join(hook.certDir, 'tls.crt'));

    const rotated = await until(async () => {
      const fresh = await get(hook.url, new Agent({ keepAlive: false }), cas);
      return fresh.fingerprint !== first.fingerprint;
    }, 5000);
    assert.ok(rotated, 'a new handshake presents the new certificate');

    const onOldConnection = await get(hook.url, keepAlive, cas);
    assert.equal(onOldConnection.status, 200);
    assert.equal(onOldConnection.reused, true, 'the kept-alive connection was not dropped');
    assert.equal(onOldConnection.fingerprint, first.fingerprint);
    keepAlive.destroy();
  } finally {
    await hook.webhook.close();
  }
});

test('a broken certificate file keeps the previous pair in service', async () => {
  const hook = await startTestWebhook();
  try {
    // A fresh agent per request: a resumed TLS session does not show the peer certificate.
    const before = await get(hook.url, new Agent(), [hook.ca]);
    writeFileSync(join(hook.certDir, 'tls.crt'), 'not a certificate');
    await new Promise((r) => setTimeout(r, 600));
    const afterBreak = await get(hook.url, new Agent(), [hook.ca]);
    assert.equal(afterBreak.status, 200);
    assert.equal(afterBreak.fingerprint, before.fingerprint);
  } finally {
    await hook.webhook.close();
  }
});
