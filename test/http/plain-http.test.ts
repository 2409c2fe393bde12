import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { startWebhook } from '../../src/admission/server.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { review, samplePod } from '../helpers/pods.ts';

test('--plain-http (behind Knative) serves the same reviews over HTTP and writes no certificates', async () => {
  const certDir = join(mkdtempSync(join(tmpdir(), 'meshgate-plain-')), 'certs');
  const webhook = await startWebhook({ port: 0, host: '127.0.0.1', certDir, dnsNames: [], plainHttp: true, logger: silentLogger() });
  try {
    const res = await request(`http://127.0.0.1:${webhook.port}`).post('/inject').set('content-type', 'application/json').send(JSON.stringify(review(samplePod())));
    assert.equal(res.status, 200);
    assert.equal(res.body.response.patchType, 'JSONPatch');
    assert.equal((await request(`http://127.0.0.1:${webhook.port}`).get('/readyz')).status, 200);
    assert.equal(existsSync(certDir), false);
  } finally {
    await webhook.close();
  }
});
