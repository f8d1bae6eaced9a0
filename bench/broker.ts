/**
 * Broker benchmark: QoS 0 and QoS 1 throughput (fan-in and fan-out) and round-trip latency (p50/p99) for the
 * reference broker, aedes and mosquitto, each in its own process on 127.0.0.1, driven by the same raw
 * 3.1.1 clients. Run: `npx tsx bench/broker.ts`. Environment: BENCH_SCALE=0.2 for a quick run;
 * BENCH_ROUNDS=n runs every broker n times, interleaved, and keeps each figure's best (default 3; the best of
 * several runs filters out other load on a shared machine); BENCH_BROKERS=reference,aedes picks brokers;
 * BENCH_TARGET=127.0.0.1:1883 measures an already running broker instead.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode, PacketFramer } from '../src/codec/index.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MOSQUITTO = '/usr/sbin/mosquitto';
const TOPIC = 'bench/t';
const PAYLOAD_SIZE = 32;

// ---------------------------------------------------------------- broker processes

async function serve(kind: string): Promise<void> {
  // Exit cleanly on signals so --cpu-prof and friends write their output.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
  if (kind === 'reference') {
    const { startBroker } = await import('../reference-broker/index.js');
    const b = await startBroker({ config: { limits: { maxQueuedMessages: 1_000_000 } } });
    console.log(`PORT ${b.port}`);
    return;
  }
  if (kind === 'aedes') {
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    server.listen(0, '127.0.0.1', () => console.log(`PORT ${(server.address() as AddressInfo).port}`));
    return;
  }
  throw new Error(`unknown broker ${kind}`);
}

interface BrokerProc {
  name: string;
  port: number;
  proc: ChildProcess;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitConnectable(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}

async function launch(name: string): Promise<BrokerProc> {
  if (name === 'mosquitto') {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 100\nmax_queued_messages 1000000\npersistence false\nlog_type none\n`,
    );
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    await waitConnectable(port);
    return { name, port, proc };
  }
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ['--import', 'tsx', self, '--serve', name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { name, port, proc };
}

function stop(b: BrokerProc): Promise<void> {
  return new Promise((resolve) => {
    if (b.proc.exitCode !== null) return resolve();
    b.proc.once('exit', () => resolve());
    b.proc.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- raw bench client (3.1.1)

class BenchClient {
  private readonly framer = new PacketFramer(1 << 24);
  onPublish: (qos: number, packetId: number, sentAt: number) => void = () => {};
  onPuback: (packetId: number) => void = () => {};
  private waiting: ((type: number) => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const ev of this.framer.push(chunk)) if (ev.kind === 'frame') this.frame(ev.raw);
    });
    socket.on('error', () => {});
  }

  private frame(f: Buffer): void {
    const type = f[0]! >> 4;
    let pos = 1;
    while ((f[pos++]! & 0x80) !== 0);
    if (type === 3) {
      const qos = (f[0]! >> 1) & 3;
      let at = pos + 2 + f.readUInt16BE(pos);
      let id = 0;
      if (qos > 0) {
        id = f.readUInt16BE(at);
        at += 2;
      }
      this.onPublish(qos, id, f.readDoubleLE(at));
      return;
    }
    if (type === 4) {
      this.onPuback(f.readUInt16BE(pos));
      return;
    }
    const w = this.waiting;
    this.waiting = undefined;
    w?.(type);
  }

  private next(): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  static async open(port: number, clientId: string): Promise<BenchClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new BenchClient(socket);
    const ack = c.next();
    socket.write(
      encode({
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepAlive: 0,
        clientId,
      }),
    );
    if ((await ack) !== 2) throw new Error('no CONNACK');
    return c;
  }

  async subscribe(filter: string, qos: 0 | 1): Promise<void> {
    const ack = this.next();
    this.socket.write(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: filter, qos }] }));
    if ((await ack) !== 9) throw new Error('no SUBACK');
  }

  close(): void {
    this.socket.destroy();
  }
}

const PUBACK = (id: number) => Buffer.from([0x40, 2, id >> 8, id & 0xff]);

function publishBytes(qos: 0 | 1, packetId: number): Buffer {
  const payload = Buffer.alloc(PAYLOAD_SIZE);
  payload.writeDoubleLE(performance.now(), 0);
  return encode({
    type: 'publish',
    topic: TOPIC,
    payload,
    qos,
    retain: false,
    dup: false,
    ...(qos ? { packetId } : {}),
  });
}

// ---------------------------------------------------------------- scenarios

interface Throughput {
  rate: number;
  loss: number;
}

async function throughput(
  port: number,
  pubs: number,
  subs: number,
  qos: 0 | 1,
  perPub: number,
): Promise<Throughput> {
  const subscribers = await Promise.all(
    Array.from({ length: subs }, (_, i) => BenchClient.open(port, `s${i}`)),
  );
  for (const s of subscribers) await s.subscribe(TOPIC, qos);
  const publishers = await Promise.all(
    Array.from({ length: pubs }, (_, i) => BenchClient.open(port, `p${i}`)),
  );
  const expected = pubs * perPub * subs;
  let received = 0;
  let last = performance.now();
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  for (const s of subscribers) {
    s.onPublish = (q, id) => {
      received++;
      last = performance.now();
      if (q === 1) s.socket.write(PUBACK(id));
      if (received === expected) finish();
    };
  }
  const idle = setInterval(() => {
    if (performance.now() - last > 2000) finish();
  }, 200);
  const start = performance.now();
  for (const p of publishers) {
    let sent = 0;
    if (qos === 0) {
      const pump = () => {
        while (sent < perPub) {
          sent++;
          if (!p.socket.write(publishBytes(0, 0))) {
            p.socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    } else {
      const WINDOW = 100;
      let inflight = 0;
      let id = 0;
      const pump = () => {
        p.socket.cork();
        while (inflight < WINDOW && sent < perPub) {
          sent++;
          inflight++;
          id = id === 65535 ? 1 : id + 1;
          p.socket.write(publishBytes(1, id));
        }
        p.socket.uncork();
      };
      p.onPuback = () => {
        inflight--;
        if (inflight < WINDOW / 2) pump();
      };
      pump();
    }
  }
  await done;
  clearInterval(idle);
  const secs = (last - start) / 1000;
  for (const c of [...subscribers, ...publishers]) c.close();
  await new Promise((r) => setTimeout(r, 200));
  return { rate: received / secs, loss: 1 - received / expected };
}

async function latency(port: number, qos: 0 | 1, samples: number): Promise<{ p50: number; p99: number }> {
  const sub = await BenchClient.open(port, 'lat-sub');
  await sub.subscribe(TOPIC, qos);
  const pub = await BenchClient.open(port, 'lat-pub');
  const times: number[] = [];
  const warmup = 200;
  let id = 0;
  await new Promise<void>((resolve) => {
    const send = () => {
      id = id === 65535 ? 1 : id + 1;
      pub.socket.write(publishBytes(qos, id));
    };
    sub.onPublish = (q, pid, sentAt) => {
      if (q === 1) sub.socket.write(PUBACK(pid));
      times.push(performance.now() - sentAt);
      if (times.length === samples + warmup) resolve();
      else send();
    };
    send();
  });
  sub.close();
  pub.close();
  const sorted = times.slice(warmup).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { p50: pct(0.5), p99: pct(0.99) };
}

// ---------------------------------------------------------------- main

interface Figures {
  q0in: Throughput;
  q0out: Throughput;
  q1in: Throughput;
  q1out: Throughput;
  l0: { p50: number; p99: number };
  l1: { p50: number; p99: number };
}

async function measure(port: number): Promise<Figures> {
  const n = (x: number) => Math.max(100, Math.round(x * SCALE));
  return {
    q0in: await throughput(port, 10, 1, 0, n(20_000)),
    q0out: await throughput(port, 1, 10, 0, n(20_000)),
    q1in: await throughput(port, 10, 1, 1, n(10_000)),
    q1out: await throughput(port, 1, 10, 1, n(10_000)),
    l0: await latency(port, 0, n(3000)),
    l1: await latency(port, 1, n(3000)),
  };
}

/** Best of several runs: highest throughput (with its loss), lowest latency percentiles. */
function best(runs: Figures[]): Figures {
  const t = (k: 'q0in' | 'q0out' | 'q1in' | 'q1out') =>
    runs.map((r) => r[k]).reduce((a, b) => (b.rate > a.rate ? b : a));
  const l = (k: 'l0' | 'l1') => ({
    p50: Math.min(...runs.map((r) => r[k].p50)),
    p99: Math.min(...runs.map((r) => r[k].p99)),
  });
  return { q0in: t('q0in'), q0out: t('q0out'), q1in: t('q1in'), q1out: t('q1out'), l0: l('l0'), l1: l('l1') };
}

async function main(): Promise<void> {
  const target = process.env.BENCH_TARGET;
  const names = target
    ? [target]
    : (process.env.BENCH_BROKERS?.split(',') ?? [
        'reference',
        'aedes',
        ...(existsSync(MOSQUITTO) ? ['mosquitto'] : []),
      ]);
  const results = new Map<string, Figures[]>(names.map((name) => [name, []]));
  for (let round = 0; round < (target ? 1 : ROUNDS); round++) {
    for (const name of names) {
      if (target) {
        results.get(name)!.push(await measure(Number(target.split(':')[1])));
        continue;
      }
      const b = await launch(name);
      try {
        results.get(name)!.push(await measure(b.port));
        console.error(`${name} round ${round + 1} done`);
      } finally {
        await stop(b);
      }
    }
  }
  const f = (t: Throughput) =>
    `${Math.round(t.rate).toLocaleString('en-US')}${t.loss > 0.0005 ? ` (${(t.loss * 100).toFixed(1)}% lost)` : ''}`;
  const ms = (x: number) => x.toFixed(3);
  const rows = names.map((name) => {
    const r = best(results.get(name)!);
    return {
      broker: name,
      'QoS0 fan-in msg/s': f(r.q0in),
      'QoS0 fan-out msg/s': f(r.q0out),
      'QoS1 fan-in msg/s': f(r.q1in),
      'QoS1 fan-out msg/s': f(r.q1out),
      'QoS0 p50/p99 ms': `${ms(r.l0.p50)} / ${ms(r.l0.p99)}`,
      'QoS1 p50/p99 ms': `${ms(r.l1.p50)} / ${ms(r.l1.p99)}`,
    };
  });
  console.log(
    `MQTT broker benchmark (${PAYLOAD_SIZE}-byte payloads, 3.1.1, fan-in 10->1, fan-out 1->10, scale ${SCALE}, best of ${target ? 1 : ROUNDS})`,
  );
  console.table(rows);
}

if (process.argv[2] === '--serve') await serve(process.argv[3] ?? '');
else await main();
