/**
 * Failures the server companion reports. `code` is stable; match on it, never on the text.
 * The client's `SocketError` codes describe a client; these describe a server, so they are
 * their own small set.
 */
export type ServerErrorCode =
  /** An option is invalid. Thrown by `createSocketServer()`; the message says how to fix it. */
  | 'INVALID_OPTIONS'
  /** A user callback (handler, event listener, `authenticate`, `onError`) threw or rejected. */
  | 'HANDLER_FAILED'
  /** An inbound frame is not an envelope the protocol accepts (PROTOCOL.md §1). */
  | 'DECODE_FAILED'
  /**
   * A send into a reliable session would pass its unacked bounds (`maxUnackedFrames`,
   * `maxUnackedBytes`): the client has not acknowledged enough yet. Nothing was sent.
   */
  | 'UNACKED_LIMIT'
  /** The session no longer exists (it expired, ended, or the store lost it). Nothing was sent. */
  | 'SESSION_GONE'
  /** The connection is closed (plain mode), so a send has nowhere to go. */
  | 'CLOSED'
  /**
   * The session moved to a newer attachment (another socket, maybe on another node) while
   * this connection was answering one of its frames: the answer was not stored, the socket
   * is closed with 4010, and the new attachment answers the frame. Nothing was sent.
   */
  | 'DISPLACED'
  /** The session store failed (it threw or rejected); the connection is closed with 1011. */
  | 'STORE_FAILED'
  /**
   * The session store restarted and lost this attachment while the connection was answering
   * one of its frames: the answer was not stored, the socket is closed with 1012, and the
   * client resumes, where the frame is answered again. Nothing was sent.
   */
  | 'STORE_RESTARTED'

export class ServerError extends Error {
  override name = 'ServerError'
  declare readonly code: ServerErrorCode

  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : options)
    this.code = code
  }
}

/**
 * Throw this from `authenticate` to choose the close code: 4001 (the default, "refresh the
 * token and retry") or 4003 ("forbidden"). Any other throw, and a `false`/`null` result,
 * closes with 4001.
 */
export class AuthRejected extends Error {
  override name = 'AuthRejected'
  declare readonly closeCode: 4001 | 4003
  constructor(message = 'unauthorized', closeCode: 4001 | 4003 = 4001) {
    super(message)
    this.closeCode = closeCode
  }
}

/**
 * Throw this from a request handler to answer with `{ error: { code, message } }`: both are
 * sent to the client as given. Any other throw is answered with the code `INTERNAL` and a
 * fixed message, because an arbitrary error's text may hold what clients must not see.
 */
export class RequestError extends Error {
  override name = 'RequestError'
  declare readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}
