// Stands in for a Lambda Function URL: turns an HTTP request into a payload-2.0 event, invokes the function through
// the Runtime Interface Emulator's invoke API, and turns the function's result back into the HTTP answer (a function
// error or an unreachable function is a 502, as a Function URL answers). TLS is nginx's job in front of it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';

/** A Function URL refuses requests over 6 MB (Lambda's synchronous invocation payload limit). */
const PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
const INVOKE_TIMEOUT_MS = 15_000;

export interface FunctionUrlFront {
  server: Server;
  /** One line per request (path, status, milliseconds to read, invoke, answer), for a failing test's message. */
  trace(): string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > PAYLOAD_LIMIT_BYTES) { resolveBody(undefined); req.destroy(); return; }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Function URLs send text as text and everything else base64-encoded. */
const isText = (type: string | undefined): boolean => /^(text\/|application\/(.+\+)?(json|xml|javascript)\b)/i.test(type ?? '');

export function eventFromRequest(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const [rawPath = '/', rawQueryString = ''] = (req.url ?? '/').split('?', 2);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const text = isText(headers['content-type']);
  const now = Date.now();
  return {
    version: '2.0', routeKey: '$default', rawPath, rawQueryString, headers,
    requestContext: {
      accountId: 'anonymous', apiId: 'meshgate-test', domainName: headers['host'] ?? '127.0.0.1', domainPrefix: 'meshgate-test',
      http: { method: req.method ?? 'GET', path: rawPath, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(), routeKey: '$default', stage: '$default', time: new Date(now).toUTCString(), timeEpoch: now,
    },
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

export function startFunctionUrlFront(options: { port: number; invokeUrl: string }): FunctionUrlFront {
  const lines: string[] = [];
  // One sandbox handles one invocation at a time (the emulator is one sandbox and fails on overlapping invokes);
  // Lambda would start more sandboxes, here the invocations queue, in order.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  const server = createServer((req, res) => {
    const started = performance.now();
    const marks: string[] = [];
    const mark = (what: string): void => { marks.push(`${what}@${Math.round(performance.now() - started)}ms`); };
    res.once('finish', () => { lines.push(`front: ${req.method} ${req.url} → ${res.statusCode} ${marks.join(' ')} done@${Math.round(performance.now() - started)}ms`); lines.splice(0, lines.length - 50); });
    const fail = (status: number, message: string): void => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Message: message }));
    };
    void (async () => {
      const body = await readBody(req);
      mark('read');
      if (body === undefined) return fail(413, 'Request must be smaller than 6291456 bytes for the InvokeFunction operation');
      let invoked: { ok: boolean; status: number; result: Record<string, unknown> | undefined };
      try {
        const event = JSON.stringify(eventFromRequest(req, body));
        invoked = await serially(async () => {
          const response = await fetch(options.invokeUrl, { method: 'POST', body: event, signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS) });
          const result = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
          return { ok: response.ok, status: response.status, result };
        });
      } catch (error) {
        return fail(502, `function not reachable: ${(error as Error).message}`);
      }
      mark('invoked');
      const { result } = invoked;
      if (!invoked.ok || !result || typeof result['statusCode'] !== 'number' || 'errorType' in result) {
        return fail(502, `function error: ${JSON.stringify(result ?? invoked.status).slice(0, 500)}`);
      }
      const headers = (result['headers'] ?? {}) as Record<string, string>;
      const text = typeof result['body'] === 'string' ? result['body'] : '';
      const payload = result['isBase64Encoded'] === true ? Buffer.from(text, 'base64') : Buffer.from(text);
      res.writeHead(result['statusCode'] as number, { ...headers, 'content-length': payload.length });
      res.end(payload);
    })().catch((error: unknown) => fail(502, (error as Error).message));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.listen(options.port, '127.0.0.1');
  return {
    server,
    trace: () => lines.join('\n'),
    close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
  };
}
