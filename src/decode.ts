import { type Codec, checkEnvelope, jsonCodec, protocolEnvelope } from './codec.ts'
import { describeValue, SocketError } from './errors.ts'
import { type Envelope, frameBytes, type MessageData } from './wire.ts'

/** A frame that could not be decoded: the error to report, and whether `message` listeners still get it. */
export class DecodeFailure {
  readonly error: SocketError
  /** `false` for a frame that goes to nobody: too large, or one of the protocol's own that is malformed. */
  readonly deliver: boolean
  constructor(error: SocketError, deliver: boolean) {
    this.error = error
    this.deliver = deliver
  }
}

/**
 * What an inbound frame is, for the socket: its envelope; `undefined` for a frame that is not
 * one (binary); or a `DecodeFailure` (`DECODE_FAILED`), made only when decoding failed, so the
 * receive path allocates nothing extra for a good frame.
 */
export function decodeInbound(
  data: MessageData,
  codec: Codec,
  maxBytes: number,
): Envelope | undefined | DecodeFailure {
  if (maxBytes !== Number.POSITIVE_INFINITY && tooLarge(data, maxBytes)) {
    const error = new SocketError(
      'DECODE_FAILED',
      `inbound frame larger than maxMessageBytes (${maxBytes})`,
    )
    return new DecodeFailure(error, false)
  }
  try {
    return decode(data, codec)
  } catch (error) {
    return new DecodeFailure(
      error instanceof SocketError
        ? error
        : new SocketError('DECODE_FAILED', describeValue(error), { cause: error }),
      !isProtocolFrame(data),
    )
  }
}

/**
 * The codec's envelope, checked unless it is the default codec (which checks its own), or
 * the protocol envelope in a frame a custom codec did not recognise, so that a `$ping`
 * echo or a `$pong` never reaches application code whatever the codec.
 */
function decode(data: MessageData, codec: Codec): Envelope | undefined {
  const decoded = codec.decode(data)
  if (codec === jsonCodec) return decoded
  if (decoded !== undefined) return checkEnvelope(decoded)
  // rawCodec's decode is protocolEnvelope itself: no second look (and no import of rawCodec,
  // so the core bundle does not carry it).
  return codec.decode === protocolEnvelope ? undefined : protocolEnvelope(data)
}

/** Whether an undecodable frame is one of the protocol's own (`{"type":"$…`). */
function isProtocolFrame(data: MessageData): boolean {
  try {
    return protocolEnvelope(data) !== undefined
  } catch {
    return true // a malformed protocol envelope: reported, delivered nowhere
  }
}

function tooLarge(data: MessageData, max: number): boolean {
  if (typeof data !== 'string') return frameBytes(data) > max
  // UTF-8 is never shorter than the UTF-16 length, nor longer than three times it.
  if (data.length > max) return true
  return data.length * 3 > max && frameBytes(data) > max
}
