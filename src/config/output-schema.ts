/**
 * DeepFabric 4.13's custom records (`generation.output_schema`, `output.format: custom`): the model
 * answers one JSON object per example in the user's JSON schema, and that object is the record, as
 * it is (no system message, no topic id: DeepFabric adds neither). The schema is checked when the
 * config is read; each answer is validated against it (zod's JSON-schema reader), and an answer that
 * does not match is retried with the error in the prompt, as every other record type.
 */
import { z } from 'zod';
import { ConfigurationError } from '../errors';

type Schema = Record<string, unknown>;

const validators = new Map<string, z.ZodType>();

/** The zod validator of a user schema (built once per schema per process). */
export function validatorOf(schema: Schema): z.ZodType {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    v = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    validators.set(key, v);
  }
  return v;
}

/** Problems of a user's output schema, named by `field`: it must describe a JSON object with properties. */
export function outputSchemaProblems(schema: unknown, field = 'generation.output_schema'): string[] {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return [`${field}: expected a JSON schema (a mapping), got ${JSON.stringify(schema)}`];
  const s = schema as Schema;
  if (s.type !== 'object' || !s.properties || typeof s.properties !== 'object')
    return [`${field}: must describe a JSON object (type: object, with properties); each record is one such object`];
  try {
    validatorOf(s);
  } catch (err) {
    return [`${field}: not a JSON schema this tool can check answers against (${(err as Error).message})`];
  }
  return [];
}

/** Throws a ConfigurationError listing the schema's problems. */
export function checkOutputSchema(schema: unknown, field?: string): void {
  const problems = outputSchemaProblems(schema, field);
  if (problems.length) throw new ConfigurationError(problems.join('; '), problems);
}

/** One answered example as a record: the object itself, when it matches the schema (else a ZodError, fed back to the model). */
export function toCustomRecord(schema: Schema, raw: unknown): Record<string, unknown> {
  return validatorOf(schema).parse(raw) as Record<string, unknown>;
}
