// The environment the chart gives the webhook container (values.yaml `webhook.nodeOptions`, `webhook.ldPreload` and
// `webhook.mallocConf`),
// for running the bundle on this host as it runs in the image. The preloaded library is found by its file name in
// this host's multiarch directory, where scripts/install-system-deps.sh installs it (the image links it elsewhere).
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'yaml';

/** `{ NODE_OPTIONS?, LD_PRELOAD?, MALLOC_CONF? }`; MEM_NODE_OPTIONS / MEM_LD_PRELOAD / MEM_MALLOC_CONF override the chart's values ('' drops one). */
export function chartWebhookEnv(valuesPath = 'charts/meshgate/values.yaml') {
  const webhook = parse(readFileSync(valuesPath, 'utf8'))?.webhook ?? {};
  const env = {};
  const nodeOptions = process.env.MEM_NODE_OPTIONS ?? webhook.nodeOptions;
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  const preload = process.env.MEM_LD_PRELOAD ?? webhook.ldPreload;
  if (preload) {
    const onHost = [preload, ...['x86_64', 'aarch64'].map((arch) => `/usr/lib/${arch}-linux-gnu/${basename(preload)}`)].find((path) => existsSync(path));
    if (!onHost) throw new Error(`${preload} (webhook.ldPreload) is not on this host: run scripts/install-system-deps.sh`);
    env.LD_PRELOAD = onHost;
  }
  const mallocConf = process.env.MEM_MALLOC_CONF ?? webhook.mallocConf;
  if (mallocConf) env.MALLOC_CONF = mallocConf;
  return env;
}
