export type { ServerSocket, SocketHooks } from './connection.ts'
export { AuthRejected, RequestError, ServerError, type ServerErrorCode } from './errors.ts'
export { type MemoryStoreOptions, memoryStore } from './memory-store.ts'
export type {
  AuthContext,
  Authenticate,
  AuthGrant,
  ConnectionContext,
  EventListener,
  MessageContext,
  RequestHandler,
  SocketServerOptions,
} from './options.ts'
export {
  type RedisSessionStore,
  type RedisStoreClient,
  type RedisStoreCommands,
  type RedisStoreOptions,
  type RedisStoreSubscriber,
  redisStore,
} from './redis-store.ts'
export {
  type BroadcastResult,
  createSocketServer,
  type OpenedInit,
  type SocketServer,
} from './server.ts'
export type {
  AcceptResult,
  AckResult,
  AppendLimits,
  AppendResult,
  AttachResult,
  LoggedFrame,
  SessionState,
  SessionStore,
  StoreEvent,
} from './store.ts'
export {
  CLOSE_DISPLACED,
  CLOSE_FORBIDDEN,
  CLOSE_LIMIT,
  CLOSE_PROTOCOL,
  CLOSE_UNAUTHORIZED,
  type LostReason,
} from './wire-rules.ts'
export { type AttachOptions, attach, selectProtocol, tokenFromRequest } from './ws.ts'
