import { MAX_VARINT, varintBytes, Writer, writeVarint } from './fields.js';
import type { EncodeOverrides } from './overrides.js';
import { PROPERTY_ORDER, type PropertyDef } from './properties.js';
import {
  type AckPacket,
  type ConnackPacket,
  type ConnectPacket,
  type DisconnectPacket,
  type Packet,
  PacketTypeCode,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type SubackPacket,
  type SubscribePacket,
  type UnsubackPacket,
  type UnsubscribePacket,
} from './types.js';

export interface EncodeOptions {
  /** Protocol level for every packet but CONNECT (which carries its own). Default 4. */
  protocolVersion?: ProtocolVersion;
  /** Deliberate deviations, for malformed packets. */
  overrides?: EncodeOverrides;
}

const EMPTY = Buffer.alloc(0);

/**
 * Encodes a packet. Valid packets come out exactly as the spec lays them out; the encoder does not validate
 * field values (QoS 3, packet id 0, wildcards in a topic name are written as given), and `overrides` write
 * any part wrong on purpose.
 */
export function encode(packet: Packet, opts: EncodeOptions = {}): Buffer {
  const ov = opts.overrides;
  const version = packet.type === 'connect' ? packet.protocolVersion : (opts.protocolVersion ?? 4);
  const v5 = version === 5;
  let w: Writer;
  let flags = 0;
  switch (packet.type) {
    case 'connect':
      w = new Writer(connectSizeHint(packet));
      encodeConnect(w, packet, v5, ov);
      break;
    case 'connack':
      w = new Writer(16);
      encodeConnack(w, packet, v5, ov);
      break;
    case 'publish':
      w = new Writer(packet.payload.length + packet.topic.length * 3 + (v5 ? 128 : 16));
      flags = encodePublish(w, packet, v5, ov);
      break;
    case 'puback':
    case 'pubrec':
    case 'pubcomp':
    case 'pubrel':
      w = new Writer(8);
      encodeAck(w, packet, v5, ov);
      if (packet.type === 'pubrel') flags = 2;
      break;
    case 'subscribe':
      w = new Writer(64);
      encodeSubscribe(w, packet, v5, ov);
      flags = 2;
      break;
    case 'suback':
      w = new Writer(16);
      encodeSuback(w, packet, v5, ov);
      break;
    case 'unsubscribe':
      w = new Writer(64);
      encodeUnsubscribe(w, packet, v5, ov);
      flags = 2;
      break;
    case 'unsuback':
      w = new Writer(16);
      encodeUnsuback(w, packet, v5, ov);
      break;
    case 'pingreq':
    case 'pingresp':
      w = new Writer(0);
      break;
    case 'disconnect':
    case 'auth':
      w = new Writer(16);
      encodeReasonOnly(w, packet, v5 || packet.type === 'auth', ov);
      break;
  }
  return finish(w, PacketTypeCode[packet.type], flags, ov);
}

function finish(w: Writer, typeCode: number, flags: number, ov: EncodeOverrides | undefined): Buffer {
  const start = 5;
  let end = w.pos;
  if (ov !== undefined) {
    if (ov.trailing !== undefined) {
      w.bytes(ov.trailing);
      end = w.pos;
    }
    if (ov.truncate !== undefined) end = Math.max(start, end - ov.truncate);
  }
  const bodyLen = end - start;
  const first =
    ov === undefined
      ? (typeCode << 4) | flags
      : ((ov.packetType ?? typeCode) << 4) | ((ov.flags ?? flags) & 0x0f);
  let rl: Uint8Array | undefined;
  if (ov?.remainingLength !== undefined) {
    rl = typeof ov.remainingLength === 'number' ? varintBytes(ov.remainingLength) : ov.remainingLength;
  }
  if (rl === undefined && bodyLen > MAX_VARINT) rl = varintBytes(bodyLen);
  if (rl === undefined) {
    // Common path: write header into the reserved room just before the body.
    const rlSize = bodyLen < 128 ? 1 : bodyLen < 16_384 ? 2 : bodyLen < 2_097_152 ? 3 : 4;
    const at = start - 1 - rlSize;
    w.buf[at] = first & 0xff;
    writeVarint(w.buf, at + 1, bodyLen);
    return w.buf.subarray(at, end);
  }
  if (rl.length <= 4) {
    const at = start - 1 - rl.length;
    w.buf[at] = first & 0xff;
    w.buf.set(rl, at + 1);
    return w.buf.subarray(at, end);
  }
  return Buffer.concat([Buffer.from([first & 0xff]), rl, w.buf.subarray(start, end)]);
}

// --- named fields, with overrides -------------------------------------------------------------------

function omitted(ov: EncodeOverrides | undefined, name: string): boolean {
  return ov?.omit?.includes(name) === true;
}

/** A length-prefixed string or binary field, honouring `fieldBytes`, `lengthPrefix` and `omit`. */
function field(w: Writer, name: string, value: string | Uint8Array, ov: EncodeOverrides | undefined): void {
  if (ov === undefined) {
    if (typeof value === 'string') w.utf8(value);
    else w.binary(value);
    return;
  }
  if (omitted(ov, name)) return;
  const bytes = ov.fieldBytes?.[name] ?? (typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
  w.u16(ov.lengthPrefix?.[name] ?? bytes.length);
  w.bytes(bytes);
}

function u8Field(w: Writer, name: string, v: number, ov: EncodeOverrides | undefined): void {
  if (!omitted(ov, name)) w.u8(v);
}

function u16Field(w: Writer, name: string, v: number, ov: EncodeOverrides | undefined): void {
  if (!omitted(ov, name)) w.u16(v);
}

// --- properties ---------------------------------------------------------------------------------------

function hasProperties(p: Properties | undefined): boolean {
  if (p === undefined) return false;
  for (const k in p) {
    if ((p as Record<string, unknown>)[k] !== undefined) return true;
  }
  return false;
}

function writePropertyValue(w: Writer, def: PropertyDef, value: unknown): void {
  switch (def.kind) {
    case 'byte':
      w.u8(value as number);
      break;
    case 'u16':
      w.u16(value as number);
      break;
    case 'u32':
      w.u32(value as number);
      break;
    case 'varint':
      w.varint(value as number);
      break;
    case 'utf8':
      w.utf8(value as string);
      break;
    case 'binary':
      w.binary(value as Uint8Array);
      break;
    case 'pair': {
      const [k, v] = value as [string, string];
      w.utf8(k);
      w.utf8(v);
      break;
    }
  }
}

/** Encodes a property block without its length. */
function encodePropertiesBody(p: Properties | undefined): Buffer {
  if (!hasProperties(p)) return EMPTY;
  const w = new Writer(32, 0);
  const bag = p as Record<string, unknown>;
  for (const def of PROPERTY_ORDER) {
    const value = bag[def.name];
    if (value === undefined) continue;
    if (def.kind === 'pair' || def.name === 'subscriptionIdentifier') {
      for (const item of value as unknown[]) {
        w.varint(def.id);
        writePropertyValue(w, def, item);
      }
    } else {
      w.varint(def.id);
      writePropertyValue(w, def, value);
    }
  }
  return w.buf.subarray(0, w.pos);
}

function writeProperties(
  w: Writer,
  name: 'properties' | 'will.properties',
  p: Properties | undefined,
  ov: EncodeOverrides | undefined,
): void {
  if (ov === undefined && !hasProperties(p)) {
    w.u8(0);
    return;
  }
  if (omitted(ov, name)) return;
  const isWill = name === 'will.properties';
  const raw = isWill ? ov?.willProperties : ov?.properties;
  let body: Uint8Array = raw ?? encodePropertiesBody(p);
  if (!isWill && ov?.extraProperties !== undefined) body = Buffer.concat([body, ov.extraProperties]);
  const lenOv = isWill ? undefined : ov?.propertyLength;
  if (lenOv === undefined) w.varint(body.length);
  else if (typeof lenOv === 'number') w.bytes(varintBytes(lenOv));
  else w.bytes(lenOv);
  w.bytes(body);
}

/** True when the overrides touch the packet's own property block. */
function propertyOverrides(ov: EncodeOverrides | undefined): boolean {
  return (
    ov !== undefined &&
    (ov.properties !== undefined || ov.extraProperties !== undefined || ov.propertyLength !== undefined)
  );
}

// --- packets ------------------------------------------------------------------------------------------

function connectSizeHint(p: ConnectPacket): number {
  return (
    32 +
    p.clientId.length * 3 +
    (p.will ? p.will.topic.length * 3 + p.will.payload.length + 16 : 0) +
    (p.username?.length ?? 0) * 3 +
    (p.password?.length ?? 0)
  );
}

function encodeConnect(w: Writer, p: ConnectPacket, v5: boolean, ov: EncodeOverrides | undefined): void {
  field(w, 'protocolName', p.protocolName, ov);
  u8Field(w, 'protocolVersion', p.protocolVersion, ov);
  let flags = 0;
  if (p.clean) flags |= 0x02;
  if (p.will !== undefined) {
    flags |= 0x04 | ((p.will.qos & 3) << 3);
    if (p.will.retain) flags |= 0x20;
  }
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  u8Field(w, 'connectFlags', ov?.connectFlags ?? flags, ov);
  u16Field(w, 'keepAlive', p.keepAlive, ov);
  if (v5) writeProperties(w, 'properties', p.properties, ov);
  field(w, 'clientId', p.clientId, ov);
  if (p.will !== undefined) {
    if (v5) writeProperties(w, 'will.properties', p.will.properties, ov);
    field(w, 'will.topic', p.will.topic, ov);
    field(w, 'will.payload', p.will.payload, ov);
  }
  if (p.username !== undefined) field(w, 'username', p.username, ov);
  if (p.password !== undefined) field(w, 'password', p.password, ov);
}

function encodeConnack(w: Writer, p: ConnackPacket, v5: boolean, ov: EncodeOverrides | undefined): void {
  u8Field(w, 'sessionPresent', ov?.connackFlags ?? (p.sessionPresent ? 1 : 0), ov);
  u8Field(w, 'reasonCode', p.reasonCode, ov);
  if (v5) writeProperties(w, 'properties', p.properties, ov);
}

function encodePublish(w: Writer, p: PublishPacket, v5: boolean, ov: EncodeOverrides | undefined): number {
  field(w, 'topic', p.topic, ov);
  if (p.qos > 0) u16Field(w, 'packetId', p.packetId ?? 0, ov);
  if (v5) writeProperties(w, 'properties', p.properties, ov);
  if (!omitted(ov, 'payload')) w.bytes(ov?.fieldBytes?.payload ?? p.payload);
  return (p.dup ? 0x08 : 0) | ((p.qos & 3) << 1) | (p.retain ? 0x01 : 0);
}

function encodeAck(
  w: Writer,
  p: AckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>,
  v5: boolean,
  ov: EncodeOverrides | undefined,
): void {
  u16Field(w, 'packetId', p.packetId, ov);
  if (v5) reasonAndProperties(w, p.reasonCode ?? 0, p.properties, ov);
}

/** Reason code then properties, in the shortest form the spec allows unless `form: 'long'`. */
function reasonAndProperties(
  w: Writer,
  reasonCode: number,
  props: Properties | undefined,
  ov: EncodeOverrides | undefined,
): void {
  const withProps = hasProperties(props) || propertyOverrides(ov) || ov?.form === 'long';
  if (reasonCode === 0 && !withProps && ov?.form !== 'long') return;
  u8Field(w, 'reasonCode', reasonCode, ov);
  if (withProps) writeProperties(w, 'properties', props, ov);
}

function encodeSubscribe(w: Writer, p: SubscribePacket, v5: boolean, ov: EncodeOverrides | undefined): void {
  u16Field(w, 'packetId', p.packetId, ov);
  if (v5) writeProperties(w, 'properties', p.properties, ov);
  p.subscriptions.forEach((s, i) => {
    field(w, `subscriptions.${i}.topic`, s.topic, ov);
    let opts = s.qos & 3;
    if (v5) {
      if (s.noLocal) opts |= 0x04;
      if (s.retainAsPublished) opts |= 0x08;
      opts |= ((s.retainHandling ?? 0) & 3) << 4;
    }
    u8Field(w, `subscriptions.${i}.options`, ov?.subscriptionOptions?.[i] ?? opts, ov);
  });
}

function encodeSuback(w: Writer, p: SubackPacket, v5: boolean, ov: EncodeOverrides | undefined): void {
  u16Field(w, 'packetId', p.packetId, ov);
  if (v5) writeProperties(w, 'properties', p.properties, ov);
  if (!omitted(ov, 'reasonCodes')) for (const c of p.reasonCodes) w.u8(c);
}

function encodeUnsubscribe(
  w: Writer,
  p: UnsubscribePacket,
  v5: boolean,
  ov: EncodeOverrides | undefined,
): void {
  u16Field(w, 'packetId', p.packetId, ov);
  if (v5) writeProperties(w, 'properties', p.properties, ov);
  p.topics.forEach((t, i) => {
    field(w, `topics.${i}`, t, ov);
  });
}

function encodeUnsuback(w: Writer, p: UnsubackPacket, v5: boolean, ov: EncodeOverrides | undefined): void {
  u16Field(w, 'packetId', p.packetId, ov);
  if (v5) {
    writeProperties(w, 'properties', p.properties, ov);
    if (!omitted(ov, 'reasonCodes')) for (const c of p.reasonCodes ?? []) w.u8(c);
  }
}

function encodeReasonOnly(
  w: Writer,
  p: DisconnectPacket | Extract<Packet, { type: 'auth' }>,
  v5: boolean,
  ov: EncodeOverrides | undefined,
): void {
  if (v5) reasonAndProperties(w, p.reasonCode ?? 0, p.properties, ov);
}
