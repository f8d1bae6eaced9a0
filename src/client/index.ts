export {
  describeEvent,
  describeMatch,
  describePacket,
  formatBytes,
  formatValue,
  type MatchResult,
  matchPacket,
} from './match.js';
export {
  ConnectError,
  type ConnectErrorCode,
  describeFailure,
  isConnectError,
  RawClient,
} from './raw-client.js';
export {
  formatTranscript,
  formatTranscriptEntry,
  InvalidHexError,
  mergeTranscripts,
  parseHex,
  spacedHex,
  toHex,
} from './transcript.js';
export type * from './types.js';
