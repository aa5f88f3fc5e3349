import { createContext, createElement, type ReactElement, type ReactNode, useContext } from 'react'
import {
  type ReconnectingSocket,
  SocketError,
  type SocketSchema,
  type UntypedSchema,
} from '../index.ts'

const SocketContext = createContext<unknown>(null)

/** Props of {@link SocketProvider}. */
export interface SocketProviderProps<S extends SocketSchema> {
  /** The socket to share, usually from {@link useSocket} in the component that renders this. */
  socket: ReconnectingSocket<S>
  children?: ReactNode
}

/**
 * Makes one socket available to every component below it through {@link useSocketContext},
 * so a tree shares a single connection instead of opening one per component.
 *
 * @example
 * ```tsx
 * function App() {
 *   const socket = useSocket<ChatSchema>(url)
 *   return <SocketProvider socket={socket}><Chat /></SocketProvider>
 * }
 * ```
 */
export function SocketProvider<S extends SocketSchema>({
  socket,
  children,
}: SocketProviderProps<S>): ReactElement {
  return createElement(SocketContext.Provider, { value: socket }, children)
}

/**
 * The socket of the nearest {@link SocketProvider}. Name the schema the provider's socket
 * was created with (`useSocketContext<ChatSchema>()`): a context cannot carry it, so this is
 * the one place where the types are asserted rather than inferred.
 *
 * @throws SocketError `INVALID_OPTIONS` when there is no provider above the component.
 */
export function useSocketContext<S extends SocketSchema = UntypedSchema>(): ReconnectingSocket<S> {
  const socket = useContext(SocketContext)
  if (socket === null) {
    throw new SocketError(
      'INVALID_OPTIONS',
      'useSocketContext: render this component inside <SocketProvider socket={…}>',
    )
  }
  return socket as ReconnectingSocket<S>
}
