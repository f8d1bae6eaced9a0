import type { ProtocolName, ScenarioCase, ScenarioFile } from './model.js';
import type { PlannedCase } from './runner.js';

/**
 * A selector from --only / --exclude: a statement id (`MQTT-3.3.1-5`), a section prefix (`3.3` matches
 * 3.3.1 and 3.3.2, not 3.30), or a case id glob (`3.3.1/retain-*`, `*will*`).
 */
export function matchesSelector(c: ScenarioCase, protocol: ProtocolName, selector: string): boolean {
  const s = selector.trim();
  if (/^mqtt-/i.test(s)) {
    return (c.statements[protocol] ?? []).some((id) => id.toLowerCase() === s.toLowerCase());
  }
  if (/^\d+(\.\d+)*$/.test(s)) return c.section === s || c.section.startsWith(`${s}.`);
  return globToRegExp(s).test(c.id);
}

export function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

/** Splits repeated and comma-separated option values. */
export function splitSelectors(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

/**
 * Selectors that match no loaded case in any of its protocols: a typo in --exclude would otherwise run the
 * case it meant to leave out, and one in --only would silently narrow nothing.
 */
export function unmatchedSelectors(files: readonly ScenarioFile[], selectors: readonly string[]): string[] {
  const cases = files.flatMap((f) => f.cases);
  return selectors.filter(
    (s) => !cases.some((c) => c.protocols.some((protocol) => matchesSelector(c, protocol, s))),
  );
}

export interface SelectOptions {
  protocols: readonly ProtocolName[];
  only?: readonly string[];
  exclude?: readonly string[];
}

/** Every (case, protocol) pair to run, in file order then protocol order. */
export function planCases(files: readonly ScenarioFile[], opts: SelectOptions): PlannedCase[] {
  const out: PlannedCase[] = [];
  const only = opts.only ?? [];
  const exclude = opts.exclude ?? [];
  for (const f of files) {
    for (const c of f.cases) {
      for (const protocol of opts.protocols) {
        if (!c.protocols.includes(protocol)) continue;
        if (only.length > 0 && !only.some((s) => matchesSelector(c, protocol, s))) continue;
        if (exclude.some((s) => matchesSelector(c, protocol, s))) continue;
        out.push({ scenario: c, protocol });
      }
    }
  }
  return out;
}
