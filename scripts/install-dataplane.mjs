// `npm install` / `npm ci` hook: builds the Rust data plane (dataplane/, `cargo build --release`), which `meshgate
// proxy` runs, when cargo is present. Without cargo it is skipped with a note (the webhook, the CLI and the control
// plane need no Rust); with cargo, a failed build fails the install.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const found = spawnSync('bash', [join(root, 'scripts', 'find-cargo.sh')], { encoding: 'utf8' });
const cargo = found.status === 0 ? found.stdout.trim() : '';
if (process.env.MESHGATE_SKIP_DATAPLANE === '1') {
  console.log('meshgate: MESHGATE_SKIP_DATAPLANE=1, not building dataplane/');
} else if (cargo === '') {
  console.log('meshgate: cargo not found; the Rust data plane (dataplane/, meshgate-proxy) is not built and `meshgate proxy` cannot run. See README, Development.');
} else {
  run(cargo, ['build', '--release', '--locked'], join(root, 'dataplane'));
}
