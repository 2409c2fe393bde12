import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sidecarWiring, wireContainer, DEFAULT_CONTROL_ADDRESS } from '../../../src/control/sidecar-wiring.ts';

test('the projected token (audience meshgate, 1 h), its read-only mount and the env naming the control plane', () => {
  const w = sidecarWiring({ global: { meshgate: { controlAddress: 'https://meshgate-control.mesh.svc:15012', controlCaBundle: 'LS0t' } } });
  assert.deepEqual(w.volume, { name: 'meshgate-token', projected: { sources: [{ serviceAccountToken: { audience: 'meshgate', expirationSeconds: 3600, path: 'token' } }] } });
  assert.deepEqual(w.volumeMount, { name: 'meshgate-token', mountPath: '/var/run/secrets/meshgate', readOnly: true });
  assert.deepEqual(w.env, [
    { name: 'MESHGATE_CONTROL_ADDRESS', value: 'https://meshgate-control.mesh.svc:15012' },
    { name: 'MESHGATE_CONTROL_TOKEN_FILE', value: '/var/run/secrets/meshgate/token' },
    { name: 'MESHGATE_CONTROL_CA', value: 'LS0t' },
  ]);
  assert.equal(sidecarWiring({}).env[0]?.value, DEFAULT_CONTROL_ADDRESS);
});

test('an address that is not https://HOST[:PORT] is refused with the value path', () => {
  for (const bad of ['http://x:15012', 'meshgate-control:15012', 42, 'https://x/path']) {
    assert.throws(() => sidecarWiring({ global: { meshgate: { controlAddress: bad } } }), /global\.meshgate\.controlAddress must be an https/);
  }
});

test('wiring a container twice leaves one mount and one of each env variable', () => {
  const w = sidecarWiring({});
  const once = wireContainer({ name: 'istio-proxy', env: [{ name: 'POD_NAME', value: 'x' }] }, w);
  const twice = wireContainer(once, w);
  assert.deepEqual(twice, once);
  assert.equal((twice['env'] as unknown[]).length, 3);
});
