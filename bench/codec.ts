/**
 * Codec throughput beside mqtt-packet (the codec of MQTT.js), measured in the same run.
 *
 *   npx tsx bench/codec.ts [--budget 300] [--rounds 3] [--warmup 150] [--filter publish] [--json]
 *
 * For each workload (PUBLISH of several payload sizes in 3.1.1 and 5.0, CONNECT, SUBSCRIBE) it times:
 * - stream decode: ours `StreamDecoder.push(buffer of many packets)`, theirs `parser.parse(same buffer)`;
 * - single decode: ours `decode(one packet)`, theirs `parser.parse(one packet)`;
 * - encode: ours `encode(packet)`, theirs `generate(object)`.
 * Each side warms up, then runs for a fixed time budget split into rounds that alternate ours and theirs (so
 * a burst of load from elsewhere on the machine hits both); the best round counts. Figures are packets/s and
 * MB/s of wire bytes (1 MB = 10^6 bytes).
 */
import mqtt from 'mqtt-packet';
import { decode, encode, type Packet, type ProtocolVersion, StreamDecoder } from '../src/codec/index.js';
import { type MqttPacket, toMqttPacket } from '../src/codec/mqtt-packet-interop.js';

interface Options {
  budgetMs: number;
  rounds: number;
  warmupMs: number;
  filter: string | undefined;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { budgetMs: 300, rounds: 3, warmupMs: 150, filter: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--budget') opts.budgetMs = Number(argv[++i]);
    else if (a === '--rounds') opts.rounds = Math.max(1, Number(argv[++i]));
    else if (a === '--warmup') opts.warmupMs = Number(argv[++i]);
    else if (a === '--filter') opts.filter = argv[++i];
    else if (a === '--json') opts.json = true;
  }
  return opts;
}

// --- workloads ------------------------------------------------------------------------------------------

interface Workload {
  name: string;
  v: ProtocolVersion;
  packet: Packet;
}

function payload(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31) & 0xff;
  return b;
}

const TOPIC = 'sensors/building-7/floor-3/room-12/temperature';

function publish(v: ProtocolVersion, size: number): Workload {
  const p: Packet =
    v === 4
      ? { type: 'publish', topic: TOPIC, payload: payload(size), qos: 0, retain: false, dup: false }
      : {
          type: 'publish',
          topic: TOPIC,
          payload: payload(size),
          qos: 1,
          retain: false,
          dup: false,
          packetId: 4242,
          properties: {
            payloadFormatIndicator: 0,
            messageExpiryInterval: 3600,
            contentType: 'application/octet-stream',
            userProperties: [
              ['trace', 'abc123'],
              ['origin', 'bench'],
            ],
          },
        };
  const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  return { name: `PUBLISH ${v === 4 ? '3.1.1 QoS 0' : '5.0 QoS 1 +props'} ${label}`, v, packet: p };
}

const WORKLOADS: Workload[] = [
  ...[16, 256, 4096, 65536].map((n) => publish(4, n)),
  ...[16, 256, 4096, 65536].map((n) => publish(5, n)),
  {
    name: 'CONNECT 3.1.1 will+user+pass',
    v: 4,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 60,
      clientId: 'bench-client-0001',
      will: {
        topic: 'clients/bench-client-0001/status',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
      },
      username: 'bench-user',
      password: Buffer.from('correct horse battery staple'),
    },
  },
  {
    name: 'CONNECT 5.0 will+user+pass +props',
    v: 5,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 60,
      clientId: 'bench-client-0001',
      properties: {
        sessionExpiryInterval: 300,
        receiveMaximum: 100,
        maximumPacketSize: 1_048_576,
        topicAliasMaximum: 10,
        requestProblemInformation: 1,
        userProperties: [['region', 'eu-west']],
      },
      will: {
        topic: 'clients/bench-client-0001/status',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
        properties: { willDelayInterval: 5, contentType: 'text/plain' },
      },
      username: 'bench-user',
      password: Buffer.from('correct horse battery staple'),
    },
  },
  {
    name: 'SUBSCRIBE 3.1.1 3 filters',
    v: 4,
    packet: {
      type: 'subscribe',
      packetId: 17,
      subscriptions: [
        { topic: 'sensors/+/floor-3/#', qos: 1 },
        { topic: 'alerts/#', qos: 2 },
        { topic: 'clients/bench-client-0001/inbox', qos: 0 },
      ],
    },
  },
  {
    name: 'SUBSCRIBE 5.0 3 filters +props',
    v: 5,
    packet: {
      type: 'subscribe',
      packetId: 17,
      properties: { subscriptionIdentifier: [42], userProperties: [['k', 'v']] },
      subscriptions: [
        { topic: 'sensors/+/floor-3/#', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0 },
        { topic: 'alerts/#', qos: 2, noLocal: true, retainAsPublished: false, retainHandling: 1 },
        {
          topic: 'clients/bench-client-0001/inbox',
          qos: 0,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 2,
        },
      ],
    },
  },
];

// --- timing ---------------------------------------------------------------------------------------------

/** Defeats dead-code elimination: every measured call feeds it. */
let sink = 0;

/** Runs `op` (which handles `perCall` packets) for `ms` milliseconds; returns packets per second. */
function timed(op: () => void, perCall: number, ms: number): number {
  const limit = BigInt(Math.round(ms * 1e6));
  const start = process.hrtime.bigint();
  let calls = 0;
  let batch = 1;
  let elapsed = 0n;
  for (;;) {
    for (let i = 0; i < batch; i++) op();
    calls += batch;
    elapsed = process.hrtime.bigint() - start;
    if (elapsed >= limit) break;
    // Grow batches so the clock is read rarely, but stay well inside the budget.
    if (elapsed * 20n < limit) batch *= 2;
  }
  return (calls * perCall) / (Number(elapsed) / 1e9);
}

/** Warms both up, then alternates them for `rounds` rounds sharing the budget; best round of each. */
function compare(ours: () => void, theirs: () => void, perCall: number, opts: Options): [number, number] {
  timed(ours, perCall, opts.warmupMs);
  timed(theirs, perCall, opts.warmupMs);
  const ms = opts.budgetMs / opts.rounds;
  let a = 0;
  let b = 0;
  for (let i = 0; i < opts.rounds; i++) {
    a = Math.max(a, timed(ours, perCall, ms));
    b = Math.max(b, timed(theirs, perCall, ms));
  }
  return [a, b];
}

interface Row {
  workload: string;
  bytes: number;
  op: string;
  ours: number;
  theirs: number;
}

/** How many packets the stream buffer holds: at least 64, and about 256 KiB when packets are small. */
function streamCount(size: number): number {
  return Math.max(64, Math.min(4096, Math.ceil(262_144 / size)));
}

function benchWorkload(w: Workload, opts: Options): Row[] {
  const { v, packet } = w;
  const ours = encode(packet, { protocolVersion: v });
  const theirsObject = toMqttPacket(packet, v);
  const theirs = mqtt.generate(theirsObject, { protocolVersion: v });
  const size = ours.length;
  const n = streamCount(size);
  const stream = Buffer.concat(Array.from({ length: n }, () => ours));
  // Fed as a socket delivers it: 64 KiB reads, each in its own memory.
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += 65_536) {
    chunks.push(Buffer.from(stream.subarray(at, at + 65_536)));
  }

  // Sanity: both sides read what the other wrote, and the stream holds n packets for both.
  const check = decode(theirs, { protocolVersion: v });
  if (!check.ok) throw new Error(`${w.name}: decode of mqtt-packet's bytes failed: ${check.error.code}`);
  const sd = new StreamDecoder({ protocolVersion: v });
  const parser = mqtt.parser({ protocolVersion: v });
  let parsed = 0;
  parser.on('packet', (p: MqttPacket) => {
    parsed++;
    sink += p.cmd.length;
  });
  parser.on('error', (e: Error) => {
    throw e;
  });
  const first = sd.push(stream);
  parser.parse(stream);
  if (first.length !== n || !first.every((e) => e.ok) || parsed !== n) {
    throw new Error(
      `${w.name}: stream sanity check failed (ours ${first.length}, theirs ${parsed}, want ${n})`,
    );
  }

  const rows: Row[] = [];
  const row = (op: string, oursFn: () => void, theirsFn: () => void, perCall: number): void => {
    const [o, t] = compare(oursFn, theirsFn, perCall, opts);
    rows.push({ workload: w.name, bytes: size, op, ours: o, theirs: t });
  };

  row(
    `decode stream x${n}`,
    () => {
      for (const c of chunks) sink += sd.push(c).length;
    },
    () => {
      for (const c of chunks) parser.parse(c);
    },
    n,
  );
  row(
    'decode single',
    () => {
      const r = decode(ours, { protocolVersion: v });
      sink += r.ok ? 1 : 0;
    },
    () => {
      parser.parse(ours);
    },
    1,
  );
  row(
    'encode',
    () => {
      sink += encode(packet, { protocolVersion: v }).length;
    },
    () => {
      sink += mqtt.generate(theirsObject, { protocolVersion: v }).length;
    },
    1,
  );
  if (sd.failed || sd.buffered !== 0) throw new Error(`${w.name}: our stream decoder ended in a bad state`);
  return rows;
}

// --- output ---------------------------------------------------------------------------------------------

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

function fmtMB(pps: number, bytes: number): string {
  return ((pps * bytes) / 1e6).toFixed(1);
}

function printTable(rows: Row[]): void {
  const header = [
    'workload',
    'B/pkt',
    'operation',
    'ours pkt/s',
    'ours MB/s',
    'mqtt-packet pkt/s',
    'mqtt-packet MB/s',
    'ours/theirs',
  ];
  const body = rows.map((r) => [
    r.workload,
    String(r.bytes),
    r.op,
    fmtRate(r.ours),
    fmtMB(r.ours, r.bytes),
    fmtRate(r.theirs),
    fmtMB(r.theirs, r.bytes),
    `${(r.ours / r.theirs).toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i < 3 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const selected = WORKLOADS.filter(
    (w) => opts.filter === undefined || w.name.toLowerCase().includes(opts.filter.toLowerCase()),
  );
  if (!opts.json) {
    console.log(
      `codec throughput, node ${process.version}, ${opts.budgetMs} ms per figure in ${opts.rounds} rounds (best), warm-up ${opts.warmupMs} ms`,
    );
  }
  const rows: Row[] = [];
  for (const w of selected) rows.push(...benchWorkload(w, opts));
  if (opts.json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows);
  if (sink === -1) console.log('unreachable');
}

main();
