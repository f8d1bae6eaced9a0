import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../paths.js';

/** Protocol as written in scenarios and reports. */
export type ProtocolName = '3.1.1' | '5.0';

export type StatementLevel = 'must' | 'must-not' | 'should' | 'may';

/** One normative statement of the spec's Appendix B, as listed in specs/statements/*.yaml. */
export interface Statement {
  id: string;
  section: string;
  binds: 'server' | 'client' | 'both' | 'sender' | 'receiver';
  level: StatementLevel;
  topic: string;
}

const FILES: Record<ProtocolName, string> = {
  '3.1.1': 'mqtt-3.1.1.yaml',
  '5.0': 'mqtt-5.0.yaml',
};

const cache = new Map<ProtocolName, ReadonlyMap<string, Statement>>();

/** The statement catalogue of one protocol version, keyed by id, in spec order. */
export function statementsFor(protocol: ProtocolName): ReadonlyMap<string, Statement> {
  const hit = cache.get(protocol);
  if (hit) return hit;
  const file = join(packageRoot(), 'specs', 'statements', FILES[protocol]);
  const list = parse(readFileSync(file, 'utf8')) as Statement[];
  const map = new Map<string, Statement>();
  for (const s of list) map.set(s.id, s);
  cache.set(protocol, map);
  return map;
}

export function findStatement(protocol: ProtocolName, id: string): Statement | undefined {
  return statementsFor(protocol).get(id);
}
