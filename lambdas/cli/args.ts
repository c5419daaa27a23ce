/**
 * Argument parsing with the Vault CLI's habits: options may be written `-name`, `--name`,
 * `-name=value` or `-name value`, anywhere before `--`; `-` alone is a positional (stdin);
 * everything after `--` is kept apart (the command of `vaultpilot run`).
 */
import { CliUsageError } from './errors.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** Collect every occurrence (`--path a --path b`). */
  readonly multiple?: boolean;
  /** A one-letter alias (`-h`). */
  readonly short?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type OptionValue = string | boolean | readonly string[] | undefined;

export interface ParsedArguments {
  readonly values: Readonly<Record<string, OptionValue>>;
  readonly positionals: readonly string[];
  /** The words after `--`; undefined when there was no `--`. */
  readonly rest: readonly string[] | undefined;
}

const BOOLEAN_TEXT: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false };

function specFor(specs: OptionSpecs, name: string): [string, OptionSpec] | undefined {
  if (Object.hasOwn(specs, name)) {
    const spec = specs[name];
    if (spec !== undefined) return [name, spec];
  }
  for (const [long, spec] of Object.entries(specs)) if (spec.short === name) return [long, spec];
  return undefined;
}

export function parseArguments(argv: readonly string[], specs: OptionSpecs): ParsedArguments {
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  let rest: string[] | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] ?? '';
    if (token === '--') {
      rest = argv.slice(index + 1);
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const body = token.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const name = equals === -1 ? body : body.slice(0, equals);
    const inline = equals === -1 ? undefined : body.slice(equals + 1);
    const found = specFor(specs, name);
    if (found === undefined) throw new CliUsageError(`unknown option ${token.split('=')[0] ?? token}`);
    const [long, spec] = found;
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (inline === undefined) value = true;
      else {
        const parsed = BOOLEAN_TEXT[inline.toLowerCase()];
        if (parsed === undefined) throw new CliUsageError(`-${long} takes true or false, not '${inline}'`);
        value = parsed;
      }
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[index + 1];
      if (next === undefined || next === '--') throw new CliUsageError(`-${long} needs a value`);
      value = next;
      index += 1;
    }
    if (spec.multiple === true) {
      const previous = values[long];
      values[long] = [...(Array.isArray(previous) ? previous : []), String(value)];
    } else {
      values[long] = value;
    }
  }
  return { values, positionals, rest };
}

export function stringValue(values: ParsedArguments['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listValue(values: ParsedArguments['values'], name: string): readonly string[] {
  const value = values[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** A whole number from `min` up, or a usage error naming the option. */
export function integerValue(
  values: ParsedArguments['values'],
  name: string,
  min: number,
): number | undefined {
  const text = stringValue(values, name);
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < min)
    throw new CliUsageError(`-${name} must be a whole number from ${min} up, not '${text}'`);
  return Number(text);
}

/** `1,2,3` as version numbers. */
export function versionList(values: ParsedArguments['values'], name: string): number[] | undefined {
  const texts = listValue(values, name).flatMap((text) => text.split(','));
  if (texts.length === 0) return undefined;
  return texts.map((text) => {
    const trimmed = text.trim();
    if (!/^\d{1,9}$/.test(trimmed) || Number(trimmed) < 1)
      throw new CliUsageError(`-${name} takes version numbers such as 1,2; '${text}' is not one`);
    return Number(trimmed);
  });
}
