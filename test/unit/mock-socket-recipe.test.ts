// The README recipe "Testing your app with mock-socket", run as written. Between the region
// markers this file is the README's code block, except that the library is imported from
// src/ where the README says 'resilient-socket'; test/unit/readme.test.ts keeps them equal.
// #region readme
import { WebSocket as MockWebSocket, Server } from 'mock-socket'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { ReconnectingSocket, type SocketOptions } from '../../src/index.ts'

// The app's own code: a chat client built on resilient-socket. It lets its caller pass
// socket options, which is all a test needs to swap the WebSocket for mock-socket's.
interface ChatSchema {
  incoming: { chat: { text: string } }
  outgoing: { chat: { text: string } }
}

function connectChat(url: string, options: SocketOptions<ChatSchema> = {}) {
  const socket = new ReconnectingSocket<ChatSchema>(url, options)
  const lines: string[] = []
  socket.onMessage('chat', ({ text }) => lines.push(text))
  return { socket, lines, say: (text: string) => socket.send('chat', { text }) }
}

// The test: mock-socket's Server stands in for the real one, in memory.
const url = 'ws://chat.test/'
let server: Server
let chat: ReturnType<typeof connectChat>

beforeEach(() => {
  // `mock: false` leaves globalThis.WebSocket alone: the socket gets mock-socket's
  // WebSocket through its `WebSocket` option instead.
  server = new Server(url, { mock: false })
  server.on('connection', (client) => {
    client.on('message', (data) => client.send(data)) // an echo server
  })
  chat = connectChat(url, { WebSocket: MockWebSocket, retry: () => 10 })
})

afterEach(() => {
  chat.socket.close()
  server.stop()
})

it('sends what the user types and shows what the server sends', async () => {
  chat.say('hello') // written at once, or held until the connection is open
  await vi.waitFor(() => expect(chat.lines).toEqual(['hello']))
})

it('reconnects after the server drops the connection, and sends what was typed meanwhile', async () => {
  await vi.waitFor(() => expect(chat.socket.state).toBe('open'))
  const dropped = new Promise((resolve) => chat.socket.once('reconnecting', resolve))
  for (const client of server.clients()) {
    client.close({ code: 1012, reason: 'service restart', wasClean: true })
  }
  await dropped
  expect(chat.say('typed while away')).toBe('queued')
  await vi.waitFor(() => expect(chat.lines).toEqual(['typed while away']))
  expect(chat.socket.stats.reconnects).toBe(1)
})
// #endregion readme
