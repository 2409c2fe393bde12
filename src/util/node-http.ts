// node:http through require(), not an ES import. Why: when ES modules import a builtin, Node 24 evaluates every
// lazy getter on it to build the namespace, and node:http's getters load Node's bundled undici (WebSocket,
// EventSource): 25–60 ms on every start, measured here. require() leaves the getters alone. Everything that needs
// node:http's values takes them from here; type imports from 'node:http' stay as they are.
import { createRequire } from 'node:module';
import type * as Http from 'node:http';

export const http: typeof Http = createRequire(import.meta.url)('node:http') as typeof Http;
