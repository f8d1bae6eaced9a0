/**
 * Topic names and filters (section 4.7 of both specs). Shared by the reference broker and the suite.
 */

/** A valid topic name: at least one character [MQTT-4.7.3-1], no wildcard [MQTT-3.3.2-2], no U+0000. */
export function isValidTopicName(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name) > 65_535) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */ || c === 0) return false;
  }
  return true;
}

/**
 * A valid topic filter: `#` only as the whole last level [MQTT-4.7.1-2], `+` only as a whole level
 * [MQTT-4.7.1-3]; a shared subscription `$share/{name}/{filter}` needs a name without `/`, `+`, `#` and a
 * non-empty filter.
 */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || Buffer.byteLength(filter) > 65_535 || filter.includes('\u0000')) return false;
  const shared = parseSharedFilter(filter);
  if (shared === null) return false;
  const levels = (shared?.filter ?? filter).split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

/**
 * Splits `$share/{name}/{filter}`. Returns undefined for an ordinary filter and null for a malformed shared
 * one.
 */
export function parseSharedFilter(filter: string): { group: string; filter: string } | undefined | null {
  if (!filter.startsWith('$share/')) return undefined;
  const rest = filter.slice(7);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  const inner = rest.slice(slash + 1);
  if (group.includes('+') || group.includes('#') || inner.length === 0) return null;
  return { group, filter: inner };
}

/**
 * Whether a topic name matches a (non-shared) filter: `+` one level, `#` this level and all below, including
 * the parent (`sport/#` matches `sport`) [MQTT-4.7.1-2]; a filter starting with a wildcard does not match a
 * topic starting with `$` [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
