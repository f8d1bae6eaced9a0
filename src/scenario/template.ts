/**
 * Templating of scenario strings, applied when a case runs:
 * - `{prefix}`: a topic prefix unique to the run, the case and the protocol (`mqtt-conform/<run>/<case>`;
 *   the first part is the run's topic prefix, `--topic-prefix`);
 * - `{client:name}`: a client identifier unique to the run, case, protocol and name, at most 23
 *   alphanumeric characters so that every broker must accept it [MQTT-3.1.3-5];
 * - `{protocol}`: `3.1.1` or `5.0`;
 * - `{repeat:N:text}`: `text` (no braces) N times, N up to 65535: long topics and strings without a long line.
 */
export interface TemplateVars {
  runId: string;
  /** Index of the case within the run (unique per case x protocol). */
  caseIndex: number;
  protocol: string;
  /** First level(s) of `{prefix}` (default `mqtt-conform`). */
  topicPrefix?: string;
}

export const DEFAULT_TOPIC_PREFIX = 'mqtt-conform';

/**
 * Why `text` cannot be a topic prefix (it heads topic names and filters): undefined when it can. No wildcards,
 * no empty levels at either end, no `$` start (a `$` topic is not matched by wildcards and brokers reserve
 * them), no U+0000, at most 200 UTF-8 bytes.
 */
export function topicPrefixProblem(text: string): string | undefined {
  if (text === '') return 'it is empty';
  if (/[+#]/.test(text)) return 'it contains a wildcard (+ or #)';
  if (text.includes('\u0000')) return 'it contains U+0000';
  if (text.startsWith('$')) return 'it starts with $';
  if (text.startsWith('/') || text.endsWith('/')) return 'it starts or ends with /';
  if (Buffer.byteLength(text) > 200) return 'it is longer than 200 bytes';
  return undefined;
}

const PATTERN = /\{(prefix|protocol|client:([A-Za-z0-9_-]+)|repeat:(\d{1,5}):([^{}]*))\}/g;

export class Templater {
  private readonly names = new Map<string, string>();
  constructor(private readonly vars: TemplateVars) {}

  get prefix(): string {
    return `${this.vars.topicPrefix ?? DEFAULT_TOPIC_PREFIX}/${this.vars.runId}/${this.vars.caseIndex.toString(36)}`;
  }

  clientId(name: string): string {
    let id = this.names.get(name);
    if (!id) {
      const n = this.names.size.toString(36).padStart(2, '0');
      id = `mc${this.vars.runId}${this.vars.caseIndex.toString(36).padStart(4, '0')}${n}`;
      this.names.set(name, id);
    }
    return id;
  }

  string(text: string): string {
    return text.replace(PATTERN, (_m, what: string, name?: string, times?: string, unit?: string) => {
      if (times !== undefined) return (unit ?? '').repeat(Math.min(Number(times), 65_535));
      if (what === 'prefix') return this.prefix;
      if (what === 'protocol') return this.vars.protocol;
      return this.clientId(name!);
    });
  }

  /** Deep copy with every string templated (Buffers and other objects copied as they are). */
  value<T>(v: T): T {
    if (typeof v === 'string') return this.string(v) as T;
    if (Buffer.isBuffer(v)) return Buffer.from(this.string(v.toString('latin1')), 'latin1') as T;
    if (Array.isArray(v)) return v.map((x) => this.value(x)) as T;
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = this.value(x);
      return out as T;
    }
    return v;
  }
}

/** A short run id: 6 base-36 characters. */
export function newRunId(): string {
  return Math.floor(Math.random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');
}
