export type PortListCheck = { ok: true; ports: number[]; all: boolean } | { ok: false; bad: string };

/** A comma-separated port list as Istio's traffic annotations carry it: "", "*" (when allowed) or 1..65535. */
export function checkPortList(value: string, allowWildcard: boolean): PortListCheck {
  const trimmed = value.trim();
  if (trimmed === '') return { ok: true, ports: [], all: false };
  if (trimmed === '*') return allowWildcard ? { ok: true, ports: [], all: true } : { ok: false, bad: '*' };
  const ports: number[] = [];
  for (const raw of trimmed.split(',')) {
    const item = raw.trim();
    const port = /^\d{1,5}$/.test(item) ? Number(item) : NaN;
    if (!(port >= 1 && port <= 65535)) return { ok: false, bad: item };
    ports.push(port);
  }
  return { ok: true, ports, all: false };
}
