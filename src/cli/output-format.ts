import { Option } from 'commander';
import { stringify } from 'yaml';

// `-o text|json|yaml`, istioctl's habit, on every command that prints findings or objects. Commander's choices
// refuse any other value (exit 2 through the program's error mapping) before the command runs.

export const OUTPUT_FORMATS = ['text', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text');
}

/** The machine-readable formats; text is each command's own. */
export function writeStructured(value: unknown, format: Exclude<OutputFormat, 'text'>): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 }));
}
