import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join, relative, sep } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertValidReportFile } from './helpers/report-schema.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * The published package as a user gets it: `npm pack` (whose `prepare` builds dist/) of a copy of the checkout,
 * `npm install <tarball> --omit=dev` into an empty folder, then the installed bin through `npx`: `--list` and a
 * full run against the bundled reference broker. Nothing of the checkout is reachable from there: the install
 * folder is outside it, and npm's and the checkout's variables (PATH entries, npm_config_local_prefix, ...)
 * are left out of the children's environment.
 */
const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The environment without what npm run / vitest add for the checkout. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(lifecycle|package|config_(local_prefix|prefix|global_prefix|omit|include|save))/i.test(k))
      continue;
    if (/^(NODE_PATH|NODE_OPTIONS|VITEST.*|TEST|INIT_CWD)$/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.startsWith(root) && !p.includes(`${sep}node_modules${sep}.bin`))
    .join(delimiter);
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  return env;
}

interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command in its own process group; on timeout the whole group is killed. */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: cleanEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`${cmd} ${args.join(' ')}: no exit within ${timeoutMs} ms\n${out}\n${err}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Package names of the bare imports (static, re-exports and dynamic) in a built module. */
function importedPackages(code: string): string[] {
  const names = new Set<string>();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;
  for (const m of code.matchAll(re)) {
    const spec = m[2]!;
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return [...names];
}

/** What `prepare` needs to build and `files` lists: the checkout as a clone has it, less tests and tools. */
const STAGED = [
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'bin',
  'src',
  'reference-broker',
  'specs',
  'docs',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
];

let packed: { tarball: string; files: string[] };
let app: string;
let installed: string;

describe('npm package', () => {
  beforeAll(async () => {
    // A copy of the checkout without dist/ (as after a clone), so that `prepare` builds dist/ afresh there
    // and the checkout's dist/, which other tests import, is not rewritten under them.
    const stage = tempDir('mc-stage-');
    for (const f of STAGED) {
      if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
    const packDir = tempDir('mc-pack-');
    const p = await run('npm', ['pack', '--json', '--pack-destination', packDir], stage, 240_000);
    expect(p.code, p.err).toBe(0);
    const info = JSON.parse(p.out.slice(p.out.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    packed = { tarball: join(packDir, info[0]!.filename), files: info[0]!.files.map((f) => f.path) };

    app = tempDir('mc-app-');
    const i = await run(
      'npm',
      [
        'install',
        '--omit=dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--prefix',
        app,
        packed.tarball,
      ],
      app,
      240_000,
    );
    expect(i.code, `${i.out}\n${i.err}`).toBe(0);
    installed = join(app, 'node_modules', pkg.name);
  }, 300_000);

  it('holds the CLI, its build, the scenarios, the docs and the schema, and no tests or sources', () => {
    const f = new Set(packed.files);
    for (const bin of Object.values(pkg.bin)) expect(f).toContain(bin.replace(/^\.\//, ''));
    for (const need of [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'dist/src/cli/main.js',
      'dist/reference-broker/index.js',
      'dist/src/codec/index.js',
      'dist/src/codec/index.d.ts',
      'dist/src/client/index.js',
      'dist/src/client/index.d.ts',
      'specs/statements/mqtt-3.1.1.yaml',
      'specs/statements/mqtt-5.0.yaml',
      'docs/report.schema.json',
      'docs/reports.md',
    ]) {
      expect(f, need).toContain(need);
    }
    expect(packed.files.filter((p) => p.endsWith('.yaml') && p.startsWith('specs/')).length).toBeGreaterThan(
      20,
    );
    const stray = packed.files.filter(
      (p) =>
        /(^|\/)test\//.test(p) ||
        /\.test\.(js|d\.ts)$/.test(p) ||
        /\.map$/.test(p) ||
        /(^|\/)testing\//.test(p) ||
        (p.endsWith('.ts') && !p.endsWith('.d.ts')) ||
        /^(node_modules|reports|bench)\//.test(p),
    );
    expect(stray).toEqual([]);
  });

  it('declares what the CLI needs: engines, bin, and every package the build imports as a dependency', () => {
    const installedPkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as typeof pkg;
    expect(installedPkg.version).toBe(pkg.version);
    expect(installedPkg.engines.node).toMatch(/^>=\d+/);
    const [major, minor] = process.versions.node.split('.').map(Number);
    const [wantMajor, wantMinor = 0] = installedPkg.engines.node.replace('>=', '').split('.').map(Number);
    expect(major! > wantMajor! || (major === wantMajor && minor! >= wantMinor)).toBe(true);
    const used = new Set<string>();
    for (const file of filesUnder(join(installed, 'dist')).filter((p) => p.endsWith('.js'))) {
      for (const name of importedPackages(readFileSync(file, 'utf8'))) used.add(name);
    }
    const deps = Object.keys(pkg.dependencies);
    expect([...used].filter((n) => !deps.includes(n))).toEqual([]);
    // What the run needs is installed; nothing of the development tools is.
    const top = readdirSync(join(app, 'node_modules'));
    for (const d of deps) expect(top).toContain(d);
    for (const d of Object.keys(pkg.devDependencies)) {
      expect(top.includes(d) && !deps.includes(d), `${d} (a devDependency) was installed`).toBe(false);
    }
  });

  it('the library entry points and the results schema resolve from the installed package', async () => {
    const script = [
      "const codec = await import('mqtt-conform/codec');",
      "const client = await import('mqtt-conform/client');",
      "const schema = import.meta.resolve('mqtt-conform/report.schema.json');",
      "const bytes = codec.encode({ type: 'pingreq' });",
      'console.log(JSON.stringify({ bytes: [...bytes], client: typeof client.RawClient, schema }));',
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', script], app, 30_000);
    expect(r.err).toBe('');
    const out = JSON.parse(r.out) as { bytes: number[]; client: string; schema: string };
    expect(out.bytes).toEqual([0xc0, 0x00]);
    expect(out.client).toBe('function');
    expect(out.schema).toMatch(/node_modules\/mqtt-conform\/docs\/report\.schema\.json$/);
  });

  it('the library entry points come with their types (TypeScript, nodenext resolution)', async () => {
    const dir = join(app, 'types-check');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'check.ts'),
      [
        "import { decode, encode } from 'mqtt-conform/codec';",
        "import type { RawClient } from 'mqtt-conform/client';",
        "const bytes: Uint8Array = encode({ type: 'pingreq' });",
        '// @ts-expect-error: not a packet type (the types are real, not any)',
        "encode({ type: 'nope' });",
        'export const n: number = bytes.length;',
        'export type C = RawClient;',
        'export { decode };',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          strict: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir, 60_000);
    expect(`${r.out}${r.err}`).toBe('');
    expect(r.code).toBe(0);
  }, 90_000);

  it('`npx mqtt-conform --list` lists the bundled cases', async () => {
    const r = await run('npx', ['--no-install', 'mqtt-conform', '--list'], app, 60_000);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^3\.12\.4\/\S+ +3\.1\.1 /m);
    expect(r.out).toMatch(/^\d+ case\(s\)$/m);
    const v = await run('npx', ['--no-install', 'mqtt-conform', '--version'], app, 60_000);
    expect(v.out.trim()).toContain(pkg.version);
  }, 120_000);

  it('`npx mqtt-conform` runs every case against the bundled broker: conformant, reports valid', async () => {
    const r = await run('npx', ['--no-install', 'mqtt-conform', '--no-color'], app, 240_000);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.out).toContain('RESULT: conformant');
    const reports = join(app, 'reports');
    expect(readdirSync(reports).sort()).toEqual(['junit.xml', 'report.html', 'report.json']);
    const json = assertValidReportFile(join(reports, 'report.json')) as {
      target: string;
      protocols: string[];
      cases: { source?: string }[];
    };
    expect(json.target).toMatch(/^bundled reference broker 127\.0\.0\.1:\d+$/);
    expect(json.protocols).toEqual(['3.1.1', '5.0']);
    // The cases came from the installed package, not from the checkout.
    const sources = new Set(json.cases.map((c) => c.source?.replace(/:\d+$/, '')));
    for (const s of sources) expect(s).toMatch(/^node_modules\/mqtt-conform\/specs\/[^/]+\.yaml$/);
    expect(relative(app, installed)).toBe(join('node_modules', 'mqtt-conform'));
  }, 300_000);
});
