import { topicMatches } from '../src/codec/index.js';
import type { Message } from './message.js';

/** Retained messages by topic; they outlive sessions [MQTT-3.1.2-7]. */
export class RetainedStore {
  private readonly byTopic = new Map<string, Message>();

  constructor(private readonly maxMessages: number = Number.POSITIVE_INFINITY) {}

  get size(): number {
    return this.byTopic.size;
  }

  /**
   * Stores or replaces the retained message for its topic [MQTT-3.3.1-5] [MQTT-3.3.1-7]; an empty payload
   * removes it and is not stored [MQTT-3.3.1-10] [MQTT-3.3.1-11] (5.0: [MQTT-3.3.1-6] [MQTT-3.3.1-7]).
   */
  set(msg: Message): boolean {
    if (msg.payload.length === 0) {
      this.byTopic.delete(msg.topic);
      return true;
    }
    if (this.byTopic.size >= this.maxMessages && !this.byTopic.has(msg.topic)) return false;
    this.byTopic.set(msg.topic, msg);
    return true;
  }

  /** Retained messages matching a filter; expired ones are dropped on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    if (!filter.includes('+') && !filter.includes('#')) {
      const m = this.byTopic.get(filter);
      if (m !== undefined) {
        if (m.expiresAt !== undefined && now >= m.expiresAt) this.byTopic.delete(filter);
        else out.push(m);
      }
      return out;
    }
    for (const [topic, m] of this.byTopic) {
      if (!topicMatches(filter, topic)) continue;
      if (m.expiresAt !== undefined && now >= m.expiresAt) {
        this.byTopic.delete(topic);
        continue;
      }
      out.push(m);
    }
    return out;
  }
}
