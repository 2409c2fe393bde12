// Durations as Istio reads them: the protobuf JSON form (`"10s"`, `"0.250s"`), seconds with up to nine fractional
// digits and an `s` suffix; `1m` or `100ms` are not protobuf durations, and Istio's webhook refuses them.

const PROTO_DURATION = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;
const MAX_SECONDS = 315_576_000_000;

export interface ProtoDuration {
  negative: boolean;
  seconds: number;
  nanos: number;
}

/** The parts of a protobuf duration, or undefined when the text is not one. Plain numbers: this runs per route. */
export function parseProtoDuration(text: string): ProtoDuration | undefined {
  const match = PROTO_DURATION.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[2]);
  if (seconds > MAX_SECONDS) return undefined;
  const nanos = match[3] ? Number(match[3].padEnd(9, '0')) : 0;
  return { negative: match[1] === '-' && (seconds > 0 || nanos > 0), seconds, nanos };
}

/** Istio's rule for request-level durations: at least 1ms and a whole number of milliseconds. */
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
