/**
 * `npm run coverage [-- --write]`: statement coverage per version and chapter, and the gaps. `--write` also
 * records each statement's cases in specs/statements/*.yaml and regenerates docs/coverage.md.
 * Exit codes: 0 fine, 1 contradictions in the bookkeeping (see the `error:` lines), 2 usage or load errors.
 */
import { relative } from 'node:path';
import { formatIssue, isScenarioLoadError } from '../scenario/errors.js';
import { packageRoot } from '../scenario/paths.js';
import { formatConsole, formatMarkdown, loadCoverage, writeCoverage } from './index.js';

const USAGE = 'usage: npm run coverage [-- --write]';

export function main(argv: readonly string[], out = (s: string) => process.stdout.write(s)): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(`${USAGE}\n`);
    return 0;
  }
  const unknown = argv.find((a) => a !== '--write');
  if (unknown !== undefined) {
    process.stderr.write(`unknown argument ${unknown}\n${USAGE}\n`);
    return 2;
  }
  let data: ReturnType<typeof loadCoverage>;
  try {
    data = loadCoverage();
  } catch (e) {
    process.stderr.write(
      isScenarioLoadError(e) ? `${e.issues.map(formatIssue).join('\n')}\n` : `${(e as Error).message}\n`,
    );
    return 2;
  }
  if (argv.includes('--write')) {
    const written = writeCoverage(data, formatMarkdown(data.versions, data.shared));
    // The catalogues now record what was derived: report them as current.
    for (const v of data.versions) v.stale = [];
    out(formatConsole(data.versions, data.shared));
    const root = packageRoot();
    out(
      written.length > 0
        ? `\nwrote ${written.map((f) => relative(root, f)).join(', ')}\n`
        : '\nspecs/statements/*.yaml and docs/coverage.md were already up to date\n',
    );
  } else {
    out(formatConsole(data.versions, data.shared));
  }
  return data.versions.some((v) => v.problems.length > 0) ? 1 : 0;
}

// `npm run coverage | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});
process.exitCode = main(process.argv.slice(2));
