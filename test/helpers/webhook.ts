import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebhook, type RunningWebhook, type WebhookOptions } from '../../src/admission/server.ts';
import { silentLogger } from '../../src/observability/logger.ts';

export interface TestWebhook {
  webhook: RunningWebhook;
  url: string;
  ca: string;
  certDir: string;
}

/** A real webhook over HTTPS on a free loopback port, with certificates generated into a fresh folder. */
export async function startTestWebhook(options: Partial<WebhookOptions> = {}): Promise<TestWebhook> {
  const certDir = options.certDir ?? mkdtempSync(join(tmpdir(), 'meshgate-certs-'));
  const webhook = await startWebhook({ port: 0, host: '127.0.0.1', certDir, dnsNames: [], logger: silentLogger(), drainMs: 0, ...options });
  return { webhook, url: `https://localhost:${webhook.port}`, ca: readFileSync(join(certDir, 'ca.crt'), 'utf8'), certDir };
}
