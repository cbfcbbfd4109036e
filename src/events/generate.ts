/**
 * Generates the event catalogue's JSON Schema from the TypeScript event types (machines/events.ts,
 * src/trunks/events.ts, src/apikeys/events.ts) with the TypeScript compiler API: one schema per event
 * type for its stored `data`, named interfaces shared under `$defs`, doc comments as descriptions.
 * Run by `npm run events:schema` (scripts/events-schema.ts) and by the catalogue test; the service
 * serves the committed result (src/events/schema.json), never the compiler.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { catalogue } from './catalogue.ts';

export type JsonSchema = { [keyword: string]: unknown };

export interface EventEntry {
  version: number;
  /** The stream it is stored in. */
  stream: string;
  description?: string;
  data: JsonSchema;
}

export interface EventSchemaDocument {
  $schema: string;
  title: string;
  description: string;
  events: Record<string, EventEntry>;
  $defs: Record<string, JsonSchema>;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where each union of events is declared, and the stream its events live in. */
const SOURCES = [
  { file: 'machines/events.ts', union: 'SessionEvent', stream: 'call-<CallSid of the root call>' },
  { file: 'src/trunks/events.ts', union: 'TrunkEvent', stream: 'trunk-<TrunkSid>' },
  { file: 'src/apikeys/events.ts', union: 'ApiKeyEvent', stream: 'apikey-<KeySid>' },
];

export function generateEventSchema(root = ROOT): EventSchemaDocument {
  const files = SOURCES.map((s) => join(root, s.file));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const defs: Record<string, JsonSchema> = {};
  const events: Record<string, EventEntry> = {};

  const describe = (symbol: ts.Symbol): string | undefined => {
    const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
    return text === '' ? undefined : text.replace(/\s+/g, ' ');
  };

  const isOurInterface = (type: ts.Type): boolean => {
    const symbol = type.getSymbol();
    if (!symbol || !(symbol.flags & ts.SymbolFlags.Interface)) return false;
    if ((type as ts.TypeReference).typeArguments?.length) return false;
    return (symbol.declarations ?? []).every((d) => !d.getSourceFile().fileName.includes('node_modules'));
  };

  function objectSchema(type: ts.Type, omit: ReadonlySet<string> = new Set()): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const property of checker.getPropertiesOfType(type)) {
      const name = property.getName();
      if (omit.has(name)) continue;
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      const propertyType = declaration
        ? checker.getTypeOfSymbolAtLocation(property, declaration)
        : checker.getDeclaredTypeOfSymbol(property);
      const schema = toSchema(propertyType);
      const description = describe(property);
      properties[name] = description ? { description, ...schema } : schema;
      if (!(property.flags & ts.SymbolFlags.Optional)) required.push(name);
    }
    const schema: JsonSchema = { type: 'object', properties };
    if (required.length > 0) schema.required = required;
    const index = type.getStringIndexType();
    if (index) schema.additionalProperties = toSchema(index);
    return schema;
  }

  function toSchema(type: ts.Type): JsonSchema {
    const flags = type.flags;
    if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
    if (flags & ts.TypeFlags.StringLiteral) return { const: (type as ts.StringLiteralType).value };
    if (flags & ts.TypeFlags.NumberLiteral) return { const: (type as ts.NumberLiteralType).value };
    if (flags & ts.TypeFlags.BooleanLiteral) return { const: checker.typeToString(type) === 'true' };
    if (flags & ts.TypeFlags.String || flags & ts.TypeFlags.TemplateLiteral) return { type: 'string' };
    if (flags & ts.TypeFlags.Number) return { type: 'number' };
    if (flags & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (flags & ts.TypeFlags.Null) return { type: 'null' };
    if (type.isUnion()) {
      const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
      const booleans = members.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
      const others = booleans.length === 2 ? members.filter((t) => !booleans.includes(t)) : members;
      const schemas = others.map(toSchema);
      if (booleans.length === 2) schemas.push({ type: 'boolean' });
      if (schemas.length === 1) return schemas[0]!;
      if (schemas.every((s) => 'const' in s && typeof s.const === 'string')) {
        return { type: 'string', enum: schemas.map((s) => s.const) };
      }
      return { anyOf: schemas };
    }
    if (checker.isArrayType(type)) {
      const [item] = checker.getTypeArguments(type as ts.TypeReference);
      return { type: 'array', items: item ? toSchema(item) : {} };
    }
    if (checker.isTupleType(type)) {
      const items = checker.getTypeArguments(type as ts.TypeReference).map(toSchema);
      return { type: 'array', prefixItems: items, minItems: items.length, maxItems: items.length };
    }
    if (flags & ts.TypeFlags.Object || type.isIntersection()) {
      if (isOurInterface(type)) {
        const name = type.getSymbol()!.getName();
        if (!(name in defs)) {
          defs[name] = {}; // a placeholder first, for interfaces that refer to themselves
          const schema = objectSchema(type);
          const description = describe(type.getSymbol()!);
          defs[name] = description ? { description, ...schema } : schema;
        }
        return { $ref: `#/$defs/${name}` };
      }
      return objectSchema(type);
    }
    throw new Error(`event schema: no JSON Schema for the type ${checker.typeToString(type)}`);
  }

  for (const source of SOURCES) {
    const file = program.getSourceFile(join(root, source.file));
    if (!file) throw new Error(`event schema: cannot read ${source.file}`);
    const symbol = checker.getSymbolAtLocation(file);
    const alias = symbol && checker.getExportsOfModule(symbol).find((s) => s.getName() === source.union);
    if (!alias) throw new Error(`event schema: ${source.file} exports no ${source.union}`);
    const union = checker.getDeclaredTypeOfSymbol(alias);
    const members = union.isUnion() ? union.types : [union];
    for (const member of members) {
      const typeProperty = member.getProperty('type');
      if (!typeProperty) throw new Error(`event schema: ${checker.typeToString(member)} has no type`);
      const typeOfType = checker.getTypeOfSymbol(typeProperty);
      const names = (typeOfType.isUnion() ? typeOfType.types : [typeOfType]).map(
        (t) => (t as ts.StringLiteralType).value,
      );
      const data = objectSchema(member, new Set(['type']));
      const description = member.getSymbol() && describe(member.getSymbol()!);
      for (const name of names) {
        events[name] = {
          version: catalogue.currentVersionOf(name),
          stream: source.stream,
          ...(description ? { description } : {}),
          data,
        };
      }
    }
  }

  const sortedEvents = Object.fromEntries(Object.entries(events).sort(([a], [b]) => a.localeCompare(b)));
  const sortedDefs = Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b)));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'sip-pivot event catalogue',
    description:
      'Every event type the pivot stores: its version and the JSON Schema of its data (the event minus its type). ' +
      'Generated from the TypeScript types by `npm run events:schema`; projections and feeds see events in this shape.',
    events: sortedEvents,
    $defs: sortedDefs,
  };
}
