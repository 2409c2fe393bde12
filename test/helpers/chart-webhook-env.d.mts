/** See chart-webhook-env.mjs: the chart's webhook environment, mapped to this host. */
export function chartWebhookEnv(valuesPath?: string): { NODE_OPTIONS?: string; LD_PRELOAD?: string; MALLOC_CONF?: string };
