import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Composer, Parser, stringify } from 'yaml';

export interface SourceFile {
  name: string;
  text: string;
}

export interface ParsedDocument {
  file: string;
  /** 1-based position of the document in its file. */
  index: number;
  line: number;
  value: unknown;
}

export interface ParseProblem {
  file: string;
  index: number;
  line: number;
  message: string;
}

export class InputError extends Error {}

/** `-` is stdin; a directory is every .yaml, .yml and .json file in it, in name order. */
export function readSources(path: string): SourceFile[] {
  if (path === '-') return [{ name: '<stdin>', text: readFileSync(0, 'utf8') }];
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new InputError(`${path}: no such file or directory`);
  }
  if (!stats.isDirectory()) return [{ name: path, text: readFileSync(path, 'utf8') }];
  return readdirSync(path)
    .filter((entry) => /\.(ya?ml|json)$/i.test(entry))
    .sort()
    .map((entry) => ({ name: join(path, entry), text: readFileSync(join(path, entry), 'utf8') }));
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

/**
 * Multi-document YAML read as kubectl reads it (YAML 1.1: unquoted `yes` is a boolean there too). Empty documents
 * are dropped; each broken document is reported with its file, position and line, and the rest still parse.
 */
export function parseDocuments(source: SourceFile): { documents: ParsedDocument[]; problems: ParseProblem[] } {
  const documents: ParsedDocument[] = [];
  const problems: ParseProblem[] = [];
  // What parseAllDocuments does, one document at a time: each document's syntax tree is garbage once converted,
  // instead of all of them living until the end (200 manifests in one file grew the proxy's heap by ~25 MB for good).
  let i = 0;
  for (const doc of new Composer({ version: '1.1', prettyErrors: false }).compose(new Parser().parse(source.text))) {
    i += 1;
    const line = lineOf(source.text, doc.range[0]);
    if (doc.errors.length > 0) {
      const error = doc.errors[0]!;
      problems.push({ file: source.name, index: i, line: lineOf(source.text, error.pos[0]), message: error.message.split('\n')[0] ?? 'YAML error' });
      continue;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    documents.push({ file: source.name, index: i, line, value });
  }
  return { documents, problems };
}

/** Every document of every source under `path` (a file, a directory or `-`), with the problems of broken ones. */
export function loadDocuments(path: string): { documents: ParsedDocument[]; problems: ParseProblem[] } {
  const documents: ParsedDocument[] = [];
  const problems: ParseProblem[] = [];
  for (const source of readSources(path)) {
    const parsed = parseDocuments(source);
    documents.push(...parsed.documents);
    problems.push(...parsed.problems);
  }
  return { documents, problems };
}

/** `file:document: line N: message`, the one way a YAML problem is printed. */
export function formatProblem(problem: ParseProblem): string {
  return `${problem.file}:${problem.index}: line ${problem.line}: ${problem.message}`;
}

/** YAML that kubectl reads back to the same objects: 1.1 quoting keeps "yes", "on" and "0777" strings. */
export function stringifyDocuments(values: unknown[]): string {
  return values.map((value) => stringify(value, { version: '1.1', lineWidth: 0 })).join('---\n');
}
