/**
 * `resilient-socket/react`: thin React bindings over {@link ReconnectingSocket}. They add
 * no behaviour of their own: the socket does the work, the hooks tie its lifetime to a
 * component and its state and messages to renders.
 *
 * @packageDocumentation
 */
export { SocketProvider, type SocketProviderProps, useSocketContext } from './socket-context.ts'
export { useMessage, useSocketEvent } from './use-message.ts'
export { type UseSocketOptions, useSocket } from './use-socket.ts'
export { useSocketState } from './use-socket-state.ts'
