import type { DecodeError, DecodeResult } from './errors.js';
import { DecodeFailure, Reader, readRemainingLength } from './fields.js';
import { PROPERTY_BY_ID, type PropertyScope } from './properties.js';
import { V4_CONNACK_CODES, V4_SUBACK_CODES, V5_REASON_CODES } from './reason-codes.js';
import {
  type AckPacket,
  type ConnackPacket,
  type ConnectPacket,
  type DisconnectPacket,
  type Packet,
  type PacketType,
  PacketTypeName,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type SubackPacket,
  type SubscribePacket,
  type Subscription,
  type UnsubackPacket,
  type UnsubscribePacket,
  type Will,
} from './types.js';

export interface DecodeOptions {
  /** Protocol level of the connection; a CONNECT carries its own. Default 4. */
  protocolVersion?: ProtocolVersion;
  /** Packets larger than this (whole packet, in bytes) are rejected. Default: no limit beyond the spec's. */
  maxPacketSize?: number;
}

/** Fixed-header flags each packet type must carry (PUBLISH is checked field by field). */
const FIXED_FLAGS: Record<PacketType, number> = {
  connect: 0,
  connack: 0,
  publish: -1,
  puback: 0,
  pubrec: 0,
  pubrel: 2,
  pubcomp: 0,
  subscribe: 2,
  suback: 0,
  unsubscribe: 2,
  unsuback: 0,
  pingreq: 0,
  pingresp: 0,
  disconnect: 0,
  auth: 0,
};

/** The statement naming each packet type's reserved flags, where the spec has a specific one. */
const FLAG_STATEMENTS: Partial<Record<PacketType, string>> = {
  pubrel: 'MQTT-3.6.1-1',
  subscribe: 'MQTT-3.8.1-1',
  unsubscribe: 'MQTT-3.10.1-1',
  disconnect: 'MQTT-3.14.1-1',
  auth: 'MQTT-3.15.1-1',
};

function failure(error: DecodeError): { ok: false; error: DecodeError } {
  return { ok: false, error };
}

/**
 * Decodes exactly one whole packet (fixed header included). Never throws: any byte sequence gives either a
 * packet or a typed error. Bytes after the packet, or a packet shorter than its remaining length, are errors.
 */
export function decode(bytes: Uint8Array, opts: DecodeOptions = {}): DecodeResult<Packet> {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) return failure({ code: 'TRUNCATED', message: 'no bytes', offset: 0 });
  const header = buf[0]!;
  const rl = readRemainingLength(buf, 1, buf.length);
  if (!rl.ok) {
    if (rl.error === undefined) {
      return failure({ code: 'TRUNCATED', message: 'remaining length is cut short', offset: buf.length });
    }
    if (rl.error.code === 'NON_MINIMAL_VARINT' && opts.protocolVersion === 5)
      rl.error.statement = 'MQTT-1.5.5-1';
    return failure(rl.error);
  }
  const i = 1 + rl.size;
  const len = rl.value;
  const total = i + len;
  if (opts.maxPacketSize !== undefined && total > opts.maxPacketSize) {
    return failure({
      code: 'PACKET_TOO_LARGE',
      message: `packet of ${total} bytes exceeds the maximum packet size ${opts.maxPacketSize}`,
      offset: 0,
    });
  }
  if (buf.length < total) {
    return failure({
      code: 'TRUNCATED',
      message: `remaining length ${len} but only ${buf.length - i} byte(s) follow`,
      offset: 1,
    });
  }
  if (buf.length > total) {
    return failure({
      code: 'TRAILING_BYTES',
      message: `${buf.length - total} byte(s) after the end of the packet`,
      offset: total,
    });
  }
  return decodeFrame(header, buf.subarray(i, total), opts, i);
}

/**
 * Decodes a framed packet: the first byte and the body the remaining length delimits (as the framer yields
 * them). `base` is the body's offset within the packet, for error offsets.
 */
export function decodeFrame(
  header: number,
  body: Buffer,
  opts: DecodeOptions = {},
  base = 1,
): DecodeResult<Packet> {
  const typeCode = header >> 4;
  const flags = header & 0x0f;
  const version = opts.protocolVersion ?? 4;
  const type = PacketTypeName[typeCode];
  if (type === undefined || (type === 'auth' && version !== 5)) {
    return failure({
      code: 'RESERVED_PACKET_TYPE',
      message: `packet type ${typeCode} is reserved${type === 'auth' ? ' in MQTT 3.1.1' : ''}`,
      offset: 0,
    });
  }
  const expected = FIXED_FLAGS[type];
  if (expected >= 0 && flags !== expected) {
    const generic = version === 5 ? 'MQTT-2.1.3-1' : 'MQTT-2.2.2-2';
    return failure({
      code: 'RESERVED_FLAGS',
      message: `${type.toUpperCase()} fixed-header flags are 0x${flags.toString(16)}, must be 0x${expected.toString(16)}`,
      statement: FLAG_STATEMENTS[type] ?? generic,
      packetType: type,
      offset: 0,
    });
  }
  const r = new Reader(body, 0, body.length, version, type, base);
  try {
    const packet = DECODERS[type](r, flags);
    return { ok: true, packet };
  } catch (e) {
    if (e instanceof DecodeFailure) return { ok: false, error: e.error };
    // A bug in the decoder must still not escape as an exception.
    return failure({
      code: 'INTERNAL_ERROR',
      message: `internal decoder error: ${(e as Error).message}`,
      packetType: type,
    });
  }
}

type Decoder = (r: Reader, flags: number) => Packet;

function properties(r: Reader, scope: PropertyScope): Properties {
  const len = r.varint('property length');
  const start = r.pos;
  if (start + len > r.end) {
    r.fail('TRUNCATED', `property length ${len} overruns the packet (${r.end - start} byte(s) left)`);
  }
  const props: Properties = {};
  if (len === 0) return props;
  const sub: Reader = new Reader(r.buf, start, start + len, r.version, r.packetType, r.base);
  const seen = new Set<number>();
  const bag = props as Record<string, unknown>;
  while (sub.remaining() > 0) {
    const at = sub.pos;
    const id = sub.varint('property identifier');
    const def = PROPERTY_BY_ID.get(id);
    if (def === undefined)
      sub.fail('UNKNOWN_PROPERTY', `unknown property identifier 0x${id.toString(16)}`, undefined, at);
    if (!def.scopes.includes(scope)) {
      sub.fail(
        'PROPERTY_NOT_ALLOWED',
        `property ${def.name} (0x${id.toString(16)}) is not allowed in ${scope}`,
        undefined,
        at,
      );
    }
    const repeatable = def.repeatable?.includes(scope) ?? false;
    if (seen.has(id) && !repeatable) {
      sub.fail(
        'DUPLICATE_PROPERTY',
        `property ${def.name} (0x${id.toString(16)}) appears more than once`,
        undefined,
        at,
      );
    }
    seen.add(id);
    let value: unknown;
    switch (def.kind) {
      case 'byte':
        value = sub.u8(def.name);
        break;
      case 'u16':
        value = sub.u16(def.name);
        break;
      case 'u32':
        value = sub.u32(def.name);
        break;
      case 'varint':
        value = sub.varint(def.name);
        break;
      case 'utf8':
        value = sub.utf8(def.name);
        break;
      case 'binary':
        value = Buffer.from(sub.binary(def.name));
        break;
      case 'pair':
        value = [sub.utf8(`${def.name} name`), sub.utf8(`${def.name} value`)];
        break;
    }
    if (def.valid !== undefined && !def.valid(value as number)) {
      sub.fail(
        'INVALID_PROPERTY_VALUE',
        `property ${def.name} has invalid value ${String(value)}`,
        undefined,
        at,
      );
    }
    if (def.kind === 'pair' || def.name === 'subscriptionIdentifier') {
      const list = (bag[def.name] as unknown[] | undefined) ?? [];
      list.push(value);
      bag[def.name] = list;
    } else {
      bag[def.name] = value;
    }
  }
  r.pos = start + len;
  return props;
}

function checkReasonCode(r: Reader, code: number, at: number): void {
  if (r.version === 5) {
    const allowed = V5_REASON_CODES[r.packetType];
    if (allowed !== undefined && !allowed.has(code)) {
      const statement =
        r.packetType === 'connack' ? 'MQTT-3.2.2-8' : r.packetType === 'suback' ? 'MQTT-3.9.3-2' : undefined;
      r.fail(
        'INVALID_REASON_CODE',
        `reason code 0x${code.toString(16)} is not valid in ${r.packetType.toUpperCase()}`,
        statement,
        at,
      );
    }
  } else if (r.packetType === 'connack' && !V4_CONNACK_CODES.has(code)) {
    r.fail('INVALID_REASON_CODE', `CONNACK return code ${code} is reserved`, undefined, at);
  } else if (r.packetType === 'suback' && !V4_SUBACK_CODES.has(code)) {
    r.fail(
      'INVALID_REASON_CODE',
      `SUBACK return code 0x${code.toString(16)} is reserved`,
      'MQTT-3.9.3-2',
      at,
    );
  }
}

function packetId(r: Reader): number {
  const at = r.pos;
  const id = r.u16('packet identifier');
  if (id === 0) {
    r.fail('PACKET_ID_ZERO', 'packet identifier is 0', r.s('MQTT-2.3.1-1', undefined), at);
  }
  return id;
}

function decodeConnect(r: Reader): ConnectPacket {
  const protocolName = r.utf8('protocol name');
  const levelAt = r.pos;
  const protocolVersion = r.u8('protocol level');
  if (protocolName !== 'MQTT' && !(protocolName === 'MQIsdp' && protocolVersion === 3)) {
    r.fail(
      'INVALID_PROTOCOL_NAME',
      `protocol name is ${JSON.stringify(protocolName)}, not "MQTT"`,
      'MQTT-3.1.2-1',
      0,
    );
  }
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    r.fail(
      'UNSUPPORTED_PROTOCOL_VERSION',
      `protocol level ${protocolVersion} is not supported (4 = 3.1.1, 5 = 5.0)`,
      'MQTT-3.1.2-2',
      levelAt,
    );
  }
  // Everything after the level is read with the CONNECT's own version.
  const v: Reader = new Reader(r.buf, r.pos, r.end, protocolVersion, 'connect', r.base);
  const flagsAt = v.pos;
  const flags = v.u8('connect flags');
  if (flags & 0x01)
    v.fail('CONNECT_RESERVED_FLAG', 'connect flags reserved bit 0 is set', 'MQTT-3.1.2-3', flagsAt);
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const passwordFlag = (flags & 0x40) !== 0;
  const usernameFlag = (flags & 0x80) !== 0;
  if (!willFlag && willQos !== 0) {
    v.fail(
      'INVALID_WILL_FLAGS',
      'Will QoS is set without the Will flag',
      v.s('MQTT-3.1.2-13', 'MQTT-3.1.2-11'),
      flagsAt,
    );
  }
  if (willQos === 3) {
    v.fail('INVALID_WILL_FLAGS', 'Will QoS is 3', v.s('MQTT-3.1.2-14', 'MQTT-3.1.2-12'), flagsAt);
  }
  if (!willFlag && willRetain) {
    v.fail(
      'INVALID_WILL_FLAGS',
      'Will Retain is set without the Will flag',
      v.s('MQTT-3.1.2-15', 'MQTT-3.1.2-13'),
      flagsAt,
    );
  }
  if (protocolVersion === 4 && passwordFlag && !usernameFlag) {
    v.fail(
      'PASSWORD_WITHOUT_USERNAME',
      'password flag is set without the user name flag',
      'MQTT-3.1.2-22',
      flagsAt,
    );
  }
  const keepAlive = v.u16('keep alive');
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName,
    protocolVersion,
    clean: (flags & 0x02) !== 0,
    keepAlive,
    clientId: '',
  };
  if (protocolVersion === 5) packet.properties = properties(v, 'connect');
  packet.clientId = v.utf8('client identifier');
  if (willFlag) {
    const willProps = protocolVersion === 5 ? properties(v, 'will') : undefined;
    const will: Will = {
      topic: v.utf8('will topic'),
      payload: Buffer.from(v.binary('will payload')),
      qos: willQos as QoS,
      retain: willRetain,
    };
    if (willProps !== undefined) will.properties = willProps;
    packet.will = will;
  }
  if (usernameFlag) packet.username = v.utf8('user name');
  if (passwordFlag) packet.password = Buffer.from(v.binary('password'));
  v.done();
  return packet;
}

function decodeConnack(r: Reader): ConnackPacket {
  const flagsAt = r.pos;
  const flags = r.u8('connect acknowledge flags');
  if (flags & 0xfe) {
    r.fail(
      'CONNACK_RESERVED_FLAGS',
      `connect acknowledge flags reserved bits are set (0x${flags.toString(16)})`,
      r.s(undefined, 'MQTT-3.2.2-1'),
      flagsAt,
    );
  }
  const codeAt = r.pos;
  const reasonCode = r.u8('return code');
  checkReasonCode(r, reasonCode, codeAt);
  const packet: ConnackPacket = { type: 'connack', sessionPresent: (flags & 1) === 1, reasonCode };
  if (r.version === 5) packet.properties = properties(r, 'connack');
  r.done();
  return packet;
}

function decodePublish(r: Reader, flags: number): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  const dup = (flags & 0x08) !== 0;
  if (qos === 3) r.fail('INVALID_QOS', 'PUBLISH QoS bits are both set', 'MQTT-3.3.1-4', -r.base);
  if (qos === 0 && dup) r.fail('DUP_AT_QOS0', 'PUBLISH has DUP set at QoS 0', 'MQTT-3.3.1-2', -r.base);
  const topicAt = r.pos;
  const topic = r.utf8('topic name');
  if (topic.includes('+') || topic.includes('#')) {
    r.fail(
      'TOPIC_NAME_WILDCARD',
      `topic name ${JSON.stringify(topic)} contains a wildcard`,
      'MQTT-3.3.2-2',
      topicAt,
    );
  }
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: Buffer.alloc(0),
    qos: qos as QoS,
    retain: (flags & 0x01) !== 0,
    dup,
  };
  if (qos > 0) packet.packetId = packetId(r);
  if (r.version === 5) {
    const props = properties(r, 'publish');
    packet.properties = props;
    if (topic === '' && props.topicAlias === undefined) {
      r.fail('EMPTY_TOPIC', 'topic name is empty and no topic alias is given', undefined, topicAt);
    }
  } else if (topic === '') {
    r.fail('EMPTY_TOPIC', 'topic name is empty', 'MQTT-4.7.3-1', topicAt);
  }
  const rest = r.rest();
  // Zero-copy when the payload is at least 1/16 of the memory it would keep alive (a large packet, or one
  // the framer reassembled into its own buffer); otherwise copy, so a small payload never pins a big
  // receive chunk.
  packet.payload = rest.length * 16 >= rest.buffer.byteLength ? rest : Buffer.from(rest);
  return packet;
}

function decodeAck<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>(r: Reader): AckPacket<T> {
  const packet = { type: r.packetType, packetId: packetId(r) } as AckPacket<T>;
  if (r.version === 5) Object.assign(packet, optionalReasonAndProperties(r));
  r.done();
  return packet;
}

/**
 * 5.0 acknowledgements, DISCONNECT and AUTH: the reason code and the property block may each be left out
 * (reason code 0, no properties) when nothing follows them.
 */
function optionalReasonAndProperties(r: Reader): { reasonCode: number; properties: Properties } {
  let reasonCode = 0;
  if (r.remaining() > 0) {
    const at = r.pos;
    reasonCode = r.u8('reason code');
    checkReasonCode(r, reasonCode, at);
  }
  return { reasonCode, properties: r.remaining() > 0 ? properties(r, r.packetType) : {} };
}

function decodeSubscribe(r: Reader): SubscribePacket {
  const packet: SubscribePacket = { type: 'subscribe', packetId: packetId(r), subscriptions: [] };
  if (r.version === 5) packet.properties = properties(r, 'subscribe');
  while (r.remaining() > 0) {
    const topicAt = r.pos;
    const topic = r.utf8('topic filter');
    if (topic === '') r.fail('EMPTY_TOPIC', 'topic filter is empty', 'MQTT-4.7.3-1', topicAt);
    const optAt = r.pos;
    const opts = r.u8('subscription options');
    const qos = opts & 0x03;
    if (qos === 3)
      r.fail('INVALID_SUBSCRIPTION_OPTIONS', 'requested QoS is 3', r.s('MQTT-3.8.3-4', undefined), optAt);
    const sub: Subscription = { topic, qos: qos as QoS };
    if (r.version === 5) {
      if (opts & 0xc0) {
        r.fail(
          'INVALID_SUBSCRIPTION_OPTIONS',
          'subscription options reserved bits 6-7 are set',
          'MQTT-3.8.3-5',
          optAt,
        );
      }
      const rh = (opts >> 4) & 0x03;
      if (rh === 3) r.fail('INVALID_SUBSCRIPTION_OPTIONS', 'retain handling is 3', undefined, optAt);
      sub.noLocal = (opts & 0x04) !== 0;
      sub.retainAsPublished = (opts & 0x08) !== 0;
      sub.retainHandling = rh as 0 | 1 | 2;
    } else if (opts & 0xfc) {
      r.fail(
        'INVALID_SUBSCRIPTION_OPTIONS',
        'requested QoS byte reserved bits 2-7 are set',
        'MQTT-3.8.3-4',
        optAt,
      );
    }
    packet.subscriptions.push(sub);
  }
  if (packet.subscriptions.length === 0) {
    r.fail('EMPTY_SUBSCRIBE', 'SUBSCRIBE has no topic filter', r.s('MQTT-3.8.3-3', 'MQTT-3.8.3-2'));
  }
  return packet;
}

function decodeSuback(r: Reader): SubackPacket {
  const packet: SubackPacket = { type: 'suback', packetId: packetId(r), reasonCodes: [] };
  if (r.version === 5) packet.properties = properties(r, 'suback');
  while (r.remaining() > 0) {
    const at = r.pos;
    const code = r.u8('return code');
    checkReasonCode(r, code, at);
    packet.reasonCodes.push(code);
  }
  return packet;
}

function decodeUnsubscribe(r: Reader): UnsubscribePacket {
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId: packetId(r), topics: [] };
  if (r.version === 5) packet.properties = properties(r, 'unsubscribe');
  while (r.remaining() > 0) {
    const at = r.pos;
    const topic = r.utf8('topic filter');
    if (topic === '') r.fail('EMPTY_TOPIC', 'topic filter is empty', 'MQTT-4.7.3-1', at);
    packet.topics.push(topic);
  }
  if (packet.topics.length === 0) {
    r.fail('EMPTY_UNSUBSCRIBE', 'UNSUBSCRIBE has no topic filter', 'MQTT-3.10.3-2');
  }
  return packet;
}

function decodeUnsuback(r: Reader): UnsubackPacket {
  const packet: UnsubackPacket = { type: 'unsuback', packetId: packetId(r) };
  if (r.version === 5) {
    packet.properties = properties(r, 'unsuback');
    const codes: number[] = [];
    while (r.remaining() > 0) {
      const at = r.pos;
      const code = r.u8('reason code');
      checkReasonCode(r, code, at);
      codes.push(code);
    }
    packet.reasonCodes = codes;
  }
  r.done();
  return packet;
}

function decodeDisconnect(r: Reader): DisconnectPacket {
  const packet: DisconnectPacket = { type: 'disconnect' };
  if (r.version === 5) Object.assign(packet, optionalReasonAndProperties(r));
  r.done();
  return packet;
}

const DECODERS: Record<PacketType, Decoder> = {
  connect: decodeConnect,
  connack: decodeConnack,
  publish: decodePublish,
  puback: decodeAck,
  pubrec: decodeAck,
  pubrel: decodeAck,
  pubcomp: decodeAck,
  subscribe: decodeSubscribe,
  suback: decodeSuback,
  unsubscribe: decodeUnsubscribe,
  unsuback: decodeUnsuback,
  pingreq: (r) => {
    r.done();
    return { type: 'pingreq' };
  },
  pingresp: (r) => {
    r.done();
    return { type: 'pingresp' };
  },
  disconnect: decodeDisconnect,
  auth: (r) => {
    const packet = { type: 'auth' as const, ...optionalReasonAndProperties(r) };
    r.done();
    return packet;
  },
};
