export {
  type AuthOptions,
  type AuthPlacement,
  auth,
  type TokenContext,
  type TokenReason,
  type TokenResult,
} from './auth.ts'
export type { Clock, RandomSource } from './clock.ts'
export {
  type CloseAction,
  type CloseInfo,
  type CloseVerdict,
  classifyClose,
} from './close-codes.ts'
export { type Codec, jsonCodec, rawCodec } from './codec.ts'
export type { ConnectionState } from './connection-state.ts'
export type { MessageHandler } from './dispatch.ts'
export { RemoteError, SocketError, type SocketErrorCode, UnauthorizedError } from './errors.ts'
export {
  type DeliveryStats,
  initialSnapshot,
  type ReconnectReason,
  type SessionLost,
  type SocketEventName,
  type SocketEvents,
  type SocketSnapshot,
  type SocketStats,
} from './events.ts'
export { type HeartbeatOptions, heartbeat } from './heartbeat.ts'
export { consoleLogger, type Logger, silentLogger } from './logger.ts'
export type { NetworkSignal, NetworkSource } from './network.ts'
export type { SocketOptions, UrlProvider } from './options.ts'
export type {
  AttemptReason,
  Feature,
  Handshake,
  HandshakeContext,
  Part,
  PartHost,
} from './part.ts'
export { ReconnectingSocket, type SendResult } from './reconnecting-socket.ts'
export { type ReliableOptions, reliable } from './reliable.ts'
export {
  type RequestOptions,
  type RequestsOptions,
  type RequestsPart,
  requests,
} from './requests.ts'
export {
  type BackoffOptions,
  exponentialBackoff,
  fromDelays,
  type RetryContext,
  type RetryPolicy,
} from './retry-policy.ts'
export type {
  AppMessageType,
  CloseCode,
  IncomingOf,
  IncomingType,
  MessageMap,
  OutgoingOf,
  OutgoingType,
  ProtocolType,
  RequestData,
  RequestsOf,
  RequestType,
  ResponseData,
  SchemaValidators,
  SocketSchema,
  StandardSchemaV1,
  UntypedSchema,
  ValidCloseCode,
} from './schema.ts'
export type { DropReason, OverflowPolicy, QueuedMessage, QueueOptions } from './send-queue.ts'
export type { WebSocketConstructor, WebSocketLike } from './transport.ts'
export type { Envelope, ErrorPayload, Frame, MessageData } from './wire.ts'
