import { asText } from './access.ts';
import { at, type Collector } from './field-errors.ts';
import { isDns1123Label } from './names.ts';

/**
 * exportTo entries: `.` (this namespace), `*` (everyone), a namespace name, and for ServiceEntries `~` (no one).
 * No duplicates (`.` and the object's own namespace are the same), `*` and `~` stand alone.
 */
export function checkExportTo(entries: unknown[], namespace: string, isServiceEntry: boolean, path: string, out: Collector): void {
  if (entries.length === 0) return;
  const seen = new Set<string>();
  entries.forEach((raw, i) => {
    const entry = asText(raw);
    const key = entry === '.' ? namespace : entry;
    if (seen.has(key)) {
      out.error(at(path, i), key !== entry ? `duplicate entries in exportTo: . and current namespace ${namespace}` : 'duplicate entry in exportTo', entry);
      return;
    }
    if (entry === '~' && !isServiceEntry) out.error(at(path, i), 'exportTo ~ (none) is only allowed for ServiceEntries');
    else if (entry !== '.' && entry !== '*' && entry !== '~' && !isDns1123Label(entry)) {
      out.error(at(path, i), 'only ., *, ~ or a valid namespace name is allowed as an exportTo entry', entry);
    } else seen.add(key);
  });
  if (seen.has('*') && entries.length > 1) out.error(path, 'cannot have both public (*) and non-public exportTo values');
  if (seen.has('~') && entries.length > 1) out.error(path, 'cannot export a service entry to no one (~) and someone');
}
