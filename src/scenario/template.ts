/**
 * Templating of scenario strings, applied when a case runs:
 * - `{prefix}`: a topic prefix unique to the run, the case and the protocol (`mqtt-conform/<run>/<case>`);
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
}

const PATTERN = /\{(prefix|protocol|client:([A-Za-z0-9_-]+)|repeat:(\d{1,5}):([^{}]*))\}/g;

export class Templater {
  private readonly names = new Map<string, string>();
  constructor(private readonly vars: TemplateVars) {}

  get prefix(): string {
    return `mqtt-conform/${this.vars.runId}/${this.vars.caseIndex.toString(36)}`;
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
