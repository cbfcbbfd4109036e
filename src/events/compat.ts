/**
 * What makes a new version of an event type necessary: a change to its data that events already
 * stored would not satisfy, or that a reader of today's shape would misread. Adding an optional field
 * is not such a change (stored events simply lack it); removing a field, making one required that was
 * not, or changing a field's type is.
 */
import type { EventSchemaDocument, JsonSchema } from './generate.ts';

function isObjectSchema(schema: unknown): schema is JsonSchema & { properties: Record<string, unknown> } {
  return (
    typeof schema === 'object' && schema !== null && typeof (schema as JsonSchema).properties === 'object'
  );
}

function compare(before: unknown, after: unknown, path: string, out: string[]): void {
  if (isObjectSchema(before) && isObjectSchema(after)) {
    const requiredBefore = new Set((before.required as string[] | undefined) ?? []);
    const requiredAfter = new Set((after.required as string[] | undefined) ?? []);
    for (const name of Object.keys(before.properties)) {
      if (!(name in after.properties)) out.push(`${path}${name} was removed`);
    }
    for (const [name, schema] of Object.entries(after.properties)) {
      if (!(name in before.properties)) {
        if (requiredAfter.has(name)) out.push(`${path}${name} is new and required`);
        continue;
      }
      if (requiredAfter.has(name) && !requiredBefore.has(name)) out.push(`${path}${name} became required`);
      compare(before.properties[name], schema, `${path}${name}.`, out);
    }
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push(`${path.replace(/\.$/, '')} changed type`);
}

/** The changes between two catalogues that need a version bump, per event type whose version stayed. */
export function unversionedChanges(before: EventSchemaDocument, after: EventSchemaDocument): string[] {
  const problems: string[] = [];
  for (const [type, entry] of Object.entries(after.events)) {
    const old = before.events[type];
    if (!old || old.version !== entry.version) continue;
    const changes: string[] = [];
    compare(inlineRefs(old.data, before.$defs), inlineRefs(entry.data, after.$defs), '', changes);
    for (const change of changes) problems.push(`${type} v${entry.version}: ${change}`);
  }
  for (const type of Object.keys(before.events)) {
    if (!(type in after.events))
      problems.push(`${type}: the event type was removed, yet stored events have it`);
  }
  return problems;
}

/** An event's data schema with every `$ref` replaced by its definition, for comparing two versions. */
export function inlineRefs(schema: unknown, defs: Record<string, JsonSchema>, seen: string[] = []): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inlineRefs(s, defs, seen));
  if (typeof schema !== 'object' || schema === null) return schema;
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/$defs/')) {
    const name = ref.slice('#/$defs/'.length);
    if (seen.includes(name)) return { $ref: ref };
    return inlineRefs(defs[name], defs, [...seen, name]);
  }
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== 'description')
      .map(([key, value]) => [key, inlineRefs(value, defs, seen)]),
  );
}
