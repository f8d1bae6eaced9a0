import type { SubEntry } from './session.js';

/** Members of one shared subscription ($share/{group}/{filter}); copies go round-robin to one of them. */
class SharedGroup {
  readonly members: SubEntry[] = [];
  private next = 0;

  /** Next member, preferring a connected one (the choice is the server's, section 4.8.2). */
  pick(): SubEntry | undefined {
    const n = this.members.length;
    for (let i = 0; i < n; i++) {
      const e = this.members[(this.next + i) % n]!;
      if (e.session.conn !== null) {
        this.next = (this.next + i + 1) % n;
        return e;
      }
    }
    // Nobody online: queue to one persistent member in turn.
    if (n === 0) return undefined;
    const e = this.members[this.next % n]!;
    this.next = (this.next + 1) % n;
    return e;
  }
}

class TopicNode {
  readonly children = new Map<string, TopicNode>();
  /** Non-shared subscriptions ending at this node, one per session. */
  readonly subs = new Map<object, SubEntry>();
  readonly shared = new Map<string, SharedGroup>();

  isEmpty(): boolean {
    return this.children.size === 0 && this.subs.size === 0 && this.shared.size === 0;
  }
}

/**
 * Subscription index: a trie over topic levels with `+` and `#` as ordinary child keys. Matching a topic
 * walks at most (levels x 3) nodes regardless of the number of subscriptions.
 */
export class TopicTree {
  private readonly root = new TopicNode();
  private visit: (e: SubEntry) => void = () => {};

  /** Adds or replaces the entry's session's subscription to its filter; returns true when it replaced one. */
  add(entry: SubEntry): boolean {
    let node = this.root;
    for (const level of entry.topicFilter.split('/')) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = new TopicNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (entry.group === undefined) {
      const existed = node.subs.has(entry.session);
      node.subs.set(entry.session, entry);
      return existed;
    }
    let group = node.shared.get(entry.group);
    if (group === undefined) {
      group = new SharedGroup();
      node.shared.set(entry.group, group);
    }
    const i = group.members.findIndex((m) => m.session === entry.session);
    if (i >= 0) {
      group.members[i] = entry;
      return true;
    }
    group.members.push(entry);
    return false;
  }

  remove(entry: SubEntry): void {
    const path: TopicNode[] = [this.root];
    const levels = entry.topicFilter.split('/');
    let node = this.root;
    for (const level of levels) {
      const child = node.children.get(level);
      if (child === undefined) return;
      path.push(child);
      node = child;
    }
    if (entry.group === undefined) {
      if (node.subs.get(entry.session) === entry) node.subs.delete(entry.session);
    } else {
      const group = node.shared.get(entry.group);
      if (group !== undefined) {
        const i = group.members.indexOf(entry);
        if (i >= 0) group.members.splice(i, 1);
        if (group.members.length === 0) node.shared.delete(entry.group);
      }
    }
    // Prune empty nodes bottom-up so the tree does not grow without bound.
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (!n.isEmpty()) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
  }

  /**
   * Calls `visit` for every subscription matching `topic`: each non-shared one, and one member per shared
   * group. Wildcards in the first level never match a topic starting with `$` [MQTT-4.7.2-1].
   */
  match(topic: string, visit: (e: SubEntry) => void): void {
    this.visit = visit;
    const levels = topic.split('/');
    this.walk(this.root, levels, 0, topic.charCodeAt(0) === 36);
  }

  private walk(node: TopicNode, levels: string[], i: number, dollar: boolean): void {
    if (i === levels.length) {
      this.emit(node);
      // "sport/#" also matches "sport" (the parent level).
      const hash = node.children.get('#');
      if (hash !== undefined) this.emit(hash);
      return;
    }
    if (!(i === 0 && dollar)) {
      const hash = node.children.get('#');
      if (hash !== undefined) this.emit(hash);
      const plus = node.children.get('+');
      if (plus !== undefined) this.walk(plus, levels, i + 1, dollar);
    }
    const child = node.children.get(levels[i]!);
    if (child !== undefined) this.walk(child, levels, i + 1, dollar);
  }

  private emit(node: TopicNode): void {
    if (node.subs.size > 0) for (const e of node.subs.values()) this.visit(e);
    if (node.shared.size > 0) {
      for (const g of node.shared.values()) {
        const e = g.pick();
        if (e !== undefined) this.visit(e);
      }
    }
  }
}
