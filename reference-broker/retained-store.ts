import type { Message } from './message.js';

class RetainedNode {
  readonly children = new Map<string, RetainedNode>();
  message: Message | undefined;
}

/**
 * Retained messages, one per topic, in a trie over topic levels so a wildcard subscription visits only the
 * matching branches. They outlive sessions (3.1.1 [MQTT-3.1.2-7]).
 */
export class RetainedStore {
  private readonly root = new RetainedNode();
  private count = 0;

  constructor(private readonly maxMessages: number = Number.POSITIVE_INFINITY) {}

  get size(): number {
    return this.count;
  }

  /**
   * Stores or replaces the retained message for its topic (3.1.1 [MQTT-3.3.1-5] [MQTT-3.3.1-7]); an empty payload
   * removes it and is not stored (3.1.1 [MQTT-3.3.1-10] [MQTT-3.3.1-11]; 5.0 [MQTT-3.3.1-5] [MQTT-3.3.1-6]
   * [MQTT-3.3.1-7]). Returns false when the store is full and the topic is new.
   */
  set(msg: Message): boolean {
    const levels = msg.topic.split('/');
    if (msg.payload.length === 0) {
      this.remove(levels);
      return true;
    }
    let node = this.root;
    const path: RetainedNode[] = [];
    for (const level of levels) {
      let child = node.children.get(level);
      if (child === undefined) {
        if (this.count >= this.maxMessages) return this.unwind(path, levels, false);
        child = new RetainedNode();
        node.children.set(level, child);
      }
      path.push(node);
      node = child;
    }
    if (node.message === undefined) {
      if (this.count >= this.maxMessages) return false;
      this.count++;
    }
    node.message = msg;
    return true;
  }

  /** Drops nodes created for a topic that could not be stored. */
  private unwind(path: RetainedNode[], levels: string[], result: boolean): boolean {
    for (let i = path.length - 1; i >= 0; i--) {
      const parent = path[i]!;
      const child = parent.children.get(levels[i]!)!;
      if (child.message !== undefined || child.children.size > 0) break;
      parent.children.delete(levels[i]!);
    }
    return result;
  }

  private remove(levels: string[]): void {
    const path: RetainedNode[] = [];
    let node = this.root;
    for (const level of levels) {
      const child = node.children.get(level);
      if (child === undefined) return;
      path.push(node);
      node = child;
    }
    if (node.message === undefined) return;
    node.message = undefined;
    this.count--;
    this.unwind(path, levels, true);
  }

  /**
   * Retained messages matching a (non-shared) filter; wildcards in the first level skip `$` topics
   * [MQTT-4.7.2-1]; expired messages are dropped on the way (5.0 [MQTT-3.3.2-5]).
   */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    const expired: string[] = [];
    this.walk(this.root, filter.split('/'), 0, now, out, expired);
    for (const topic of expired) this.remove(topic.split('/'));
    return out;
  }

  private take(node: RetainedNode, now: number, out: Message[], expired: string[]): void {
    const m = node.message;
    if (m === undefined) return;
    if (m.expiresAt !== undefined && now >= m.expiresAt) expired.push(m.topic);
    else out.push(m);
  }

  private walk(
    node: RetainedNode,
    f: string[],
    i: number,
    now: number,
    out: Message[],
    expired: string[],
  ): void {
    if (i === f.length) {
      this.take(node, now, out, expired);
      return;
    }
    const level = f[i]!;
    if (level === '#') {
      // `#` matches the parent level too ("sport/#" matches "sport").
      if (i > 0) this.take(node, now, out, expired);
      this.subtree(node, i === 0, now, out, expired);
      return;
    }
    if (level === '+') {
      for (const [name, child] of node.children) {
        if (i === 0 && name.startsWith('$')) continue;
        this.walk(child, f, i + 1, now, out, expired);
      }
      return;
    }
    const child = node.children.get(level);
    if (child !== undefined) this.walk(child, f, i + 1, now, out, expired);
  }

  private subtree(
    node: RetainedNode,
    skipDollar: boolean,
    now: number,
    out: Message[],
    expired: string[],
  ): void {
    for (const [name, child] of node.children) {
      if (skipDollar && name.startsWith('$')) continue;
      this.take(child, now, out, expired);
      this.subtree(child, false, now, out, expired);
    }
  }
}
