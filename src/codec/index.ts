export { type DecodeOptions, decode, decodeFrame } from './decode.js';
export { type EncodeOptions, encode } from './encode.js';
export { packetEquals } from './equals.js';
export * from './errors.js';
export {
  type FramerEvent,
  MAX_PACKET_SIZE,
  PacketFramer,
  StreamDecoder,
  type StreamDecoderOptions,
  type StreamEvent,
} from './framer.js';
export type { EncodeOverrides } from './overrides.js';
export { PROPERTY_BY_ID, PROPERTY_BY_NAME, type PropertyName } from './properties.js';
export { ReasonCode, ReturnCode } from './reason-codes.js';
export { isValidTopicFilter, isValidTopicName, parseSharedFilter, topicMatches } from './topic.js';
export * from './types.js';
