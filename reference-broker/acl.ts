import type { AclRule, BrokerUser } from './config.js';

/** True when every topic matched by `filter` is matched by `pattern` (both topic filters). */
export function filterCovers(pattern: string, filter: string): boolean {
  const p = pattern.split('/');
  const f = filter.split('/');
  for (let i = 0; i < p.length; i++) {
    const pl = p[i]!;
    if (pl === '#') return true;
    const fl = f[i];
    if (fl === undefined) return false;
    if (fl === '#') return false;
    if (pl === '+') continue;
    if (fl === '+' || fl !== pl) return false;
  }
  return p.length === f.length;
}

/** Topic-vs-filter match without the `$` rule (ACL patterns may name `$` topics with wildcards). */
function patternMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('/');
  const t = topic.split('/');
  for (let i = 0; i < p.length; i++) {
    const pl = p[i]!;
    if (pl === '#') return true;
    const tl = t[i];
    if (tl === undefined) return false;
    if (pl !== '+' && pl !== tl) return false;
  }
  return p.length === t.length;
}

export interface Identity {
  clientId: string;
  username: string | undefined;
}

/** Topic authorisation from the config's `acl` rules; no rules means everything is allowed. */
export class Acl {
  readonly enabled: boolean;
  constructor(private readonly rules: AclRule[] | undefined) {
    this.enabled = rules !== undefined;
  }

  private applicable(who: Identity, mode: 'read' | 'write'): Array<{ pattern: string; allow: boolean }> {
    const out: Array<{ pattern: string; allow: boolean }> = [];
    for (const r of this.rules ?? []) {
      if (r.access !== 'readwrite' && r.access !== mode) continue;
      if (r.username !== undefined && r.username !== who.username) continue;
      if (r.clientId !== undefined && r.clientId !== who.clientId) continue;
      const pattern = r.topic.replaceAll('%u', who.username ?? '').replaceAll('%c', who.clientId);
      out.push({ pattern, allow: r.allow !== false });
    }
    return out;
  }

  canPublish(who: Identity, topic: string): boolean {
    return this.check(who, 'write', topic, false);
  }
  canReceive(who: Identity, topic: string): boolean {
    return this.check(who, 'read', topic, false);
  }
  canSubscribe(who: Identity, filter: string): boolean {
    return this.check(who, 'read', filter, true);
  }

  private check(who: Identity, mode: 'read' | 'write', subject: string, isFilter: boolean): boolean {
    if (!this.enabled) return true;
    let allowed = false;
    for (const r of this.applicable(who, mode)) {
      const hit = isFilter ? filterCovers(r.pattern, subject) : patternMatches(r.pattern, subject);
      if (!hit) continue;
      if (!r.allow) return false;
      allowed = true;
    }
    return allowed;
  }
}

export type AuthResult = 'ok' | 'bad-credentials' | 'anonymous-refused';

/** Username/password check against the config's users. */
export function authenticate(
  users: BrokerUser[] | undefined,
  allowAnonymous: boolean | undefined,
  username: string | undefined,
  password: Buffer | undefined,
): AuthResult {
  const anonymousOk = allowAnonymous ?? (users === undefined || users.length === 0);
  if (username === undefined) {
    // 5.0 allows a password without a user name; it identifies nobody, so only anonymous access applies.
    if (anonymousOk) return 'ok';
    return password !== undefined ? 'bad-credentials' : 'anonymous-refused';
  }
  if (users === undefined || users.length === 0) return anonymousOk ? 'ok' : 'bad-credentials';
  const user = users.find((u) => u.username === username);
  if (user === undefined) return 'bad-credentials';
  if (password === undefined || password.toString('utf8') !== user.password) return 'bad-credentials';
  return 'ok';
}
