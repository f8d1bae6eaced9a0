import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { ScenarioLoadError } from './errors.js';
import {
  ALL_PROTOCOLS,
  type CaseLevel,
  type ProtocolName,
  type ScenarioCase,
  type ScenarioFile,
  type SourcePos,
  type Step,
} from './model.js';
import { check, describeNode, S, type Schema, SchemaContext, type SchemaIssue } from './schema.js';
import { findStatement } from './statements/index.js';
import { STEP_DEFINITIONS, STEP_KINDS } from './steps/index.js';

const SECTION_RE = /^\d+(\.\d+)*$/;
const SLUG_RE = /^[a-z0-9][a-z0-9-]*$/;
const STATEMENT_RE = /^MQTT-\d+(\.\d+)*-\d+$/;

const protocolSchema = S.enum('3.1.1', '5.0', '5');
const protocolsSchema = S.array(protocolSchema, 1);

export function normaliseProtocol(v: unknown): ProtocolName {
  return String(v) === '3.1.1' ? '3.1.1' : '5.0';
}

const statementsSchema: Schema = {
  t: 'union',
  describe: 'a list of statement ids, or a map { "3.1.1": [ids], "5.0": [ids] }',
  of: [
    { when: (n) => isSeq(n), schema: S.array(S.string) },
    {
      when: (n) => isMap(n),
      schema: { t: 'record', keys: /^(3\.1\.1|5\.0|5)$/, values: S.array(S.string), describe: 'a map' },
    },
  ],
};

const caseSchema = S.object({
  id: S.req(S.string),
  title: S.req(S.string),
  description: S.string,
  statements: S.req(statementsSchema),
  level: S.enum('must', 'should', 'info', 'may'),
  protocols: protocolsSchema,
  timeout: S.int(100, 600_000),
  timing: {
    t: 'union',
    describe: 'true or "silent"',
    of: [
      { when: (n) => isScalar(n) && typeof n.value === 'string', schema: S.enum('silent') },
      { when: () => true, schema: { t: 'boolean' } },
    ],
  },
  transport: S.enum('websocket'),
  cluster: { t: 'boolean' },
  steps: S.req(S.array(S.any, 1)),
});

const fileSchema = S.object({
  section: S.req(S.string),
  title: S.req(S.string),
  protocols: protocolsSchema,
  cases: S.req(S.array(S.any, 1)),
});

/** Parses and validates one scenario file. Throws ScenarioLoadError listing every issue found. */
export function loadScenarioFile(file: string, text?: string, displayName?: string): ScenarioFile {
  const issues: SchemaIssue[] = [];
  const result = parseScenarioFile(file, text ?? readFileSync(file, 'utf8'), displayName ?? file, issues);
  if (issues.length > 0 || !result) throw new ScenarioLoadError(issues);
  return result;
}

function parseScenarioFile(
  file: string,
  text: string,
  name: string,
  issues: SchemaIssue[],
): ScenarioFile | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  for (const err of doc.errors) {
    const lp = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
    issues.push({
      file: name,
      line: lp.line,
      col: lp.col,
      message: `YAML syntax: ${firstLine(err.message)}`,
    });
  }
  if (doc.errors.length > 0) return undefined;
  const ctx = new SchemaContext(name, lineCounter);
  const root = doc.contents;
  const top = check(ctx, root, fileSchema, 'file') as Record<string, unknown> | undefined;
  if (!top || !isMap(root)) {
    issues.push(...ctx.issues);
    return undefined;
  }
  const section = top.section as string | undefined;
  if (section !== undefined && !SECTION_RE.test(section)) {
    ctx.error(root.get('section', true), `section: expected a spec section like "3.3.1", found "${section}"`);
  }
  const fileProtocols = (top.protocols as unknown[] | undefined)?.map(normaliseProtocol) ?? [
    ...ALL_PROTOCOLS,
  ];
  const casesNode = root.get('cases', true);
  const cases: ScenarioCase[] = [];
  const seen = new Set<string>();
  if (isSeq(casesNode)) {
    casesNode.items.forEach((node, i) => {
      const c = parseCase(ctx, node, `cases[${i}]`, section ?? '?', fileProtocols, name);
      if (!c) return;
      if (seen.has(c.id)) ctx.error(node, `cases[${i}]: duplicate case id "${c.id}"`);
      seen.add(c.id);
      cases.push(c);
    });
  }
  issues.push(...ctx.issues);
  if (ctx.issues.length > 0) return undefined;
  return { file, section: section!, title: top.title as string, cases };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function posOf(ctx: SchemaContext, node: unknown): SourcePos {
  const { line, col } = ctx.pos(node);
  return { file: ctx.file, line, col };
}

function parseCase(
  ctx: SchemaContext,
  node: unknown,
  where: string,
  section: string,
  fileProtocols: ProtocolName[],
  _name: string,
): ScenarioCase | undefined {
  const before = ctx.issues.length;
  const v = check(ctx, node, caseSchema, where) as Record<string, unknown> | undefined;
  if (!v || !isMap(node)) return undefined;
  const slug = v.id as string | undefined;
  if (slug !== undefined && !SLUG_RE.test(slug)) {
    ctx.error(
      node.get('id', true),
      `${where}.id: expected a kebab-case slug like "retain-replaces-stored", found "${slug}"`,
    );
  }
  const protocols = (v.protocols as unknown[] | undefined)?.map(normaliseProtocol) ?? fileProtocols;
  const statements = parseStatements(ctx, node.get('statements', true), v.statements, protocols, where);
  const levelRaw = (v.level as string | undefined) ?? 'must';
  const level: CaseLevel = levelRaw === 'may' ? 'info' : (levelRaw as CaseLevel);
  const steps: Step[] = [];
  const stepsNode = node.get('steps', true);
  if (isSeq(stepsNode)) {
    stepsNode.items.forEach((stepNode, i) => {
      const step = parseStep(ctx, stepNode, `${where}.steps[${i}]`);
      if (step) steps.push(step);
    });
  }
  if (ctx.issues.length > before) return undefined;
  const c: ScenarioCase = {
    id: `${section}/${slug}`,
    section,
    title: v.title as string,
    statements,
    level,
    protocols,
    steps,
    pos: posOf(ctx, node),
  };
  if (v.description) c.description = v.description as string;
  if (v.timeout) c.timeoutMs = v.timeout as number;
  if (v.timing === true || v.timing === 'silent') c.timing = true;
  if (v.timing === 'silent') c.silentTiming = true;
  if (v.transport === 'websocket') c.transport = 'websocket';
  // A case whose clients use a second node is about a cluster, whether or not it says so.
  const usesNodes = steps.some((s) => (s.kind === 'connect' || s.kind === 'reconnect') && (s.node ?? 1) > 1);
  if (v.cluster === true || usesNodes) c.cluster = true;
  return c;
}

function parseStatements(
  ctx: SchemaContext,
  node: unknown,
  value: unknown,
  protocols: ProtocolName[],
  where: string,
): Partial<Record<ProtocolName, string[]>> {
  const out: Partial<Record<ProtocolName, string[]>> = {};
  if (value === undefined) return out;
  if (Array.isArray(value)) {
    for (const p of protocols) out[p] = value as string[];
  } else {
    for (const [k, ids] of Object.entries(value as Record<string, string[]>)) out[normaliseProtocol(k)] = ids;
    for (const p of protocols) {
      if (!out[p]) ctx.error(node, `${where}.statements: no statement ids for protocol ${p}`);
    }
  }
  // Each id must exist in the protocol's statement list (specs/statements/*.yaml).
  const items = isSeq(node)
    ? node.items
    : isMap(node)
      ? node.items.flatMap((p) => (isSeq(p.value) ? p.value.items : []))
      : [];
  const nodeFor = (id: string): unknown => items.find((n) => isScalar(n) && n.value === id) ?? node;
  for (const p of protocols) {
    for (const id of out[p] ?? []) {
      if (!STATEMENT_RE.test(id)) {
        ctx.error(
          nodeFor(id),
          `${where}.statements: expected a statement id like "MQTT-3.3.1-5", found "${id}"`,
        );
      } else {
        const st = findStatement(p, id);
        if (!st) {
          ctx.error(nodeFor(id), `${where}.statements: "${id}" is not a normative statement of MQTT ${p}`);
        } else if (st.binds === 'client') {
          // The suite judges brokers; a rule only clients must follow cannot be failed by one.
          ctx.error(
            nodeFor(id),
            `${where}.statements: "${id}" (MQTT ${p}, ${st.topic}) binds clients only; expected a statement that binds the server`,
          );
        }
      }
    }
  }
  return out;
}

function parseStep(ctx: SchemaContext, node: unknown, where: string): Step | undefined {
  if (!isMap(node) || node.items.length !== 1) {
    const found = isMap(node) ? `a map with ${node.items.length} keys` : describeNode(node);
    ctx.error(
      node,
      `${where}: expected a step (a map with one key: ${STEP_KINDS.join(', ')}), found ${found}`,
    );
    return undefined;
  }
  const pair = node.items[0]!;
  const kind = isScalar(pair.key) ? String(pair.key.value) : '';
  const def = STEP_DEFINITIONS[kind as keyof typeof STEP_DEFINITIONS] as
    | (typeof STEP_DEFINITIONS)[keyof typeof STEP_DEFINITIONS]
    | undefined;
  if (!def) {
    ctx.error(pair.key, `${where}: unknown step "${kind}"; expected one of ${STEP_KINDS.join(', ')}`);
    return undefined;
  }
  const schema = def.schema;
  const withProtocols: Schema =
    schema.t === 'object'
      ? { ...schema, props: { ...schema.props, protocols: { schema: protocolsSchema } } }
      : schema;
  const before = ctx.issues.length;
  const value = check(ctx, pair.value, withProtocols, `${where}.${kind}`) as
    | Record<string, unknown>
    | undefined;
  if (!value || ctx.issues.length > before) return undefined;
  const problem = def.check?.(value);
  if (problem) {
    ctx.error(pair.value ?? pair.key, `${where}.${problem}`);
    return undefined;
  }
  const { protocols, ...body } = value;
  const step = (def.build as (v: Record<string, unknown>, p: SourcePos) => Step)(body, posOf(ctx, pair.key));
  if (protocols) step.protocols = (protocols as unknown[]).map(normaliseProtocol);
  return step;
}

/** Every *.yaml / *.yml under the given files or folders (skipping specs/statements and specs/known-deviations). */
/** Folders under specs/ that hold data, not scenarios. */
const NOT_SCENARIOS = new Set(['statements', 'known-deviations']);

export function findScenarioFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const entry of readdirSync(p).sort()) {
        if (NOT_SCENARIOS.has(entry) || entry.startsWith('.')) continue;
        walk(join(p, entry));
      }
    } else if (/\.ya?ml$/.test(p)) out.push(p);
  };
  for (const p of paths) walk(resolve(p));
  return out;
}

/** Loads every scenario file; all issues of all files are reported together. */
export function loadScenarios(paths: string[], cwd = process.cwd()): ScenarioFile[] {
  const issues: SchemaIssue[] = [];
  const files: ScenarioFile[] = [];
  const ids = new Map<string, SourcePos>();
  for (const file of findScenarioFiles(paths)) {
    const display = relative(cwd, file) || file;
    const parsed = parseScenarioFile(file, readFileSync(file, 'utf8'), display, issues);
    if (!parsed) continue;
    for (const c of parsed.cases) {
      const prev = ids.get(c.id);
      if (prev) {
        issues.push({
          ...c.pos,
          message: `case id "${c.id}" is already used at ${prev.file}:${prev.line}:${prev.col}`,
        });
      }
      ids.set(c.id, c.pos);
    }
    files.push(parsed);
  }
  if (issues.length > 0) throw new ScenarioLoadError(issues);
  return files;
}
