import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';

/** A broker a bridge side connects to. */
export interface BridgeNode {
  host: string;
  port: number;
}

export interface BridgeOptions {
  /**
   * A faulty bridge: messages are forwarded with RETAIN 0, so a retained message published on one node is
   * delivered live on the other but never stored there.
   */
  dropRetained?: boolean;
}

export interface ClusterBridge {
  close(): Promise<void>;
}

/**
 * A test-only "cluster" of two brokers: one MQTT 5.0 client on each node subscribes to `#` with No Local (a
 * message the bridge republishes on a node does not come back to it there: loop prevention) and Retain As
 * Published (a retained message keeps its RETAIN flag, so it is stored on the other node too), and republishes
 * everything it receives on the other node at the QoS it was delivered with. The subscription on `#` also
 * copies the retained messages each node holds when the bridge starts. Sessions are not shared: a client that
 * moves to the other node finds no session there, and a client identifier in use on one node does not take
 * over a connection on the other (cases about those fail against a bridged pair, as they should).
 */
export async function startClusterBridge(
  a: BridgeNode,
  b: BridgeNode,
  opts: BridgeOptions = {},
): Promise<ClusterBridge> {
  const tag = Math.random().toString(36).slice(2, 8);
  const connect = (n: BridgeNode, name: string): Promise<MqttClient> =>
    new Promise((resolve, reject) => {
      const c = mqtt.connect({
        host: n.host,
        port: n.port,
        protocol: 'mqtt',
        protocolVersion: 5,
        clientId: `cluster-bridge-${name}-${tag}`,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  const [ca, cb] = await Promise.all([connect(a, 'a'), connect(b, 'b')]);
  const forward = (to: MqttClient) => (topic: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
    const p = packet.properties ?? {};
    const options: IClientPublishOptions = {
      qos: packet.qos,
      retain: opts.dropRetained ? false : packet.retain,
      properties: {
        ...(p.payloadFormatIndicator !== undefined
          ? { payloadFormatIndicator: p.payloadFormatIndicator }
          : {}),
        ...(p.messageExpiryInterval !== undefined ? { messageExpiryInterval: p.messageExpiryInterval } : {}),
        ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
        ...(p.responseTopic !== undefined ? { responseTopic: p.responseTopic } : {}),
        ...(p.correlationData !== undefined ? { correlationData: p.correlationData } : {}),
        ...(p.userProperties !== undefined ? { userProperties: p.userProperties } : {}),
      },
    };
    to.publish(topic, payload, options);
  };
  ca.on('message', forward(cb));
  cb.on('message', forward(ca));
  const subscribe = (c: MqttClient): Promise<void> =>
    new Promise((resolve, reject) => {
      c.subscribe('#', { qos: 2, nl: true, rap: true }, (err, granted) => {
        if (err) reject(err);
        else if (granted?.some((g) => g.qos > 2)) reject(new Error('bridge subscription refused'));
        else resolve();
      });
    });
  await Promise.all([subscribe(ca), subscribe(cb)]);
  return {
    async close() {
      await Promise.all([ca.endAsync(true), cb.endAsync(true)]);
    },
  };
}
