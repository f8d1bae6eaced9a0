import { isMap, isScalar, isSeq, type LineCounter, type Node as YamlNode } from 'yaml';

/**
 * A small schema language evaluated directly on the YAML syntax tree, so that every error can name the
 * file, line and column of the offending node. Validation and conversion to plain values happen in one pass.
 */
export type Schema =
  | { t: 'string' }
  | { t: 'number'; int?: boolean; min?: number; max?: number }
  | { t: 'boolean' }
  | { t: 'enum'; values: readonly (string | number)[] }
  /** A string of hex digits (spaces allowed) converted to a Buffer. */
  | { t: 'hex' }
  /** A UTF-8 string, or `{ hex: "..." }`, converted to a Buffer. */
  | { t: 'bytes' }
  | { t: 'object'; props: Record<string, Prop>; describe?: string }
  /** A map with free keys, each value checked against `values`. */
  | { t: 'record'; values: Schema; keys?: RegExp; describe?: string }
  | { t: 'array'; items: Schema; minItems?: number }
  /** Tries each alternative; the first whose `accepts` test passes on the node is used. */
  | { t: 'union'; of: Array<{ when: (node: unknown) => boolean; schema: Schema }>; describe: string }
  /** Any scalar or structure, converted as is (used for values checked later). */
  | { t: 'any' };

export interface Prop {
  schema: Schema;
  required?: boolean;
}

export interface SchemaIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

export class SchemaContext {
  readonly issues: SchemaIssue[] = [];
  constructor(
    readonly file: string,
    readonly lineCounter: LineCounter,
  ) {}

  pos(node: unknown): { line: number; col: number } {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return { line: 1, col: 1 };
    return this.lineCounter.linePos(range[0]);
  }

  error(node: unknown, message: string): void {
    const { line, col } = this.pos(node);
    this.issues.push({ file: this.file, line, col, message });
  }
}

/** "found ..." text for an error message. */
export function describeNode(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    if (typeof v === 'number') return `number ${v}`;
    if (typeof v === 'boolean') return `boolean ${v}`;
    return String(v);
  }
  return 'an unsupported YAML node';
}

export function describeSchema(s: Schema): string {
  switch (s.t) {
    case 'string':
      return 'a string';
    case 'number': {
      const kind = s.int ? 'an integer' : 'a number';
      if (s.min !== undefined && s.max !== undefined) return `${kind} from ${s.min} to ${s.max}`;
      if (s.min !== undefined) return `${kind} >= ${s.min}`;
      return kind;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${s.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'hex':
      return 'a string of hex bytes';
    case 'bytes':
      return 'a string or { hex: "..." }';
    case 'object':
      return s.describe ?? `a map with keys ${Object.keys(s.props).join(', ')}`;
    case 'record':
      return s.describe ?? 'a map';
    case 'array':
      return `a list of ${describeSchema(s.items)}`;
    case 'union':
      return s.describe;
    case 'any':
      return 'a value';
  }
}

const HEX_RE = /^[0-9a-fA-F\s]*$/;

export function parseHex(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!HEX_RE.test(text) || compact.length % 2 !== 0) return undefined;
  return Buffer.from(compact, 'hex');
}

/**
 * Validates `node` against `schema` and returns the plain value, or `undefined` after recording issues.
 * `where` prefixes messages (e.g. `steps[2].expect`).
 */
export function check(ctx: SchemaContext, node: unknown, schema: Schema, where: string): unknown {
  const fail = (): undefined => {
    ctx.error(node, `${where}: expected ${describeSchema(schema)}, found ${describeNode(node)}`);
    return undefined;
  };
  switch (schema.t) {
    case 'any':
      return toPlain(node);
    case 'string': {
      if (!isScalar(node) || typeof node.value !== 'string') {
        // Numbers written where a string is wanted (payload: 42) are accepted as their source text.
        if (isScalar(node) && typeof node.value === 'number') return String(node.source ?? node.value);
        return fail();
      }
      return node.value;
    }
    case 'number': {
      if (!isScalar(node) || typeof node.value !== 'number' || Number.isNaN(node.value)) return fail();
      const v = node.value;
      if (schema.int && !Number.isInteger(v)) return fail();
      if (schema.min !== undefined && v < schema.min) return fail();
      if (schema.max !== undefined && v > schema.max) return fail();
      return v;
    }
    case 'boolean':
      if (!isScalar(node) || typeof node.value !== 'boolean') return fail();
      return node.value;
    case 'enum': {
      if (!isScalar(node)) return fail();
      const v = node.value;
      const hit = schema.values.find((x) => x === v || String(x) === String(v));
      if (hit === undefined) return fail();
      return hit;
    }
    case 'hex': {
      if (!isScalar(node) || typeof node.value !== 'string') return fail();
      const buf = parseHex(node.value);
      if (!buf) return fail();
      return buf;
    }
    case 'bytes': {
      if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) {
        return Buffer.from(String(node.source ?? node.value), 'utf8');
      }
      if (isMap(node) && node.items.length === 1) {
        const only = node.items[0]!;
        if (isScalar(only.key) && only.key.value === 'hex') {
          return check(ctx, only.value, { t: 'hex' }, `${where}.hex`);
        }
      }
      return fail();
    }
    case 'object': {
      if (!isMap(node)) return fail();
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) {
          ctx.error(pair.key, `${where}: expected a plain key, found ${describeNode(pair.key)}`);
          continue;
        }
        const prop = schema.props[key];
        if (!prop) {
          ctx.error(
            pair.key,
            `${where}: unknown key "${key}"; expected one of ${Object.keys(schema.props).join(', ')}`,
          );
          continue;
        }
        if (seen.has(key)) ctx.error(pair.key, `${where}: duplicate key "${key}"`);
        seen.add(key);
        const value = check(ctx, pair.value, prop.schema, `${where}.${key}`);
        if (value !== undefined) out[key] = value;
      }
      for (const [key, prop] of Object.entries(schema.props)) {
        if (prop.required && !seen.has(key)) ctx.error(node, `${where}: missing required key "${key}"`);
      }
      return out;
    }
    case 'record': {
      if (!isMap(node)) return fail();
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined || (schema.keys && !schema.keys.test(key))) {
          ctx.error(pair.key, `${where}: unexpected key ${describeNode(pair.key)}`);
          continue;
        }
        const value = check(ctx, pair.value, schema.values, `${where}.${key}`);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
    case 'array': {
      if (!isSeq(node)) return fail();
      if (schema.minItems !== undefined && node.items.length < schema.minItems) {
        ctx.error(node, `${where}: expected at least ${schema.minItems} item(s), found ${node.items.length}`);
        return undefined;
      }
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        out.push(check(ctx, item, schema.items, `${where}[${i}]`));
      });
      return out;
    }
    case 'union': {
      for (const alt of schema.of) {
        if (alt.when(node)) return check(ctx, node, alt.schema, where);
      }
      return fail();
    }
  }
}

/** Plain JS value of a YAML node (used by `any`). */
export function toPlain(node: unknown): unknown {
  if (node === null || node === undefined) return undefined;
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map((i) => toPlain(i));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const p of node.items) out[String(isScalar(p.key) ? p.key.value : p.key)] = toPlain(p.value);
    return out;
  }
  return (node as YamlNode).toJSON?.();
}

export const S = {
  string: { t: 'string' } as Schema,
  bool: { t: 'boolean' } as Schema,
  hex: { t: 'hex' } as Schema,
  bytes: { t: 'bytes' } as Schema,
  any: { t: 'any' } as Schema,
  int: (min?: number, max?: number): Schema => ({
    t: 'number',
    int: true,
    ...(min !== undefined ? { min } : {}),
    ...(max !== undefined ? { max } : {}),
  }),
  enum: (...values: (string | number)[]): Schema => ({ t: 'enum', values }),
  array: (items: Schema, minItems?: number): Schema => ({
    t: 'array',
    items,
    ...(minItems !== undefined ? { minItems } : {}),
  }),
  object: (props: Record<string, Schema | Prop>, describe?: string): Schema => ({
    t: 'object',
    props: Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, 't' in v ? { schema: v as Schema } : (v as Prop)]),
    ),
    ...(describe ? { describe } : {}),
  }),
  req: (schema: Schema): Prop => ({ schema, required: true }),
};
