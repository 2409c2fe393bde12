import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, MAX_LOGGED_STRING } from '../../../src/observability/logger.ts';
import { createAdmissionHandler } from '../../../src/admission/handler.ts';
import { defaultValues } from '../../../src/inject/values.ts';
import { review, samplePod } from '../../helpers/pods.ts';

// Issue 15, defect 7: a 7 MiB uid produced a 7.3 MB log line. Every logged string is capped and marked.

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { lines, stream };
}

test('a review with a 7 MiB uid is logged in a line of a few KB, the uid marked truncated', () => {
  const { lines, stream } = capture();
  const logger = createLogger('webhook', 'info', stream);
  const handle = createAdmissionHandler({ values: defaultValues, clusterRanges: () => undefined, logger });
  const uid = 'u'.repeat(7 * 1024 * 1024);
  const body = review(samplePod(), { uid, namespace: 'n'.repeat(100_000) });
  handle('/inject', body);
  assert.equal(lines.length, 1);
  const line = lines[0] as string;
  assert.ok(line.length < 4096, `log line of ${line.length} bytes`);
  const entry = JSON.parse(line) as { uid: string; namespace: string };
  assert.equal(entry.uid, `${'u'.repeat(MAX_LOGGED_STRING)}…[truncated, ${uid.length} chars]`);
  assert.match(entry.namespace, /…\[truncated, 100000 chars\]$/);
});

test('messages, nested fields, errors and long lists are capped too', () => {
  const { lines, stream } = capture();
  const logger = createLogger('t', 'info', stream);
  const error = new Error('e'.repeat(10_000));
  logger.error({ err: error, deep: { a: { b: { c: { d: { e: 'x' } } } } }, list: Array.from({ length: 1000 }, (_, i) => i) }, 'm'.repeat(5000));
  const line = lines[0] as string;
  assert.ok(line.length < 4096, `log line of ${line.length} bytes`);
  const entry = JSON.parse(line) as { msg: string; err: { message: string }; list: unknown[] };
  assert.match(entry.msg, /truncated, 5000 chars/);
  assert.match(entry.err.message, /truncated, 10000 chars/);
  assert.equal(entry.list.length, 33);
});
