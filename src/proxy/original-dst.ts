// The destination a redirected connection was headed for, read from the kernel (SO_ORIGINAL_DST /
// IP6T_SO_ORIGINAL_DST) through the small N-API addon in native/. Node has no getsockopt of its own.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

export interface OriginalDestination {
  address: string;
  port: number;
  family: 4 | 6;
}

interface Addon {
  originalDst(fd: number): [number, string, number] | undefined;
}

const ADDON = 'original_dst.node';

/**
 * Where the addon may be, most specific first: next to the bundle (the image copies it to dist/build/Release),
 * then the package root's native/build (npm install builds it there; tsx runs from src/proxy).
 * MESHGATE_ADDON overrides for unusual layouts.
 */
export function addonCandidates(moduleDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [
    join(moduleDir, 'build', 'Release', ADDON),
    join(moduleDir, '..', 'native', 'build', 'Release', ADDON),
    join(moduleDir, '..', '..', 'native', 'build', 'Release', ADDON),
  ];
  return env.MESHGATE_ADDON ? [env.MESHGATE_ADDON, ...candidates] : candidates;
}

let loaded: Addon | null | undefined;

/** Loads the addon once; null (remembered) when it is missing or fails to load, so callers never pay twice. */
function addon(): Addon | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const here = dirname(fileURLToPath(import.meta.url));
  const require = createRequire(import.meta.url);
  for (const path of addonCandidates(here)) {
    if (!existsSync(path)) continue;
    try {
      loaded = require(path) as Addon;
      break;
    } catch {
      // A broken or foreign-architecture build: try the next place, then give up quietly.
    }
  }
  return loaded;
}

/** True when the addon loaded: the proxy reports it at start, since without it nothing can be redirected. */
export function originalDestinationAvailable(): boolean {
  return addon() !== null;
}

/**
 * The original destination of a connection accepted on the redirect port, or undefined when it was not
 * redirected (the kernel answers ENOENT), the socket has no fd, or the addon is missing. Never throws.
 */
export function originalDestination(socket: Socket): OriginalDestination | undefined {
  const native = addon();
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (!native || typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const answer = native.originalDst(fd);
    if (!answer) return undefined;
    const [family, address, port] = answer;
    return { family: family === 6 ? 6 : 4, address, port };
  } catch {
    return undefined;
  }
}
