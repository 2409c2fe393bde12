// Validation findings as data: every error and warning carries the path of the field it is about, so a denial can
// list all of them at once (`spec.http[0].timeout: duration must be at least 1ms ("0.5ms")`).

export interface FieldIssue {
  path: string;
  message: string;
  /** The offending value, shown in parentheses; absent when the message says it all. */
  value?: unknown;
}

export interface Findings {
  errors: FieldIssue[];
  warnings: FieldIssue[];
}

/** Collects issues for one object. A small mutable bag on purpose: rules append, the caller reads once. */
export class Collector implements Findings {
  readonly errors: FieldIssue[] = [];
  readonly warnings: FieldIssue[] = [];

  error(path: string, message: string, value?: unknown): void {
    this.errors.push(value === undefined ? { path, message } : { path, message, value });
  }

  warn(path: string, message: string, value?: unknown): void {
    this.warnings.push(value === undefined ? { path, message } : { path, message, value });
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `at('spec.http', 0)` → `spec.http[0]`; `at('spec', 'hosts')` → `spec.hosts`; map keys that are not identifiers are quoted. */
export function at(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return isIdentifier(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

const identifiers = new Map<string, boolean>();

/** Memoised: the same few field names are tested thousands of times per large object. */
function isIdentifier(key: string): boolean {
  let known = identifiers.get(key);
  if (known === undefined) {
    known = IDENTIFIER.test(key);
    if (identifiers.size > 4096) identifiers.clear(); // user-chosen map keys must not grow it without bound
    identifiers.set(key, known);
  }
  return known;
}

const MAX_VALUE_CHARS = 120;

/** A bounded, never-throwing rendering of a value for a message: user input can be huge or deeply nested. */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[…]' : typeof value === 'object' ? '{…}' : String(value);
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
}

export function formatIssue(issue: FieldIssue): string {
  return issue.value === undefined ? `${issue.path}: ${issue.message}` : `${issue.path}: ${issue.message} (${showValue(issue.value)})`;
}
