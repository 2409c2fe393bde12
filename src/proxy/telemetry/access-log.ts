// Envoy's default access log format, as Istio configures it (fields in order):
// [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
// %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED%
// %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
// "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS%
// %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%
// A TCP or TLS connection has no request: its request part is "- - -" and its code 0.

export interface AccessRecord {
  startMs: number;
  /** Absent for TCP/TLS connections. */
  request?: { method: string; path: string; protocol: string; xff?: string; userAgent?: string; requestId?: string; authority?: string };
  code: number;
  flags: string;
  details?: string;
  transportFailure?: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamServiceTimeMs?: number;
  upstreamHost?: string;
  cluster: string;
  upstreamLocal?: string;
  downstreamLocal: string;
  downstreamRemote: string;
  sni?: string;
  route?: string;
}

/** Client-controlled text cannot break a line or a quoted field: quotes, backslashes and controls are escaped. */
export function sanitize(text: string | undefined, max = 512): string {
  if (text === undefined || text === '') return '-';
  const cut = text.length > max ? text.slice(0, max) : text;
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f"\\\x7f]/.test(cut) ? cut.replace(/[\x00-\x1f"\\\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : cut;
}

const dash = (value: string | number | undefined): string => (value === undefined || value === '' ? '-' : String(value));

export function formatAccessLog(r: AccessRecord): string {
  const q = r.request;
  const head = q ? `"${sanitize(q.method, 32)} ${sanitize(q.path, 2048)} ${q.protocol}"` : '"- - -"';
  const ust = r.upstreamServiceTimeMs === undefined ? '-' : String(Math.round(r.upstreamServiceTimeMs));
  return `[${new Date(r.startMs).toISOString()}] ${head} ${r.code} ${r.flags || '-'} ${dash(r.details)} - "${sanitize(r.transportFailure)}" ${r.bytesReceived} ${r.bytesSent} ${Math.round(r.durationMs)} ${ust} "${sanitize(q?.xff)}" "${sanitize(q?.userAgent)}" "${sanitize(q?.requestId, 128)}" "${sanitize(q?.authority, 256)}" "${dash(r.upstreamHost)}" ${dash(r.cluster)} ${dash(r.upstreamLocal)} ${r.downstreamLocal} ${r.downstreamRemote} ${sanitize(r.sni, 256)} ${dash(r.route)}\n`;
}
