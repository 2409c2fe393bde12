// Durations, the one parser for the whole project: validation (webhook, `meshgate validate`) and the routing
// compiler (file mode, the cluster's objects) read them here.
//
// Istio's API types them as protobuf Duration, whose JSON/YAML form is seconds with up to nine fractional digits
// and an `s` suffix ("10s", "0.250s", "-1.5s"): that strict form is what Istio's webhook accepts, so validation
// accepts only it. File mode (`meshgate proxy --config-dir`) also reads one Go-style unit ("250ms", "1m", "1h",
// "100us", "10ns"), as it always has: a file never passes the webhook, and refusing what earlier releases read would
// silently drop routes. The README says so.

/** A number with an optional fraction and one unit. Bounded digit counts: linear, and no float surprises. */
const DURATION = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?(h|m|s|ms|us|µs|ns)$/;
/** protobuf's limit: ±10,000 years. */
const MAX_SECONDS = 315_576_000_000;
const MS_PER_UNIT: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

export interface ProtoDuration {
  negative: boolean;
  seconds: number;
  nanos: number;
}

/** The parts of a protobuf duration (`s` suffix only), or undefined when the text is not one. Runs per route. */
export function parseProtoDuration(text: string): ProtoDuration | undefined {
  const match = DURATION.exec(text);
  if (!match || match[4] !== 's') return undefined;
  const seconds = Number(match[2]);
  if (seconds > MAX_SECONDS) return undefined;
  const nanos = match[3] ? Number(match[3].padEnd(9, '0')) : 0;
  return { negative: match[1] === '-' && (seconds > 0 || nanos > 0), seconds, nanos };
}

/**
 * File mode: milliseconds for a non-negative protobuf duration or a single Go unit; undefined for anything else,
 * so a typo is a skipped object, never a zero timeout.
 */
export function parseDurationMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = DURATION.exec(text.trim());
  if (!match || match[1] === '-') return undefined;
  const value = Number(match[3] ? `${match[2]}.${match[3]}` : match[2]);
  const ms = value * MS_PER_UNIT[match[4]!]!;
  return ms <= MAX_SECONDS * 1000 ? ms : undefined;
}

/** Istio's rule for request-level durations (timeouts, retries, delays): at least 1ms and a whole number of ms. */
export function checkDuration(text: string): string | undefined {
  const d = parseProtoDuration(text);
  if (!d) return 'not a protobuf duration: seconds with an "s" suffix, e.g. "1.5s"';
  if (d.negative || (d.seconds === 0 && d.nanos < 1_000_000)) return 'duration must be at least 1ms';
  if (d.nanos % 1_000_000 !== 0) return 'only durations to ms precision are supported';
  return undefined;
}

/** CORS maxAge is sent in whole seconds. */
export function hasSubSecondPart(text: string): boolean {
  const d = parseProtoDuration(text);
  return d !== undefined && d.nanos !== 0;
}
