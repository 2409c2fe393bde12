// `npm run image`'s tarball read back as a registry client would: oci-layout, index → manifest → config and layer,
// every blob's digest and size checked, the root filesystem listed, and (as root) the image's own Node run from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const missing = ['dist/meshgate.mjs', 'dataplane/target/release/meshgate-proxy', '/usr/sbin/xtables-nft-multi', '/usr/sbin/xtables-legacy-multi'].find((path) => !existsSync(path));
const skip = missing ? `${missing} is missing (npm ci builds the bundle and, where cargo is installed, meshgate-proxy; scripts/install-system-deps.sh installs iptables)` : false;

interface Descriptor { mediaType: string; digest: string; size: number; platform?: { architecture: string; os: string }; annotations?: Record<string, string> }

test('npm run image writes an OCI layout whose index, manifest, config and layer agree, and the image runs', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-image-'));
  try {
    const archive = join(dir, 'image.tar');
    const built = spawnSync(process.execPath, ['scripts/image.mjs', '--output', archive, '--tag', 'registry.test/meshgate:e2e'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(built.status, 0, built.stderr);
    const layout = join(dir, 'layout');
    mkdirSync(layout);
    assert.equal(spawnSync('tar', ['-xf', archive, '-C', layout]).status, 0);
    assert.deepEqual(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const blob = (descriptor: Descriptor): Buffer => {
      const data = readFileSync(join(layout, 'blobs', 'sha256', descriptor.digest.replace(/^sha256:/, '')));
      assert.equal(`sha256:${createHash('sha256').update(data).digest('hex')}`, descriptor.digest, `${descriptor.mediaType} digest`);
      assert.equal(data.length, descriptor.size, `${descriptor.mediaType} size`);
      return data;
    };
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    assert.equal(index.manifests.length, 1);
    const [entry] = index.manifests;
    const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'];
    assert.deepEqual({ os: entry!.platform?.os, architecture: entry!.platform?.architecture }, { os: 'linux', architecture: arch });
    assert.equal(entry!.annotations?.['io.containerd.image.name'], 'registry.test/meshgate:e2e');
    const manifest = JSON.parse(blob(entry!).toString()) as { config: Descriptor; layers: Descriptor[] };
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    const config = JSON.parse(blob(manifest.config).toString()) as { architecture: string; os: string; config: { Entrypoint: string[]; Cmd: string[]; User: string; Labels: Record<string, string> }; rootfs: { diff_ids: string[] } };
    assert.deepEqual([config.os, config.architecture], ['linux', arch]);
    assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/node', '/app/dist/meshgate.mjs']);
    assert.deepEqual(config.config.Cmd, ['webhook']);
    assert.equal(config.config.User, '65532:65532');
    assert.equal(config.config.Labels['org.opencontainers.image.version'], JSON.parse(readFileSync('package.json', 'utf8')).version);
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const layer = blob(manifest.layers[0]!);
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs);
    assert.equal(spawnSync('tar', ['-xzf', '-', '-C', rootfs], { input: layer }).status, 0);
    // diff_id is the digest of the uncompressed layer.
    const unzipped = spawnSync('gzip', ['-dc'], { input: layer, maxBuffer: 1 << 30 }).stdout;
    assert.equal(`sha256:${createHash('sha256').update(unzipped).digest('hex')}`, config.rootfs.diff_ids[0]);
    for (const path of ['usr/local/bin/node', 'app/dist/meshgate.mjs', 'usr/local/bin/meshgate-proxy', 'usr/sbin/iptables-nft-restore', 'usr/sbin/iptables-legacy-save', 'etc/passwd']) {
      assert.ok(existsSync(join(rootfs, path)), `${path} is in the image`);
    }
    assert.ok(!existsSync(join(rootfs, 'app/native')), 'no N-API addon: the data plane reads SO_ORIGINAL_DST itself');
    const docker = JSON.parse(readFileSync(join(layout, 'manifest.json'), 'utf8')) as Array<{ RepoTags: string[]; Config: string }>;
    assert.deepEqual(docker[0]?.RepoTags, ['registry.test/meshgate:e2e']);
    assert.equal(docker[0]?.Config, `blobs/sha256/${manifest.config.digest.slice(7)}`);
    if (process.getuid?.() !== 0) return; // chroot needs root; the layout checks above still ran
    // The image's own Node, libraries and bundle, as the image's user: nothing from the host's root filesystem.
    const version = spawnSync('chroot', ['--userspec=65532:65532', rootfs, ...config.config.Entrypoint, 'version', '-o', 'json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(version.status, 0, version.stderr);
    assert.equal((JSON.parse(version.stdout) as { node: string }).node.split('.')[0], 'v24');
    const iptables = spawnSync('chroot', [rootfs, '/usr/sbin/iptables-nft', '--version'], { encoding: 'utf8', timeout: 30_000 });
    assert.match(iptables.stdout, /nf_tables/, iptables.stderr);
    // The data plane's own libraries are in the image: it starts and answers --help (usage, exit 2).
    const dataplane = spawnSync('chroot', ['--userspec=1337:1337', rootfs, '/usr/local/bin/meshgate-proxy', '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(dataplane.status, 2, dataplane.stderr);
    assert.match(dataplane.stderr, /^usage: meshgate-proxy \(--snapshot FILE \| --control-address /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
