import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { ScenarioLoadError } from '../scenario/errors.js';
import { check, S, type Schema, SchemaContext, type SchemaIssue } from '../scenario/schema.js';

/** Found in the working folder when no --config is given. */
export const CONFIG_FILE_NAME = 'mqtt-conform.config.yaml';

/** A secret: a literal string or `{ env: NAME }`, read from the environment when the run starts. */
const secret: Schema = {
  t: 'union',
  describe: 'a string or { env: VARIABLE }',
  of: [
    { when: (n) => isScalar(n), schema: S.string },
    { when: (n) => isMap(n), schema: S.object({ env: S.req(S.string) }) },
  ],
};

const stringList: Schema = {
  t: 'union',
  describe: 'a string or a list of strings',
  of: [
    { when: (n) => isScalar(n), schema: S.string },
    { when: () => true, schema: S.array(S.string) },
  ],
};

const protocolList: Schema = {
  t: 'union',
  describe: 'all, 3.1.1, 5.0 or a list of them',
  of: [
    { when: (n) => isScalar(n), schema: S.enum('all', '3.1.1', '5.0', '5', '4') },
    { when: () => true, schema: S.array(S.enum('3.1.1', '5.0', '5', '4'), 1) },
  ],
};

export const CONFIG_SCHEMA: Schema = S.object({
  target: S.string,
  nodes: stringList,
  protocols: protocolList,
  require: protocolList,
  strict: S.bool,
  credentials: S.object({ username: secret, password: secret, username2: secret, password2: secret }),
  topicPrefix: S.string,
  tls: S.object({ ca: S.string, cert: S.string, key: S.string, insecure: S.bool }),
  expectedFailures: S.string,
  select: S.object({ only: stringList, exclude: stringList }),
  reports: S.object({ dir: S.string, junit: S.string, json: S.string, html: S.string }),
  reporters: {
    t: 'union',
    describe: 'github (or console) or a list of them',
    of: [
      { when: (n) => isScalar(n), schema: S.enum('console', 'github') },
      { when: () => true, schema: S.array(S.enum('console', 'github')) },
    ],
  },
  concurrency: S.int(1),
  timeout: S.int(50),
  specs: stringList,
});

/** What the command line gave (parseArgs' values and positionals): those win over the config file. */
export interface GivenArgs {
  values: Record<string, unknown>;
  positionals: readonly string[];
}

export interface ConfigArgs {
  /** The config file read, if any. */
  file?: string;
  /** Command-line arguments standing for the file's settings that the command line did not give. */
  args: string[];
  /** `file:line:col` of each selector the file supplied, by `only <selector>` / `exclude <selector>`. */
  origins: Map<string, string>;
}

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];
}

/**
 * Reads the config file (`--config FILE`, else mqtt-conform.config.yaml in the working folder, else none)
 * and turns it into command-line arguments for the settings the command line did not give. Paths in the file
 * are relative to the file's folder; secrets `{ env: NAME }` come from `env` (an unset variable is an error).
 * Errors are ScenarioLoadError with file:line:col, like the scenarios.
 */
export function configArguments(
  explicit: string | undefined,
  given: GivenArgs,
  cwd: string,
  env: NodeJS.ProcessEnv,
): ConfigArgs {
  const file = explicit !== undefined ? resolve(cwd, explicit) : join(cwd, CONFIG_FILE_NAME);
  if (explicit === undefined && !existsSync(file)) return { args: [], origins: new Map() };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err);
    throw new ScenarioLoadError([{ file: explicit ?? file, line: 1, col: 1, message: `--config: ${why}` }]);
  }
  const display = explicit ?? CONFIG_FILE_NAME;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const issues: SchemaIssue[] = doc.errors.map((err) => {
    const lp = err.linePos?.[0] ?? { line: 1, col: 1 };
    return {
      file: display,
      line: lp.line,
      col: lp.col,
      message: `YAML syntax: ${err.message.split('\n')[0]}`,
    };
  });
  if (issues.length > 0) throw new ScenarioLoadError(issues);
  const ctx = new SchemaContext(display, lineCounter);
  // An empty file is an empty config.
  const cfg = (doc.contents === null ? {} : check(ctx, doc.contents, CONFIG_SCHEMA, 'config')) as
    | Record<string, unknown>
    | undefined;
  if (ctx.issues.length > 0 || !cfg) throw new ScenarioLoadError(ctx.issues);

  const base = dirname(file);
  const path = (p: string): string => resolve(base, p);
  const node = (keys: string[]): unknown => doc.getIn(keys, true);
  const args: string[] = [];
  const has = (flag: string): boolean => given.values[flag] !== undefined;
  const add = (flag: string, value: string | boolean | undefined): void => {
    if (value === undefined || value === false || has(flag)) return;
    args.push(`--${flag}`);
    if (value !== true) args.push(value);
  };
  const secretValue = (key: string): string | undefined => {
    const v = (cfg.credentials as Record<string, unknown> | undefined)?.[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    const name = (v as { env: string }).env;
    const value = env[name];
    if (value === undefined) {
      ctx.error(
        node(['credentials', key]),
        `config.credentials.${key}: environment variable ${name} is not set`,
      );
    }
    return value;
  };

  if (typeof cfg.target === 'string' && given.positionals.length === 0) args.push(cfg.target);
  // The other nodes of a clustered broker (--node), with the target the file names or the command line's.
  if (!has('node')) for (const n of list(cfg.nodes)) args.push('--node', n);
  const protocols = list(cfg.protocols);
  if (protocols.length > 0 && !has('protocol')) {
    args.push('--protocol', protocols.includes('all') || protocols.length > 1 ? 'all' : protocols[0]!);
  }
  if (!has('require')) for (const r of list(cfg.require)) args.push('--require', r);
  add('strict', cfg.strict as boolean | undefined);
  // Credentials travel as a pair: a command-line user name takes the config's password with it.
  for (const [user, pass] of [
    ['username', 'password'],
    ['username2', 'password2'],
  ] as const) {
    if (has(user) || has(pass)) continue;
    add(user, secretValue(user));
    add(pass, secretValue(pass));
  }
  add('topic-prefix', cfg.topicPrefix as string | undefined);
  const tls = cfg.tls as { ca?: string; cert?: string; key?: string; insecure?: boolean } | undefined;
  add('ca', tls?.ca !== undefined ? path(tls.ca) : undefined);
  add('cert', tls?.cert !== undefined ? path(tls.cert) : undefined);
  add('key', tls?.key !== undefined ? path(tls.key) : undefined);
  add('insecure', tls?.insecure);
  add('expected-failures', typeof cfg.expectedFailures === 'string' ? path(cfg.expectedFailures) : undefined);
  const select = cfg.select as { only?: unknown; exclude?: unknown } | undefined;
  const origins = new Map<string, string>();
  for (const kind of ['only', 'exclude'] as const) {
    if (has(kind)) continue;
    const values = list(select?.[kind]);
    const at = node(['select', kind]);
    values.forEach((v, i) => {
      args.push(`--${kind}`, v);
      const item = Array.isArray(select?.[kind]) && isSeq(at) ? at.items[i] : at;
      const { line, col } = ctx.pos(item);
      for (const piece of v.split(',')) origins.set(`${kind} ${piece.trim()}`, `${display}:${line}:${col}`);
    });
  }
  const reports = cfg.reports as Record<string, string | undefined> | undefined;
  for (const k of ['junit', 'json', 'html'] as const)
    add(k, reports?.[k] !== undefined ? path(reports[k]!) : undefined);
  add('reports', reports?.dir !== undefined ? path(reports.dir) : undefined);
  if (!has('reporter')) for (const r of list(cfg.reporters)) args.push('--reporter', r);
  add('concurrency', cfg.concurrency !== undefined ? String(cfg.concurrency) : undefined);
  add('timeout', cfg.timeout !== undefined ? String(cfg.timeout) : undefined);
  if (!has('specs')) for (const s of list(cfg.specs)) args.push('--specs', path(s));
  if (ctx.issues.length > 0) throw new ScenarioLoadError(ctx.issues);
  return { file, args, origins };
}
