import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildMatrixHtml, type MatrixColumn, matrixRows, writeMatrixHtml } from '../report/matrix.js';
import { ResultsFileError, readJsonReport } from '../report/read-json.js';
import { runOutcome } from '../report/verdict.js';
import { EXIT } from './exit-codes.js';

export const MATRIX_USAGE = `Usage: mqtt-conform matrix RESULTS.json [RESULTS.json ...] [--html FILE] [--names A,B,...]

Renders the cases x brokers matrix of several JSON results files (report.json of runs against different
brokers) as one self-contained HTML file: the cases whose verdicts differ first, then the rest by section.

Options:
  --html FILE        output file (default reports/matrix.html)
  --names A,B,...    column headings, one per file in order (default: each file's name without .json)
  -h, --help
`;

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
}

/** Column names: the file names without `.json`, with the folder added where two would be the same. */
export function columnNames(files: readonly string[]): string[] {
  const base = files.map((f) => basename(f).replace(/\.json$/i, ''));
  return base.map((b, i) =>
    base.filter((x) => x === b).length > 1 ? `${basename(dirname(files[i]!))}/${b}` : b,
  );
}

/** `mqtt-conform matrix a.json b.json ... [--html FILE]`; returns the exit code (0, or 2 for bad input). */
export function runMatrixCommand(argv: string[], io: Io): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.stderr(`mqtt-conform matrix: ${err instanceof Error ? err.message : String(err)}\n\n${MATRIX_USAGE}`);
    return EXIT.USAGE;
  }
  if (parsed.values.help) {
    io.stdout(MATRIX_USAGE);
    return EXIT.OK;
  }
  const files = parsed.positionals.map((f) => resolve(io.cwd, f));
  if (files.length === 0) {
    io.stderr(`mqtt-conform matrix: give at least one results file\n\n${MATRIX_USAGE}`);
    return EXIT.USAGE;
  }
  let names = columnNames(parsed.positionals);
  if (parsed.values.names !== undefined) {
    names = parsed.values.names.split(',').map((n) => n.trim());
    if (names.length !== files.length || names.some((n) => n === '')) {
      io.stderr(
        `mqtt-conform matrix: --names needs ${files.length} non-empty name(s), got "${parsed.values.names}"\n`,
      );
      return EXIT.USAGE;
    }
  }
  const columns: MatrixColumn[] = [];
  try {
    files.forEach((f, i) => {
      columns.push({ name: names[i]!, report: readJsonReport(f) });
    });
  } catch (err) {
    if (err instanceof ResultsFileError) {
      io.stderr(`mqtt-conform matrix: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  const out = resolve(io.cwd, parsed.values.html ?? 'reports/matrix.html');
  try {
    writeMatrixHtml(out, columns);
  } catch (err) {
    io.stderr(`mqtt-conform matrix: cannot write ${out}: ${String(err)}\n`);
    return EXIT.USAGE;
  }
  const rows = matrixRows(columns);
  for (const c of columns) io.stdout(`${c.name}: ${c.report.target}: ${runOutcome(c.report, false).text}\n`);
  io.stdout(`${rows.length} case(s), ${rows.filter((r) => r.differs).length} with differing verdicts\n`);
  io.stdout(`matrix: ${out}\n`);
  return EXIT.OK;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      html: { type: 'string' },
      names: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export { buildMatrixHtml };
