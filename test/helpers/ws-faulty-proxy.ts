import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

/**
 * A test-only WebSocket proxy in front of a broker's WebSocket listener that breaks one rule of MQTT over
 * WebSocket (section 6): the TCP faulty proxy (faulty-proxy.ts) cannot reach inside WebSocket frames.
 */
export const WS_FAULTS = {
  none: 'no fault: a transparent WebSocket proxy',
  'ws-text-frames': "the broker's packets after CONNACK reach the client in text frames",
  'ws-text-as-binary': "the client's text frames reach the broker as binary ones: it answers them",
  'ws-frames-aligned':
    'each client frame is read on its own as whole packets: bytes of a packet cut at a frame boundary are lost',
} as const;

export type WsFault = keyof typeof WS_FAULTS;

/** The fault that makes each WebSocket case fail. */
export const WS_CASE_FAULTS: Record<string, WsFault> = {
  '6.0.0/server-sends-binary-frames': 'ws-text-frames',
  '6.0.0/text-frame-closes': 'ws-text-as-binary',
  '6.0.0/packets-not-frame-aligned': 'ws-frames-aligned',
};

export interface WsFaultyProxy {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startWsFaultyProxy(brokerUrl: string, fault: WsFault): Promise<WsFaultyProxy> {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false),
    // Text frames are forwarded (or turned into binary ones), not judged here.
    skipUTF8Validation: true,
  });
  const open = new Set<WebSocket>();
  wss.on('connection', (client) => {
    const broker = new WebSocket(brokerUrl, 'mqtt');
    open.add(client);
    open.add(broker);
    const pending: Array<{ data: Buffer; binary: boolean }> = [];
    const toBroker = (data: Buffer, binary: boolean): void => {
      if (broker.readyState === WebSocket.OPEN) broker.send(data, { binary });
      else if (broker.readyState === WebSocket.CONNECTING) pending.push({ data, binary });
    };
    broker.on('open', () => {
      for (const p of pending.splice(0)) broker.send(p.data, { binary: p.binary });
    });
    client.on('message', (raw: RawData, isBinary: boolean) => {
      let data = toBuffer(raw);
      if (fault === 'ws-frames-aligned') data = wholePackets(data);
      if (data.length === 0) return;
      toBroker(data, fault === 'ws-text-as-binary' ? true : isBinary);
    });
    let fromBroker = 0;
    broker.on('message', (raw: RawData, isBinary: boolean) => {
      if (client.readyState !== WebSocket.OPEN) return;
      // The CONNACK stays binary: the run's preflight must see a broker.
      const text = fault === 'ws-text-frames' && fromBroker++ > 0;
      client.send(toBuffer(raw), { binary: text ? false : isBinary });
    });
    const end = (ws: WebSocket): void => {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    };
    client.on('close', () => {
      open.delete(client);
      end(broker);
    });
    broker.on('close', () => {
      open.delete(broker);
      end(client);
    });
    client.on('error', () => client.terminate());
    broker.on('error', () => {
      broker.terminate();
      client.terminate();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const port = (http.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    async close() {
      for (const ws of open) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** The whole MQTT packets at the start of `data`; the bytes of a packet it does not hold entirely are dropped. */
function wholePackets(data: Buffer): Buffer {
  let at = 0;
  for (;;) {
    let pos = at + 1;
    let len = 0;
    let mul = 1;
    let done = false;
    for (let i = 0; i < 4 && pos < data.length; i++, pos++) {
      const b = data[pos]!;
      len += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        done = true;
        pos++;
        break;
      }
    }
    if (!done || pos + len > data.length) return data.subarray(0, at);
    at = pos + len;
    if (at === data.length) return data;
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
