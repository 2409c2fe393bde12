// Decides a connection's protocol from its first bytes. Pure: the listener feeds the bytes read so far and acts
// on the answer ('need-more' until a decision is possible; the sniff timeout turns silence into TCP).

export type SniffResult = 'http' | 'tls' | 'tcp' | 'need-more';

/** Enough to see any request-line method and the space after it. */
const METHOD_WINDOW = 24;

export function classify(data: Buffer): SniffResult {
  if (data.length === 0) return 'need-more';
  if (data[0] === 0x16) return 'tls';
  const n = Math.min(data.length, METHOD_WINDOW);
  for (let i = 0; i < n; i += 1) {
    const c = data[i]!;
    if (c === 0x20) return i > 0 && !isHttp2Preface(data) ? 'http' : 'tcp';
    if (c < 0x41 || c > 0x5a) return c === 0x2d || c === 0x5f ? (i > 0 ? continueToken(data, i) : 'tcp') : 'tcp';
  }
  return data.length >= METHOD_WINDOW ? 'tcp' : 'need-more';
}

/** HTTP methods are tokens; '-' and '_' are allowed (e.g. VERSION-CONTROL), so keep scanning past them. */
function continueToken(data: Buffer, from: number): SniffResult {
  const n = Math.min(data.length, METHOD_WINDOW);
  for (let i = from; i < n; i += 1) {
    const c = data[i]!;
    if (c === 0x20) return 'http';
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return 'tcp';
  }
  return data.length >= METHOD_WINDOW ? 'tcp' : 'need-more';
}

/** HTTP/2 with prior knowledge ("PRI * HTTP/2.0") is not HTTP/1.1: it is passed on as TCP. */
function isHttp2Preface(data: Buffer): boolean {
  return data.length >= 4 && data.toString('latin1', 0, 4) === 'PRI ';
}
