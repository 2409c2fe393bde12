// Durations as Istio reads them: the protobuf JSON form (`"10s"`, `"0.250s"`), seconds with up to nine fractional
// digits and an `s` suffix; `1m` or `100ms` are not protobuf durations, and Istio's webhook refuses them.

const PROTO_DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_SECONDS = 315_576_000_000n;

/** The duration in nanoseconds, or undefined when the text is not a protobuf duration. */
export function parseProtoDuration(text: string): bigint | undefined {
  const match = PROTO_DURATION.exec(text);
  if (!match) return undefined;
  const seconds = BigInt(match[2]!);
  if (seconds > MAX_SECONDS) return undefined;
  const nanos = BigInt((match[3] ?? '').padEnd(9, '0'));
  const total = seconds * 1_000_000_000n + nanos;
  return match[1] ? -total : total;
}

const MILLISECOND = 1_000_000n;

/** Istio's rule for request-level durations: at least 1ms and a whole number of milliseconds. */
export function checkDuration(text: string): string | undefined {
  const nanos = parseProtoDuration(text);
  if (nanos === undefined) return 'not a protobuf duration: seconds with an "s" suffix, e.g. "1.5s"';
  if (nanos < MILLISECOND) return 'duration must be at least 1ms';
  if (nanos % MILLISECOND !== 0n) return 'only durations to ms precision are supported';
  return undefined;
}

/** CORS maxAge is sent in whole seconds. */
export function hasSubSecondPart(text: string): boolean {
  const nanos = parseProtoDuration(text);
  return nanos !== undefined && nanos % 1_000_000_000n !== 0n;
}
