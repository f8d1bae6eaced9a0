import { ReasonCode, type UnsubscribePacket } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/**
 * UNSUBSCRIBE: filters compared character by character with existing subscriptions [MQTT-3.10.4-1]; a removed
 * subscription gets no new messages [MQTT-3.10.4-2] while in-flight ones complete [MQTT-3.10.4-3]. One
 * UNSUBACK with the packet id, even when nothing was removed [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6];
 * 5.0 codes per filter in order, from the UNSUBACK table [MQTT-3.11.3-1] [MQTT-3.11.3-2], without reason string or
 * user properties [MQTT-3.11.2-1] [MQTT-3.11.2-2]; the packet id is echoed [MQTT-2.3.1-7] (5.0 [MQTT-2.2.1-6]).
 */
export function handleUnsubscribe(conn: Connection, packet: UnsubscribePacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  const codes: number[] = [];
  for (const filter of packet.topics) {
    const entry = session.subscriptions.get(filter);
    if (entry === undefined) {
      codes.push(ReasonCode.NoSubscriptionExisted);
      continue;
    }
    session.subscriptions.delete(filter);
    broker.tree.remove(entry);
    codes.push(ReasonCode.Success);
  }
  conn.send(
    conn.version === 5
      ? { type: 'unsuback', packetId: packet.packetId, reasonCodes: codes, properties: {} }
      : { type: 'unsuback', packetId: packet.packetId },
  );
}
