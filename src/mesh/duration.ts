/**
 * Istio durations as its API writes them (protobuf Duration in YAML): "3s", "0.5s", "250ms", "1m", "1h", "100us".
 * Returns milliseconds, or undefined for anything else, so a typo is a skipped object, never a zero timeout.
 */
export function parseDurationMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2];
  const factor = unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : unit === 'ms' ? 1 : unit === 'ns' ? 1e-6 : 1e-3;
  return value * factor;
}
