import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { BODY_LIMIT_BYTES } from '../../src/admission/review.ts';
import { startTestWebhook, type TestWebhook } from '../helpers/webhook.ts';

// Issue 15, defect 8: for 8 MiB + 1 byte, 9 of 20 clients got a reset instead of the 413: the socket was destroyed
// while the body was still arriving. The 413 is now written, then the connection closed.

let hook: TestWebhook;
before(async () => { hook = await startTestWebhook(); });
after(async () => { await hook.webhook.close(); });

/** POSTs `size` bytes (declared, or chunked when `declared` is false); resolves with the status or the error code. */
function postBytes(size: number, declared: boolean): Promise<{ status?: number; error?: string; message?: string }> {
  return new Promise((resolve) => {
    const req = request(`${hook.url}/inject`, {
      method: 'POST', ca: hook.ca, agent: false,
      headers: { 'content-type': 'application/json', ...(declared ? { 'content-length': String(size) } : {}) },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(body) as { message: string }).message }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

for (const declared of [true, false]) {
  test(`20 parallel clients sending 8 MiB + 1 byte (${declared ? 'content-length' : 'chunked'}) all get the 413, none a reset`, async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => postBytes(BODY_LIMIT_BYTES + 1, declared)));
    assert.deepEqual(results.map((r) => r.status ?? r.error), Array(20).fill(413));
    assert.match(results[0]?.message ?? '', /body exceeds the 8mb limit/);
  });
}
