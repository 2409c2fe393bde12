// Reads the server name (SNI) from a TLS ClientHello without terminating TLS. Bounded: the handshake message may
// span several records, but never more than MAX_CLIENT_HELLO bytes are considered; anything malformed is 'invalid'.

export const MAX_CLIENT_HELLO = 16 * 1024 + 5;

export type ClientHelloResult =
  | { kind: 'need-more' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'complete'; sni: string | undefined };

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;

/** Joins the handshake fragments of consecutive records; 'need-more' until the ClientHello is whole. */
function handshakeBytes(data: Buffer): Buffer | ClientHelloResult {
  const parts: Buffer[] = [];
  let have = 0;
  let offset = 0;
  let needed = -1;
  while (true) {
    if (offset + 5 > data.length) return data.length >= MAX_CLIENT_HELLO ? { kind: 'invalid', reason: 'ClientHello too large' } : { kind: 'need-more' };
    if (data[offset] !== HANDSHAKE) return { kind: 'invalid', reason: 'not a TLS handshake record' };
    if (data[offset + 1] !== 3) return { kind: 'invalid', reason: 'unknown TLS record version' };
    const length = data.readUInt16BE(offset + 3);
    if (length === 0 || length > 16384) return { kind: 'invalid', reason: 'bad TLS record length' };
    if (offset + 5 + length > data.length) {
      return offset + 5 + length > MAX_CLIENT_HELLO * 2 ? { kind: 'invalid', reason: 'ClientHello too large' } : { kind: 'need-more' };
    }
    parts.push(data.subarray(offset + 5, offset + 5 + length));
    have += length;
    offset += 5 + length;
    if (needed < 0 && have >= 4) {
      const head = Buffer.concat(parts);
      if (head[0] !== CLIENT_HELLO) return { kind: 'invalid', reason: 'first handshake message is not a ClientHello' };
      needed = 4 + head.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO) return { kind: 'invalid', reason: 'ClientHello too large' };
    }
    if (needed >= 0 && have >= needed) return Buffer.concat(parts).subarray(0, needed);
  }
}

/** Parses the ClientHello at the start of `data` (the bytes sniffed so far). */
export function parseClientHello(data: Buffer): ClientHelloResult {
  const hello = handshakeBytes(data);
  if (!Buffer.isBuffer(hello)) return hello;
  const body = hello.subarray(4);
  let p = 2 + 32; // client_version, random
  const need = (n: number): boolean => p + n <= body.length;
  if (!need(1)) return { kind: 'invalid', reason: 'truncated session id' };
  p += 1 + body[p]!;
  if (!need(2)) return { kind: 'invalid', reason: 'truncated cipher suites' };
  p += 2 + body.readUInt16BE(p);
  if (!need(1)) return { kind: 'invalid', reason: 'truncated compression methods' };
  p += 1 + body[p]!;
  if (p === body.length) return { kind: 'complete', sni: undefined }; // no extensions at all
  if (!need(2)) return { kind: 'invalid', reason: 'truncated extensions' };
  const end = p + 2 + body.readUInt16BE(p);
  p += 2;
  if (end > body.length) return { kind: 'invalid', reason: 'extensions overrun the ClientHello' };
  while (p + 4 <= end) {
    const type = body.readUInt16BE(p);
    const length = body.readUInt16BE(p + 2);
    p += 4;
    if (p + length > end) return { kind: 'invalid', reason: 'extension overruns the list' };
    if (type === 0) return serverName(body.subarray(p, p + length));
    p += length;
  }
  return { kind: 'complete', sni: undefined };
}

function serverName(ext: Buffer): ClientHelloResult {
  if (ext.length < 2) return { kind: 'invalid', reason: 'truncated server_name' };
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  let p = 2;
  while (p + 3 <= end) {
    const type = ext[p]!;
    const length = ext.readUInt16BE(p + 1);
    p += 3;
    if (p + length > end) return { kind: 'invalid', reason: 'server name overruns the extension' };
    if (type === 0) {
      const name = ext.toString('latin1', p, p + length);
      // A host name is LDH labels and dots; anything else (NUL, spaces, '/') is a forged name, refused outright.
      if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/.test(name)) return { kind: 'invalid', reason: 'server name is not a host name' };
      return { kind: 'complete', sni: name.toLowerCase().replace(/\.$/, '') };
    }
    p += length;
  }
  return { kind: 'complete', sni: undefined };
}
