/**
 * Generated secrets: length, character classes (each one present at least once), excluded
 * characters, and per-field generators for values with several fields. Characters are drawn
 * with `crypto.randomInt` (uniform, no modulo bias) and the result is shuffled with it.
 */
import { randomInt } from 'node:crypto';
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import type { SecretData } from '../secrets/kv-service.js';

export const CHARACTER_CLASSES = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  symbols: '!#$%&()*+,-./:;<=>?@[]^_{|}~',
} as const;
export type CharacterClass = keyof typeof CHARACTER_CLASSES;
const CLASS_NAMES = Object.keys(CHARACTER_CLASSES) as [CharacterClass, ...CharacterClass[]];

const FieldName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'expected a field name of 1-128 of A-Z a-z 0-9 _ . -');

export const FieldGeneratorSchema = z.strictObject({
  length: z.number().int().min(8, 'a generated value has at least 8 characters').max(1024).default(32),
  classes: z
    .array(z.enum(CLASS_NAMES))
    .min(1)
    .max(CLASS_NAMES.length)
    .default([...CLASS_NAMES]),
  /** Characters never used (e.g. ones that need quoting in a connection string). */
  exclude: z.string().max(256).default(''),
});
export type FieldGenerator = z.output<typeof FieldGeneratorSchema>;

/**
 * A generator: one field (`field`, with the top-level settings), or several (`fields`, each with
 * its own settings). Fields of the current value that no generator names are kept as they are.
 */
export const GeneratorSchema = z
  .strictObject({
    length: z.number().int().min(8).max(1024).optional(),
    classes: z.array(z.enum(CLASS_NAMES)).min(1).max(CLASS_NAMES.length).optional(),
    exclude: z.string().max(256).optional(),
    field: FieldName.optional(),
    fields: z
      .record(FieldName, FieldGeneratorSchema)
      .refine(
        (fields) => Object.keys(fields).length >= 1 && Object.keys(fields).length <= 32,
        'expected 1 to 32 fields',
      )
      .optional(),
  })
  .refine((generator) => generator.fields === undefined || generator.field === undefined, {
    message: 'use either field (one generated field) or fields (per-field generators), not both',
  });
export type GeneratorInput = z.input<typeof GeneratorSchema>;

export interface GeneratorSpec {
  readonly fields: Readonly<Record<string, FieldGenerator>>;
}

/** Validates a generator; `defaults` fill what the single-field form leaves out. */
export function parseGenerator(
  input: unknown,
  defaults: { readonly field: string; readonly generator?: Partial<FieldGenerator> },
): GeneratorSpec {
  const result = GeneratorSchema.safeParse(input ?? {});
  if (!result.success) throw invalidGenerator(result.error.issues.map(issueOf));
  const raw = result.data;
  const fields: Record<string, FieldGenerator> = raw.fields ?? {
    [raw.field ?? defaults.field]: FieldGeneratorSchema.parse({
      ...defaults.generator,
      ...(raw.length === undefined ? {} : { length: raw.length }),
      ...(raw.classes === undefined ? {} : { classes: raw.classes }),
      ...(raw.exclude === undefined ? {} : { exclude: raw.exclude }),
    }),
  };
  const issues = Object.entries(fields).flatMap(([name, generator]) => generatorProblems(name, generator));
  if (issues.length > 0) throw invalidGenerator(issues);
  return { fields };
}

function generatorProblems(
  name: string,
  generator: FieldGenerator,
): { path: string; code: string; message: string }[] {
  const classes = [...new Set(generator.classes)];
  const problems = classes
    .filter((name) => alphabet(name, generator.exclude).length === 0)
    .map((cls) => ({
      path: `fields.${name}.classes`,
      code: 'empty_class',
      message: `every ${cls} character is excluded`,
    }));
  if (classes.length > generator.length) {
    problems.push({
      path: `fields.${name}.length`,
      code: 'too_short',
      message: 'the length must allow one character of every class',
    });
  }
  return problems;
}

function alphabet(cls: CharacterClass, exclude: string): string {
  return [...CHARACTER_CLASSES[cls]].filter((character) => !exclude.includes(character)).join('');
}

/** One generated value for `generator`: every class present, uniformly drawn, shuffled. */
export function generateValue(generator: FieldGenerator): string {
  const classes = [...new Set(generator.classes)].map((cls) => alphabet(cls, generator.exclude));
  const all = classes.join('');
  const characters = classes.map((set) => set[randomInt(set.length)] as string);
  while (characters.length < generator.length) characters.push(all[randomInt(all.length)] as string);
  for (let index = characters.length - 1; index > 0; index -= 1) {
    const other = randomInt(index + 1);
    [characters[index], characters[other]] = [characters[other] as string, characters[index] as string];
  }
  return characters.join('');
}

/** The next value: `current` with every generated field replaced. */
export function generateSecret(spec: GeneratorSpec, current: SecretData): Record<string, string> {
  const next: Record<string, string> = { ...current };
  for (const [field, generator] of Object.entries(spec.fields)) next[field] = generateValue(generator);
  return next;
}

/** Whether `value` could have come from `generator` (length, alphabet, classes present). */
export function matchesGenerator(value: string, generator: FieldGenerator): boolean {
  const classes = [...new Set(generator.classes)].map((cls) => alphabet(cls, generator.exclude));
  const all = classes.join('');
  return (
    value.length === generator.length &&
    [...value].every((character) => all.includes(character)) &&
    classes.every((set) => [...value].some((character) => set.includes(character)))
  );
}

function issueOf(issue: z.core.$ZodIssue): { path: string; code: string; message: string } {
  return { path: issue.path.map(String).join('.'), code: issue.code, message: issue.message };
}

function invalidGenerator(
  issues: readonly { path: string; code: string; message: string }[],
): ValidationError {
  return new ValidationError(
    `Invalid generator: ${issues.map((issue) => `${issue.path || '(generator)'} ${issue.message}`).join('; ')}`,
    {
      details: {
        issues: issues.map((issue) => ({
          ...issue,
          path: `generator${issue.path === '' ? '' : `.${issue.path}`}`,
        })),
      },
    },
  );
}
