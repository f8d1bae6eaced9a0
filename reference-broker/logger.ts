export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** Minimal leveled logger writing one line per event to stderr. */
export class Logger {
  private readonly rank: number;
  constructor(level: LogLevel = 'silent') {
    this.rank = RANK[level];
  }
  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return this.rank >= RANK[level];
  }
  error(msg: string): void {
    if (this.rank >= 1) this.write('error', msg);
  }
  warn(msg: string): void {
    if (this.rank >= 2) this.write('warn', msg);
  }
  info(msg: string): void {
    if (this.rank >= 3) this.write('info', msg);
  }
  debug(msg: string): void {
    if (this.rank >= 4) this.write('debug', msg);
  }
  private write(level: string, msg: string): void {
    process.stderr.write(`${new Date().toISOString()} broker ${level} ${msg}\n`);
  }
}
