import * as v from 'valibot'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type Codec,
  type Envelope,
  heartbeat,
  jsonCodec,
  type MessageData,
  ReconnectingSocket,
  rawCodec,
  requests,
  type SocketError,
  type StandardSchemaV1,
} from '../../src/index.ts'
import { fakeWebSocketFactory } from '../helpers/fake-websocket.ts'
import { seededRandom } from '../helpers/unit-harness.ts'

// Seeded fuzzing of inbound frames through a real ReconnectingSocket, for both codecs:
// envelopes of every shape, hostile type names and keys (every spelling of `__proto__`,
// `constructor` and `prototype`), nulls, deep nesting, protocol frames, mutated and cut-off
// JSON, random text and binary. Each frame is checked against the rules of PROTOCOL.md §1
// as written here, independently of src/codec.ts: a valid envelope reaches `message` with
// its envelope and, if its type has one, a handler; any other frame reaches `message` as is
// or is reported; a protocol (`$`) frame reaches nobody; the socket stays open throughout;
// no throw escapes, no promise rejection goes unhandled, no prototype is polluted.
// The seed is fixed so CI runs the same frames every time; FUZZ_SEED=<n> tries others.

const FRAMES_PER_CODEC = 12_000
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201)
// Room for nesting 10,000 deep (past what a recursive walk of the tree survives in Node).
const MAX_BYTES = 65_536

const FORBIDDEN = ['__proto__', 'constructor', 'prototype']
// Types with handlers: a few that a plain-object lookup would find on Object.prototype.
const HANDLED = ['chat', 'note', 'boom', 'toString', 'constructor', '__proto__', 'hasOwnProperty']
const TYPES = [...HANDLED, 'other', 'valueOf', '', ' ', '$pong', '$ping', '$auth', '$x', '$']

/** One generator per run: every choice comes from the seeded source. */
function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n)
  const chance = (p: number) => random() < p
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T

  /** A key or string content as JSON text, sometimes with some characters `\u`-escaped. */
  const spell = (text: string): string =>
    [...text]
      .map((c) => {
        if (c === '"' || c === '\\') return `\\${c}`
        if (c.charCodeAt(0) < 0x20 || chance(0.15)) {
          const hex = c.charCodeAt(0).toString(16).padStart(4, '0')
          return `\\u${chance(0.5) ? hex : hex.toUpperCase()}`
        }
        return c
      })
      .join('')
  const str = (text: string) => `"${chance(0.3) ? spell(text) : JSON.stringify(text).slice(1, -1)}"`

  const word = () =>
    pick([
      'a',
      'text',
      'polluted',
      'caf\u00e9',
      '\u{1F600}',
      'x'.repeat(int(40)),
      'line\nbreak',
      'quote"inside',
      'back\\slash',
      'a"constructor',
      ...FORBIDDEN,
      ...TYPES,
    ])

  const key = () => (chance(0.08) ? pick(FORBIDDEN) : word())

  const value = (depth: number): string => {
    const roll = int(depth > 4 ? 4 : 7)
    if (roll === 0) return pick(['null', 'true', 'false', '0', '-0', '1e400', '-1.5e-7', '42'])
    if (roll === 1) return str(word())
    if (roll === 2) return String(random() * 1e6 - 5e5)
    if (roll === 3) return pick(['"\\ud800"', '"\\udc00x"', '""', '"\\u0000"', '"$pong"'])
    if (roll === 4) return `[${Array.from({ length: int(4) }, () => value(depth + 1)).join(',')}]`
    if (roll === 5) {
      const fields = Array.from({ length: int(4) }, () => `${str(key())}:${value(depth + 1)}`)
      return `{${fields.join(',')}}`
    }
    const levels = 1 + int(chance(0.03) ? 10_000 : 50)
    const inner = chance(0.3) ? `{${str(key())}:1}` : value(5)
    return `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`
  }

  const nullable = (make: () => string) => (chance(0.25) ? 'null' : make())

  const envelope = (ids: readonly string[]): string => {
    const fields: string[] = []
    if (chance(0.9))
      fields.push(`"type":${nullable(() => (chance(0.9) ? str(pick(TYPES)) : value(3)))}`)
    if (chance(0.15)) fields.push(`"id":${nullable(() => (chance(0.8) ? str(word()) : value(3)))}`)
    if (chance(0.25)) {
      const re = () =>
        ids.length && chance(0.5) ? str(pick(ids)) : chance(0.8) ? str(word()) : value(3)
      fields.push(`"re":${nullable(re)}`)
    }
    if (chance(0.8)) fields.push(`"data":${value(0)}`)
    if (chance(0.1)) {
      const error = () =>
        chance(0.7) ? `{"code":${str(word())},"message":${str(word())}}` : value(2)
      fields.push(`"error":${nullable(error)}`)
    }
    if (chance(0.1)) fields.push(`${str(key())}:${value(1)}`)
    for (let i = fields.length - 1; i > 0; i--) {
      const j = int(i + 1)
      ;[fields[i], fields[j]] = [fields[j] as string, fields[i] as string]
    }
    return `${chance(0.05) ? ' \n' : ''}{${fields.join(chance(0.1) ? ' , ' : ',')}}`
  }

  const mutate = (text: string): string => {
    const at = int(text.length + 1)
    const roll = int(4)
    if (roll === 0) return text.slice(0, at)
    if (roll === 1) return text.slice(0, at) + text.slice(at + 1)
    const c = pick(['"', '\\', '{', '}', '[', ']', ':', ',', 'u', '$', '\u0000', '\ud800', ' '])
    return text.slice(0, at) + c + text.slice(roll === 2 ? at : at + 1)
  }

  const randomText = (): string =>
    Array.from({ length: int(30) }, () =>
      String.fromCharCode(chance(0.8) ? 32 + int(95) : int(0x10000)),
    ).join('')

  const binary = (): ArrayBuffer => {
    const bytes = new Uint8Array(int(64))
    for (let i = 0; i < bytes.length; i++) bytes[i] = int(256)
    return bytes.buffer
  }

  return (ids: readonly string[]): MessageData => {
    const roll = random()
    if (roll < 0.55) return envelope(ids)
    if (roll < 0.75) return mutate(envelope(ids))
    if (roll < 0.8)
      return pick([`{"type":"$pong","re":${str(word())}}`, '{"type":"$ping","id":"x"}'])
    if (roll < 0.85)
      return pick(['hello', 'ping', '', ' ', '42', 'null', '[]', '{}', 'true', randomText()])
    if (roll < 0.9) return randomText()
    if (roll < 0.93) return `{"type":"big","data":"${'y'.repeat(MAX_BYTES)}"}`
    if (roll < 0.97) return binary()
    return new Blob([randomText()])
  }
}

// ── The rules, written out independently of src/codec.ts ────────────────────────────────

type Expected =
  | { kind: 'envelope'; envelope: Record<string, unknown> }
  /** Not an envelope for this codec: delivered as is, with or without a report. */
  | { kind: 'raw'; reported: boolean }
  /** A protocol frame: delivered to nobody; reported if it breaks the envelope rules. */
  | { kind: 'protocol'; reported: boolean }
  /** Larger than maxMessageBytes: reported, delivered to nobody. */
  | { kind: 'oversized' }

function hasForbiddenKey(root: unknown): boolean {
  const stack = [root]
  while (stack.length) {
    const node = stack.pop()
    if (typeof node !== 'object' || node === null) continue
    if (!Array.isArray(node) && FORBIDDEN.some((k) => Object.hasOwn(node, k))) return true
    stack.push(...Object.values(node))
  }
  return false
}

/** The envelope PROTOCOL.md §1 makes of a parsed value, or why it is not one. */
function envelopeOf(value: unknown): Record<string, unknown> | 'invalid' {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid'
  if (hasForbiddenKey(value)) return 'invalid'
  const e: Record<string, unknown> = { ...value }
  for (const k of ['type', 'id', 're', 'error']) if (e[k] === null) delete e[k]
  if (e.type === undefined && typeof e.re === 'string') e.type = ''
  if (typeof e.type !== 'string' || (e.type === '' && e.re === undefined)) return 'invalid'
  if (['id', 're'].some((k) => e[k] !== undefined && typeof e[k] !== 'string')) return 'invalid'
  const error = e.error as { code?: unknown; message?: unknown } | undefined
  if (error !== undefined && (typeof error?.code !== 'string' || typeof error.message !== 'string'))
    return 'invalid'
  return e
}

const utf8 = new TextEncoder()

/** Deep equality of JSON values, without recursion (the trees can be 10,000 deep). */
function sameJson(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]]
  while (stack.length) {
    const [x, y] = stack.pop() as [unknown, unknown]
    if (typeof x !== 'object' || x === null || typeof y !== 'object' || y === null) {
      if (x !== y) return false
      continue
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false
    const keys = Object.keys(x)
    if (keys.length !== Object.keys(y).length) return false
    for (const k of keys) {
      if (!Object.hasOwn(y, k)) return false
      stack.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]])
    }
  }
  return true
}

function expected(codec: Codec, data: MessageData): Expected {
  const size =
    typeof data === 'string'
      ? utf8.encode(data).length
      : data instanceof Blob
        ? data.size
        : data.byteLength
  if (size > MAX_BYTES) return { kind: 'oversized' }
  if (typeof data !== 'string') return { kind: 'raw', reported: false }
  let parsed: unknown
  let json = true
  try {
    parsed = JSON.parse(data)
  } catch {
    json = false
  }
  const type = (parsed as { type?: unknown } | null)?.type
  const dollar = typeof type === 'string' && type.startsWith('$')
  // A `$` frame is recognised however it is spelled: a JSON object whose `type` starts with
  // `$`, written out or with `\u` escapes.
  const literal = /^\s*\{/.test(data)
  const e = json ? envelopeOf(parsed) : 'invalid'
  if (codec === jsonCodec) {
    if (e !== 'invalid') {
      if (typeof e.type === 'string' && e.type.startsWith('$'))
        return { kind: 'protocol', reported: false }
      return { kind: 'envelope', envelope: e }
    }
    if (json && dollar && literal) return { kind: 'protocol', reported: true }
    return { kind: 'raw', reported: true }
  }
  if (json && dollar && literal) return { kind: 'protocol', reported: e === 'invalid' }
  return { kind: 'raw', reported: false }
}

// ── The run ──────────────────────────────────────────────────────────────────────────

const realSetImmediate = setImmediate
const turn = () => new Promise((resolve) => realSetImmediate(resolve))

const Chat = v.object({ text: v.string() })

/** A validator that resolves to no result at all, for one of the handled types. */
const broken: StandardSchemaV1 = {
  '~standard': { version: 1, vendor: 'fuzz', validate: async () => undefined as never },
}

const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype]
const ownKeys = () => prototypes.map((p) => Reflect.ownKeys(p).length)

const rejections: unknown[] = []
const onRejection = (reason: unknown) => rejections.push(reason)

beforeEach(() => {
  vi.useFakeTimers()
  rejections.length = 0
  process.on('unhandledRejection', onRejection)
})

afterEach(() => {
  process.off('unhandledRejection', onRejection)
  vi.useRealTimers()
})

describe.each([
  ['jsonCodec', jsonCodec],
  ['rawCodec', rawCodec],
])('fuzzed inbound frames, %s', (name, codec) => {
  it(`${FRAMES_PER_CODEC} frames: the socket stays open and every frame is accounted for`, async () => {
    const keysBefore = ownKeys()
    const fake = fakeWebSocketFactory()
    const socket = new ReconnectingSocket(`ws://fuzz.test/${name}`, {
      requests: requests(),
      WebSocket: fake.WebSocket,
      network: false,
      autoConnect: false,
      codec,
      heartbeat: heartbeat({ intervalMs: 1000, timeoutMs: 5000 }),
      maxMessageBytes: MAX_BYTES,
      validate: { incoming: { chat: Chat, note: broken } },
    })
    const errors: SocketError[] = []
    const messages: { data: MessageData; envelope: Envelope | undefined }[] = []
    const handled: [string, Envelope][] = []
    const unhandled: Envelope[] = []
    let decodeErrors = 0
    socket.on('error', (error) => {
      errors.push(error)
      if (error.code === 'DECODE_FAILED') decodeErrors++
    })
    socket.on('message', (event) => messages.push(event))
    socket.on('unhandled', (envelope) => unhandled.push(envelope))
    for (const type of HANDLED) {
      socket.onMessage(type, (_, envelope) => {
        handled.push([type, envelope])
        if (type === 'boom') throw new Error('a handler that throws')
      })
    }
    socket.connect()
    fake.last().open()
    const ws = fake.last()

    const next = generator(seededRandom(SEED + (codec === jsonCodec ? 0 : 1)))
    const requestsMade: Promise<unknown>[] = []
    let ids: string[] = []
    const failures: string[] = []
    const fail = (i: number, data: MessageData, why: string) => {
      if (failures.length < 10) {
        const shown = typeof data === 'string' ? JSON.stringify(data.slice(0, 160)) : String(data)
        failures.push(`frame #${i} (seed ${SEED}) ${shown}: ${why}`)
      }
    }

    for (let i = 0; i < FRAMES_PER_CODEC; i++) {
      if (codec === jsonCodec && i % 500 === 0) {
        requestsMade.push(socket.request('q', i, { timeoutMs: 60_000 }).catch(() => undefined))
      }
      if (i % 100 === 0) ids = ws.sentEnvelopes.flatMap((e) => (e.id === undefined ? [] : [e.id]))
      const data = next(ids)
      const want = expected(codec, data)
      const before = {
        messages: messages.length,
        handled: handled.length,
        unhandled: unhandled.length,
        decode: decodeErrors,
      }
      try {
        ws.onmessage?.({ data })
      } catch (error) {
        fail(i, data, `threw ${String(error)}`)
      }
      const got = messages.slice(before.messages)
      const reported = decodeErrors - before.decode
      const newHandled = handled.slice(before.handled)
      const newUnhandled = unhandled.slice(before.unhandled)
      if (socket.state !== 'open' || fake.sockets.length !== 1 || ws.closeCalls.length) {
        fail(i, data, `the socket left the connection (${socket.state})`)
        break
      }
      switch (want.kind) {
        case 'oversized':
          if (got.length || reported !== 1)
            fail(i, data, 'oversized: must be reported, not delivered')
          break
        case 'protocol':
          if (got.length || newHandled.length || newUnhandled.length)
            fail(i, data, 'a protocol frame reached application code')
          if (reported !== (want.reported ? 1 : 0))
            fail(i, data, `protocol frame: ${reported} reports`)
          break
        case 'raw':
          if (got.length !== 1 || got[0]?.data !== data || got[0]?.envelope !== undefined)
            fail(i, data, 'not delivered as is to `message`')
          if (newHandled.length || newUnhandled.length)
            fail(i, data, 'a raw frame reached a handler')
          if (reported !== (want.reported ? 1 : 0))
            fail(i, data, `${reported} DECODE_FAILED reports`)
          break
        case 'envelope': {
          const envelope = got[0]?.envelope
          if (got.length !== 1 || envelope === undefined) fail(i, data, 'envelope not delivered')
          else if (!sameJson(envelope, want.envelope)) fail(i, data, 'decoded differently')
          if (reported) fail(i, data, 'a valid envelope was reported as DECODE_FAILED')
          const type = want.envelope.type as string
          const isEvent = want.envelope.re === undefined
          // `chat` is validated at once; `note`'s validator never gives a result (reported
          // asynchronously, so its handler never runs).
          const expectHandler =
            isEvent &&
            HANDLED.includes(type) &&
            type !== 'note' &&
            (type !== 'chat' || v.is(Chat, want.envelope.data))
          const ran = newHandled.map(([t]) => t)
          if (ran.join() !== (expectHandler ? type : ''))
            fail(i, data, `handlers [${ran}] ran, expected [${expectHandler ? type : ''}]`)
          const expectUnhandled = isEvent && !HANDLED.includes(type)
          if (newUnhandled.length !== (expectUnhandled ? 1 : 0)) fail(i, data, 'unhandled mismatch')
          break
        }
      }
      if (i % 100 === 99) {
        // Async validators settle, and the heartbeat's timers get to run.
        for (let k = 0; k < 20; k++) await Promise.resolve()
        await vi.advanceTimersByTimeAsync(20)
      }
    }
    await vi.advanceTimersByTimeAsync(100)
    await turn()

    expect(failures).toEqual([])
    expect(handled.filter(([type, envelope]) => type !== envelope.type)).toEqual([])
    expect(unhandled.filter((envelope) => envelope.type.startsWith('$'))).toEqual([])
    const expectedCodes = ['DECODE_FAILED', 'VALIDATION_FAILED', 'HANDLER_FAILED']
    expect(errors.filter((e) => !expectedCodes.includes(e.code))).toEqual([])
    expect(socket.stats.messagesReceived).toBe(FRAMES_PER_CODEC)
    expect(socket.state).toBe('open')
    expect(rejections).toEqual([])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined()
    expect(ownKeys()).toEqual(keysBefore)
    // The run exercised what it claims to (guards against a generator that stopped working).
    expect(messages.length).toBeGreaterThan(FRAMES_PER_CODEC / 2)
    if (codec === jsonCodec) {
      expect(messages.filter((m) => m.envelope).length).toBeGreaterThan(FRAMES_PER_CODEC / 10)
      expect(decodeErrors).toBeGreaterThan(FRAMES_PER_CODEC / 10)
      expect(errors.some((e) => e.code === 'VALIDATION_FAILED')).toBe(true)
      expect(errors.some((e) => e.code === 'HANDLER_FAILED')).toBe(true)
    }
    socket.close()
    await Promise.all(requestsMade)
  }, 60_000)
})
