import { asList, asNumber, asObj, asText, has, isRecord } from './access.ts';
import { at, type Collector } from './field-errors.ts';
import { checkDestination, checkDurationField, checkPercentage, checkRegexField } from './http-parts.ts';
import { checkPort } from './names.ts';

// Faults, retries, redirects, rewrites, direct responses and mirrors of one HTTP route.

const GRPC_STATUSES = new Set([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
]);

/** Istio's range check accepts 600 although its message says 200-599; kept identical so both agree. */
function checkHttpStatus(status: number, path: string, out: Collector): void {
  if (status < 200 || status > 600) out.error(path, 'HTTP status is not in range 200-599', status);
}

export function checkFault(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  if (!has(value, 'abort') && !has(value, 'delay')) out.error(path, 'HTTP fault injection must have an abort and/or a delay');
  if (isRecord(value['abort'])) {
    const abort = value['abort'];
    const abortPath = at(path, 'abort');
    checkPercentage(abort['percentage'], at(abortPath, 'percentage'), out);
    if (has(abort, 'grpcStatus')) {
      if (!GRPC_STATUSES.has(asText(abort['grpcStatus']))) out.error(at(abortPath, 'grpcStatus'), 'not a supported gRPC status, e.g. NOT_FOUND', abort['grpcStatus']);
    } else if (has(abort, 'http2Error')) out.error(at(abortPath, 'http2Error'), 'HTTP/2 abort fault injection not supported yet');
    else if (has(abort, 'httpStatus')) checkHttpStatus(asNumber(abort['httpStatus']), at(abortPath, 'httpStatus'), out);
    else out.warn(abortPath, 'abort configured, but error type not set');
  }
  if (isRecord(value['delay'])) {
    const delay = value['delay'];
    const delayPath = at(path, 'delay');
    checkPercentage(delay['percentage'], at(delayPath, 'percentage'), out);
    if (has(delay, 'percent')) {
      const percent = asNumber(delay['percent']);
      if (percent < 0 || percent > 100) out.error(at(delayPath, 'percent'), 'percentage is not in range 0..100', percent);
    }
    checkDurationField(delay, 'fixedDelay', delayPath, out);
    if (has(delay, 'exponentialDelay')) {
      checkDurationField(delay, 'exponentialDelay', delayPath, out);
      out.error(at(delayPath, 'exponentialDelay'), 'exponentialDelay not supported yet');
    }
  }
}

const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

/** The status codes Go's net/http names (Istio accepts a retryOn entry that is one of them). */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424,
  425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

function isRetryOnPolicy(policy: string): boolean {
  if (RETRY_ON.has(policy)) return true;
  return /^[+-]?\d{1,10}$/.test(policy) && KNOWN_STATUS.has(Number(policy));
}

export function checkRetries(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  const attempts = asNumber(value['attempts']);
  if (attempts < 0) out.error(at(path, 'attempts'), 'attempts cannot be negative', attempts);
  const retryOn = asText(value['retryOn']);
  if (attempts === 0 && (has(value, 'perTryTimeout') || retryOn !== '' || has(value, 'retryRemoteLocalities'))) {
    out.error(path, 'http retry policy configured when attempts are set to 0 (disabled)');
  }
  checkDurationField(value, 'perTryTimeout', path, out);
  // The base interval between retries: a duration like any other (at least 1ms, whole milliseconds).
  checkDurationField(value, 'backoff', path, out);
  if (retryOn !== '') {
    // Split without trimming, as Istio does: "5xx, reset" names the policy " reset", which Envoy does not know.
    for (const policy of retryOn.split(',')) {
      if (!isRetryOnPolicy(policy)) out.error(at(path, 'retryOn'), `${JSON.stringify(policy)} is not a valid retryOn policy`, retryOn);
    }
  }
}

/**
 * Istio stops at the first redirect problem; so does this. `port` and `derivePort` are one choice (the schema layer
 * refuses both); `uri` replaces the whole path and `prefixRewrite` only the matched prefix, so they exclude each other.
 */
export function checkRedirect(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  const uri = asText(value['uri']);
  const prefixRewrite = asText(value['prefixRewrite']);
  if (uri === '' && prefixRewrite === '' && asText(value['authority']) === '' && !has(value, 'port') && !has(value, 'derivePort') && asText(value['scheme']) === '') {
    out.error(path, 'redirect must specify URI, prefixRewrite, authority, scheme, or port');
    return;
  }
  if (uri !== '' && prefixRewrite !== '') {
    out.error(path, 'redirect may only contain one of uri or prefixRewrite');
    return;
  }
  const code = asNumber(value['redirectCode']);
  if (code !== 0 && (code < 300 || code > 399)) {
    out.error(at(path, 'redirectCode'), 'not a valid redirect code, must be 3xx', code);
    return;
  }
  const scheme = asText(value['scheme']);
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') {
    out.error(at(path, 'scheme'), 'invalid redirect scheme, must be "http" or "https"', scheme);
    return;
  }
  const port = asNumber(value['port']);
  if (port > 0 && checkPort(port)) out.error(at(path, 'port'), checkPort(port)!, port);
}

export function checkRewrite(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  const uri = asText(value['uri']);
  const regexRewrite = value['uriRegexRewrite'];
  if (uri !== '' && has(value, 'uriRegexRewrite')) {
    out.error(path, 'rewrite may only contain one of uri or uriRegexRewrite');
    return;
  }
  if (uri === '' && !has(value, 'uriRegexRewrite') && asText(value['authority']) === '') {
    out.error(path, 'rewrite must specify at least one of uri, uriRegexRewrite, or authority');
    return;
  }
  if (isRecord(regexRewrite)) {
    const match = asText(regexRewrite['match']);
    if (match === '' || asText(regexRewrite['rewrite']) === '') out.error(at(path, 'uriRegexRewrite'), 'uriRegexRewrite requires both rewrite and match');
    else checkRegexField(match, at(at(path, 'uriRegexRewrite'), 'match'), out);
  }
}

const KB = 1024;
const MB = 1024 * KB;

export function checkDirectResponse(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  const body = asObj(value['body']);
  const size = has(body, 'string') ? Buffer.byteLength(asText(body['string'])) : has(body, 'bytes') ? Buffer.from(asText(body['bytes']), 'base64').length : 0;
  if (size > MB) out.error(at(path, 'body'), 'large direct responses may impact control plane performance, must be less than 1MB');
  else if (size > 100 * KB) out.warn(at(path, 'body'), 'large direct responses may impact control plane performance');
  checkHttpStatus(asNumber(value['status']), at(path, 'status'), out);
}

export function checkMirrors(value: unknown, path: string, out: Collector): void {
  asList(value).forEach((mirror, i) => {
    const mirrorPath = at(path, i);
    if (!isRecord(mirror)) {
      out.error(mirrorPath, 'mirror cannot be null');
      return;
    }
    if (!has(mirror, 'destination')) {
      out.error(at(mirrorPath, 'destination'), 'destination is required for mirrors');
      return;
    }
    checkDestination(mirror['destination'], at(mirrorPath, 'destination'), out);
    if (isRecord(mirror['percentage'])) {
      const v = asNumber(mirror['percentage']['value']);
      if (v > 100 || v < 0) out.error(at(at(mirrorPath, 'percentage'), 'value'), 'mirror percentage must be within 0..100', v);
    }
  });
}
