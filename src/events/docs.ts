/** Renders the event catalogue (src/events/schema.json) as docs/events.md. */
import type { EventSchemaDocument, JsonSchema } from './generate.ts';

/** A one-line type for a field: `string`, `'a' \| 'b'`, `LegDialog[]`, ... */
function typeOf(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.slice('#/$defs/'.length);
    return `[${name}](#${name.toLowerCase()})`;
  }
  if ('const' in schema) return `\`${JSON.stringify(schema.const)}\``;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(' \\| ');
  if (schema.type === 'array') {
    if (Array.isArray(schema.prefixItems))
      return `[${(schema.prefixItems as JsonSchema[]).map(typeOf).join(', ')}]`;
    return `${typeOf(schema.items as JsonSchema)}[]`;
  }
  if (schema.type === 'object') {
    const properties = Object.keys((schema.properties as object | undefined) ?? {});
    if (properties.length === 0 && schema.additionalProperties)
      return `map of ${typeOf(schema.additionalProperties as JsonSchema)}`;
    return `object (${properties.join(', ')})`;
  }
  return typeof schema.type === 'string' ? schema.type : 'any';
}

function fields(schema: JsonSchema): string[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties).map(
    ([name, field]) =>
      `| \`${name}\`${required.has(name) ? '' : '?'} | ${typeOf(field)} | ${String(field.description ?? '').replace(/\|/g, '\\|')} |`,
  );
  return rows.length === 0 ? ['(no fields)'] : ['| field | type | |', '| --- | --- | --- |', ...rows];
}

export function renderEventsMarkdown(document: EventSchemaDocument): string {
  const lines = [
    '# Event catalogue',
    '',
    'Every event the pivot stores, with its version and the fields of its `data` (the event minus its',
    '`type`; `?` marks an optional field). Generated from the TypeScript types by `npm run events:schema`;',
    'the same as JSON Schema is `src/events/schema.json`, served at `GET /v1/Events/Schema`. Versions and',
    'upcasters live in `src/events/catalogue.ts`; projections (docs/projections.md) and the event feeds see',
    'every event in the shape below, whatever version it was stored with.',
    '',
    '| event | version | stream |',
    '| --- | --- | --- |',
    ...Object.entries(document.events).map(
      ([type, entry]) => `| [${type}](#${type.toLowerCase()}) | ${entry.version} | \`${entry.stream}\` |`,
    ),
    '',
  ];
  for (const [type, entry] of Object.entries(document.events)) {
    lines.push(`## ${type}`, '', `Version ${entry.version}, stream \`${entry.stream}\`.`);
    if (entry.description) lines.push('', entry.description);
    lines.push('', ...fields(entry.data), '');
  }
  lines.push('# Shared types', '');
  for (const [name, schema] of Object.entries(document.$defs)) {
    lines.push(`## ${name}`, '');
    if (typeof schema.description === 'string') lines.push(schema.description, '');
    lines.push(...fields(schema), '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
