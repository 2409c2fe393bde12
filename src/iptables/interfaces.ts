// Network interface lists of `meshgate init -c` / `-k` and their annotations. Validation only: no I/O.

/**
 * A Linux interface name as iptables' `-i`/`-o` take it: 1 to 15 characters (IFNAMSIZ less the NUL), no `/`, `:`
 * or whitespace (the kernel refuses those) and nothing else outside `A-Za-z0-9_.@-` (the name is written into
 * iptables-restore input), and a `+` only at the end (iptables' prefix wildcard, `veth+`).
 */
const INTERFACE = /^[A-Za-z0-9_.@-]{1,15}$|^[A-Za-z0-9_.@-]{1,14}\+$/;
/** Bounds the rules one list can produce. */
export const MAX_INTERFACES = 32;

export type InterfaceCheck = { ok: true; interfaces: string[] } | { ok: false; bad: string };

/** Comma-separated interface names, as istio-iptables reads them; empty means none. Duplicates are kept once. */
export function checkInterfaceList(text: string): InterfaceCheck {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, interfaces: [] };
  const items = trimmed.split(',').map((item) => item.trim());
  if (items.length > MAX_INTERFACES) return { ok: false, bad: `${items.length} interfaces (at most ${MAX_INTERFACES})` };
  for (const item of items) if (!INTERFACE.test(item)) return { ok: false, bad: item };
  return { ok: true, interfaces: [...new Set(items)] };
}
