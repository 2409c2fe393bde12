import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { meshConfigMap, startHarness, startUpstream, waitFor } from './proxy-harness.ts';

test('inbound connections are passed to the original destination from 127.0.0.6 and logged', async () => {
  const up = await startUpstream();
  const h = await startHarness([meshConfigMap('REGISTRY_ONLY')], { inboundPort: 0 });
  h.target = { address: '127.0.0.1', port: up.port, family: 4 };
  try {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(h.proxy.inboundPort!, '127.0.0.1');
      let text = '';
      socket.on('data', (c) => { text += c; });
      socket.on('close', () => resolve(text));
      socket.write('GET /headers HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.1 200 /);
    await waitFor(() => h.accessLog.some((l) => l.includes('InboundPassthroughCluster') && l.includes(' 127.0.0.6:')));
  } finally {
    await h.close();
    up.server.close();
  }
});
