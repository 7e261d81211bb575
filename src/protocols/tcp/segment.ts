/**
 * TCP segments (RFC 9293 §3.1) and their options (RFC 9293 §3.2, RFC 7323,
 * RFC 2018): a zero-copy `Packet` view with length validation and the
 * pseudo-header checksum, an allocation-free option parser into a reused
 * `TcpOptions`, a plain `Repr`, and an allocation-free `emitHeader` for the
 * hot path. Options are written in the layout Linux uses (see `emitHeader`).
 */
import * as Checksum from "../checksum.js"
import { malformed, type Malformed } from "../malformed.js"
import { checkedView, WireView } from "../view.js"

/** Byte offsets of the header fields. */
export const field = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  /** Data offset (high nibble, in 32-bit words) and reserved bits. */
  DATA_OFFSET: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
  OPTIONS: 20
} as const

/** Control bits (the byte at `field.FLAGS`). */
export const Flags = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const OptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8
} as const

/** Length of a header without options. */
export const HEADER_LEN = 20

/** Longest header: data offset 15 words. */
export const MAX_HEADER_LEN = 60

/** Room for options: 40 bytes. */
export const MAX_OPTIONS_LEN = MAX_HEADER_LEN - HEADER_LEN

/** Most SACK blocks one option can hold (2 + 8n ≤ 40). */
export const MAX_SACK_BLOCKS = 4

/** Largest window shift (RFC 7323 §2.3). */
export const MAX_WINDOW_SCALE = 14

/** IP protocol number. */
export const PROTOCOL = 6

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const BadDataOffset: Malformed = malformed("bad_data_offset")
export const BadChecksum: Malformed = malformed("bad_checksum")
export const BadOption: Malformed = malformed("bad_option")
export const ZeroPort: Malformed = malformed("zero_port")

/** A view of a TCP segment in `buffer[offset .. offset+length)`; `length` is the IP payload length. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` (lengths and ports, not the checksum or options). */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /**
   * Validates the slice and the data offset so that no getter reads out of
   * range. TCP has no length field: the segment is all of `length`, so the
   * caller passes the IP payload length, never Ethernet padding.
   */
  check(): Malformed | undefined {
    if (!(this.offset >= 0) || !(this.length >= HEADER_LEN) || this.offset + this.length > this.buffer.length) {
      return Truncated
    }
    const hl = this.headerLength
    if (hl < HEADER_LEN || hl > this.length) return BadDataOffset
    // Port 0 is reserved; no connection can use it at either end.
    if (this.srcPort === 0 || this.dstPort === 0) return ZeroPort
    return undefined
  }

  get srcPort(): number {
    return (this.buffer[this.offset]! << 8) | this.buffer[this.offset + 1]!
  }
  set srcPort(v: number) {
    this.buffer[this.offset] = v >>> 8
    this.buffer[this.offset + 1] = v
  }
  get dstPort(): number {
    return (this.buffer[this.offset + 2]! << 8) | this.buffer[this.offset + 3]!
  }
  set dstPort(v: number) {
    this.buffer[this.offset + 2] = v >>> 8
    this.buffer[this.offset + 3] = v
  }
  /** Sequence number (unsigned 32-bit). */
  get seq(): number {
    return readU32(this.buffer, this.offset + field.SEQ)
  }
  set seq(v: number) {
    writeU32(this.buffer, this.offset + field.SEQ, v)
  }
  /** Acknowledgment number (unsigned 32-bit; meaningful with ACK set). */
  get ack(): number {
    return readU32(this.buffer, this.offset + field.ACK)
  }
  set ack(v: number) {
    writeU32(this.buffer, this.offset + field.ACK, v)
  }
  /** Header length in bytes (data offset × 4). */
  get headerLength(): number {
    return (this.buffer[this.offset + field.DATA_OFFSET]! >>> 4) * 4
  }
  /** Sets the data offset from a length in bytes (a multiple of 4), keeping the reserved bits. */
  set headerLength(v: number) {
    const o = this.offset + field.DATA_OFFSET
    this.buffer[o] = ((v >>> 2) << 4) | (this.buffer[o]! & 0x0f)
  }
  /** Control bits: a combination of `Flags`. */
  get flags(): number {
    return this.buffer[this.offset + field.FLAGS]!
  }
  set flags(v: number) {
    this.buffer[this.offset + field.FLAGS] = v
  }
  /** Window field as sent (not scaled). */
  get window(): number {
    return (this.buffer[this.offset + field.WINDOW]! << 8) | this.buffer[this.offset + field.WINDOW + 1]!
  }
  set window(v: number) {
    this.buffer[this.offset + field.WINDOW] = v >>> 8
    this.buffer[this.offset + field.WINDOW + 1] = v
  }
  get checksum(): number {
    return (this.buffer[this.offset + field.CHECKSUM]! << 8) | this.buffer[this.offset + field.CHECKSUM + 1]!
  }
  set checksum(v: number) {
    this.buffer[this.offset + field.CHECKSUM] = v >>> 8
    this.buffer[this.offset + field.CHECKSUM + 1] = v
  }
  get urgent(): number {
    return (this.buffer[this.offset + field.URGENT]! << 8) | this.buffer[this.offset + field.URGENT + 1]!
  }
  set urgent(v: number) {
    this.buffer[this.offset + field.URGENT] = v >>> 8
    this.buffer[this.offset + field.URGENT + 1] = v
  }
  /** Offset of the options in `buffer`. */
  get optionsOffset(): number {
    return this.offset + HEADER_LEN
  }
  /** Bytes of options, padding included. */
  get optionsLength(): number {
    return this.headerLength - HEADER_LEN
  }
  /** Offset of the payload in `buffer`. */
  get payloadOffset(): number {
    return this.offset + this.headerLength
  }
  get payloadLength(): number {
    return this.length - this.headerLength
  }

  /** True when the checksum is right; `pseudoSum` is the pseudo-header sum including the TCP length. */
  verifyChecksum(pseudoSum: number): boolean {
    return Checksum.compute(this.buffer, this.offset, this.length, pseudoSum) === 0
  }

  /** Computes the checksum in place over header and payload (`pseudoSum` includes the TCP length). */
  fillChecksum(pseudoSum: number): void {
    const o = this.offset + field.CHECKSUM
    this.buffer[o] = 0
    this.buffer[o + 1] = 0
    const c = Checksum.compute(this.buffer, this.offset, this.length, pseudoSum)
    this.buffer[o] = c >>> 8
    this.buffer[o + 1] = c
  }
}

const readU32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0

const writeU32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 24
  b[o + 1] = v >>> 16
  b[o + 2] = v >>> 8
  b[o + 3] = v
}

// --- options -----------------------------------------------------------------

/** One SACK block (RFC 2018 §3): bytes `[start, end)` in sequence space. */
export interface SackBlock {
  start: number
  end: number
}

/**
 * The options of one segment, in a mutable object that `parseOptions`
 * overwrites and `emitHeader` reads, so the hot path allocates nothing.
 */
export interface TcpOptions {
  /** Maximum segment size (RFC 9293 §3.7.1); 0 = absent. */
  mss: number
  /** Window shift (RFC 7323 §2); -1 = absent. Received values above 14 read as 14. */
  windowScale: number
  /** SACK-permitted (RFC 2018 §2). */
  sackPermitted: boolean
  /** Timestamps option present (RFC 7323 §3); then `tsVal` and `tsEcr` hold its values. */
  timestamp: boolean
  tsVal: number
  tsEcr: number
  /** Blocks in use at the front of `sackBlocks` (0 = no SACK option). */
  sackCount: number
  /** `MAX_SACK_BLOCKS` preallocated blocks, reused. */
  readonly sackBlocks: Array<SackBlock>
}

/** A fresh `TcpOptions` with every option absent and its SACK blocks preallocated. */
export const makeOptions = (): TcpOptions => ({
  mss: 0,
  windowScale: -1,
  sackPermitted: false,
  timestamp: false,
  tsVal: 0,
  tsEcr: 0,
  sackCount: 0,
  sackBlocks: [
    { start: 0, end: 0 },
    { start: 0, end: 0 },
    { start: 0, end: 0 },
    { start: 0, end: 0 }
  ]
})

/** Marks every option absent (the SACK blocks are kept for reuse). */
export const resetOptions = (out: TcpOptions): void => {
  out.mss = 0
  out.windowScale = -1
  out.sackPermitted = false
  out.timestamp = false
  out.tsVal = 0
  out.tsEcr = 0
  out.sackCount = 0
}

/**
 * Parses the options of a checked `packet` into `out` (reset first) without
 * allocating, or returns `BadOption`. EOL ends the list; unknown kinds are
 * skipped by their length (RFC 9293 §3.2: MUST ignore options it does not
 * implement). A length below 2 or running past the header, and a known option
 * with the wrong length (MSS 4, window scale 3, SACK-permitted 2, timestamps
 * 10, SACK 2 + 8n with 1 ≤ n ≤ 4) are malformed. An MSS of 0 is ignored as
 * Linux does; a later duplicate option overrides an earlier one.
 */
export const parseOptions = (packet: Packet, out: TcpOptions): Malformed | undefined => {
  resetOptions(out)
  const b = packet.buffer
  const end = packet.offset + packet.headerLength
  let i = packet.offset + HEADER_LEN
  while (i < end) {
    const kind = b[i]!
    if (kind === OptionKind.EOL) break
    if (kind === OptionKind.NOP) {
      i++
      continue
    }
    if (i + 1 >= end) return BadOption
    const len = b[i + 1]!
    if (len < 2 || i + len > end) return BadOption
    switch (kind) {
      case OptionKind.MSS:
        if (len !== 4) return BadOption
        out.mss = (b[i + 2]! << 8) | b[i + 3]!
        break
      case OptionKind.WINDOW_SCALE: {
        if (len !== 3) return BadOption
        const ws = b[i + 2]!
        // RFC 7323 §2.3: a shift above 14 MUST be used as 14.
        out.windowScale = ws > MAX_WINDOW_SCALE ? MAX_WINDOW_SCALE : ws
        break
      }
      case OptionKind.SACK_PERMITTED:
        if (len !== 2) return BadOption
        out.sackPermitted = true
        break
      case OptionKind.SACK: {
        const n = (len - 2) >>> 3
        if (n < 1 || n > MAX_SACK_BLOCKS || len !== 2 + 8 * n) return BadOption
        for (let k = 0; k < n; k++) {
          const block = out.sackBlocks[k]!
          block.start = readU32(b, i + 2 + 8 * k)
          block.end = readU32(b, i + 6 + 8 * k)
        }
        out.sackCount = n
        break
      }
      case OptionKind.TIMESTAMP:
        if (len !== 10) return BadOption
        out.timestamp = true
        out.tsVal = readU32(b, i + 2)
        out.tsEcr = readU32(b, i + 6)
        break
      default:
        break
    }
    i += len
  }
  return undefined
}

/** Options length without the SACK option, in Linux's layout. */
const baseOptionsLength = (o: Readonly<TcpOptions>): number =>
  (o.mss > 0 ? 4 : 0) + (o.timestamp ? 12 : o.sackPermitted ? 4 : 0) + (o.windowScale >= 0 ? 4 : 0)

/** SACK blocks that will be written: those asked for, as many as fit after the other options. */
const sackBlocksWritten = (o: Readonly<TcpOptions>, base: number): number => {
  let n = o.sackCount
  if (n > o.sackBlocks.length) n = o.sackBlocks.length
  const room = (MAX_OPTIONS_LEN - base - 4) >> 3
  if (n > room) n = room
  return n > 0 ? n : 0
}

/** Bytes `emitHeader` writes for `opts` (a multiple of 4, at most 40). */
export const emitOptionsLength = (opts: Readonly<TcpOptions> | undefined): number => {
  if (opts === undefined) return 0
  const base = baseOptionsLength(opts)
  const n = sackBlocksWritten(opts, base)
  return n > 0 ? base + 4 + 8 * n : base
}

/** Header length `emitHeader` writes for `opts`: where the payload must sit. */
export const emitHeaderLength = (opts: Readonly<TcpOptions> | undefined): number => HEADER_LEN + emitOptionsLength(opts)

/**
 * Writes the options at `buffer[at]` in Linux's layout (tcp_options_write):
 * `MSS` · `SACKOK TS` or `NOP NOP TS` · `NOP NOP SACKOK` (without timestamps)
 * · `NOP WS` · `NOP NOP SACK blocks`. Every option ends on a 4-byte boundary,
 * so no EOL is ever needed. Returns the bytes written.
 */
const writeOptions = (b: Uint8Array, at: number, o: Readonly<TcpOptions>): number => {
  let i = at
  if (o.mss > 0) {
    b[i] = OptionKind.MSS
    b[i + 1] = 4
    b[i + 2] = o.mss >>> 8
    b[i + 3] = o.mss
    i += 4
  }
  if (o.timestamp) {
    if (o.sackPermitted) {
      b[i] = OptionKind.SACK_PERMITTED
      b[i + 1] = 2
    } else {
      b[i] = OptionKind.NOP
      b[i + 1] = OptionKind.NOP
    }
    b[i + 2] = OptionKind.TIMESTAMP
    b[i + 3] = 10
    writeU32(b, i + 4, o.tsVal)
    writeU32(b, i + 8, o.tsEcr)
    i += 12
  } else if (o.sackPermitted) {
    b[i] = OptionKind.NOP
    b[i + 1] = OptionKind.NOP
    b[i + 2] = OptionKind.SACK_PERMITTED
    b[i + 3] = 2
    i += 4
  }
  if (o.windowScale >= 0) {
    b[i] = OptionKind.NOP
    b[i + 1] = OptionKind.WINDOW_SCALE
    b[i + 2] = 3
    b[i + 3] = o.windowScale
    i += 4
  }
  const n = sackBlocksWritten(o, i - at)
  if (n > 0) {
    b[i] = OptionKind.NOP
    b[i + 1] = OptionKind.NOP
    b[i + 2] = OptionKind.SACK
    b[i + 3] = 2 + 8 * n
    i += 4
    for (let k = 0; k < n; k++) {
      const block = o.sackBlocks[k]!
      writeU32(b, i, block.start)
      writeU32(b, i + 4, block.end)
      i += 8
    }
  }
  return i - at
}

/**
 * Writes a header with `opts` (undefined = none) at `buffer[offset]`, without
 * allocating, and returns its length. The payload must already sit right
 * after the header: at `offset + emitHeaderLength(opts)`. With
 * `pseudoSumWithoutLength` (e.g. `Checksum.pseudoHeaderV4(src, dst, 6, 0)`,
 * computed once per connection) the checksum is filled over header and
 * payload, the TCP length being added here; without it the field is left 0
 * for a later `Packet.fillChecksum`. SACK blocks beyond what fits in 40 bytes
 * of options are dropped from the end (3 fit beside timestamps, as in Linux).
 */
export const emitHeader = (
  buffer: Uint8Array,
  offset: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  opts: Readonly<TcpOptions> | undefined,
  payloadLength: number,
  pseudoSumWithoutLength?: number,
  urgent = 0
): number => {
  const hl = opts === undefined ? HEADER_LEN : HEADER_LEN + writeOptions(buffer, offset + HEADER_LEN, opts)
  buffer[offset] = srcPort >>> 8
  buffer[offset + 1] = srcPort
  buffer[offset + 2] = dstPort >>> 8
  buffer[offset + 3] = dstPort
  writeU32(buffer, offset + field.SEQ, seq)
  writeU32(buffer, offset + field.ACK, ack)
  buffer[offset + field.DATA_OFFSET] = (hl >>> 2) << 4
  buffer[offset + field.FLAGS] = flags
  buffer[offset + field.WINDOW] = window >>> 8
  buffer[offset + field.WINDOW + 1] = window
  buffer[offset + field.CHECKSUM] = 0
  buffer[offset + field.CHECKSUM + 1] = 0
  buffer[offset + field.URGENT] = urgent >>> 8
  buffer[offset + field.URGENT + 1] = urgent
  if (pseudoSumWithoutLength !== undefined) {
    const len = hl + payloadLength
    // The length word(s) of the pseudo-header: 16 bits over IPv4, 32 over IPv6.
    const c = Checksum.compute(buffer, offset, len, pseudoSumWithoutLength + (len >>> 16) + (len & 0xffff))
    buffer[offset + field.CHECKSUM] = c >>> 8
    buffer[offset + field.CHECKSUM + 1] = c
  }
  return hl
}

// --- Repr --------------------------------------------------------------------

/** The options of a `Repr`: a key is present only when the option is. */
export interface ReprOptions {
  readonly mss?: number
  readonly windowScale?: number
  readonly sackPermitted?: boolean
  readonly timestamp?: { readonly value: number; readonly echo: number }
  readonly sack?: ReadonlyArray<SackBlock>
}

/** A parsed segment header. */
export interface Repr {
  readonly srcPort: number
  readonly dstPort: number
  readonly seq: number
  readonly ack: number
  /** A combination of `Flags`. */
  readonly flags: number
  /** The window field as sent (not scaled). */
  readonly window: number
  readonly urgent: number
  readonly options: ReprOptions
  readonly payloadLength: number
}

// One scratch object for `parse` and `emit`: both run to completion synchronously.
const scratch = makeOptions()

/** Parses and verifies untrusted bytes into a `Repr` (`pseudoSum` includes the TCP length), or `Malformed`. */
export const parse = (buffer: Uint8Array, offset: number, length: number, pseudoSum: number): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  if (!p.verifyChecksum(pseudoSum)) return BadChecksum
  const bad = parseOptions(p, scratch)
  if (bad !== undefined) return bad
  return {
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    seq: p.seq,
    ack: p.ack,
    flags: p.flags,
    window: p.window,
    urgent: p.urgent,
    options: reprOptions(scratch),
    payloadLength: p.payloadLength
  }
}

const reprOptions = (o: TcpOptions): ReprOptions => {
  const out: {
    mss?: number
    windowScale?: number
    sackPermitted?: boolean
    timestamp?: { readonly value: number; readonly echo: number }
    sack?: ReadonlyArray<SackBlock>
  } = {}
  if (o.mss > 0) out.mss = o.mss
  if (o.windowScale >= 0) out.windowScale = o.windowScale
  if (o.sackPermitted) out.sackPermitted = true
  if (o.timestamp) out.timestamp = { value: o.tsVal, echo: o.tsEcr }
  if (o.sackCount > 0) out.sack = o.sackBlocks.slice(0, o.sackCount).map((b) => ({ start: b.start, end: b.end }))
  return out
}

/** Loads `ReprOptions` into `out`: the `TcpOptions` that `emitHeader` writes. */
export const loadOptions = (options: ReprOptions, out: TcpOptions): TcpOptions => {
  resetOptions(out)
  if (options.mss !== undefined) out.mss = options.mss
  if (options.windowScale !== undefined) out.windowScale = options.windowScale
  if (options.sackPermitted === true) out.sackPermitted = true
  if (options.timestamp !== undefined) {
    out.timestamp = true
    out.tsVal = options.timestamp.value
    out.tsEcr = options.timestamp.echo
  }
  const sack = options.sack
  if (sack !== undefined) {
    const n = sack.length < MAX_SACK_BLOCKS ? sack.length : MAX_SACK_BLOCKS
    for (let k = 0; k < n; k++) {
      out.sackBlocks[k]!.start = sack[k]!.start
      out.sackBlocks[k]!.end = sack[k]!.end
    }
    out.sackCount = n
  }
  return out
}

/**
 * Bytes of options `emit` writes: a multiple of 4 in Linux's layout (see
 * `emitHeader`), SACK blocks that do not fit in 40 bytes left out. An `mss`
 * of 0 and a negative `windowScale` count as absent.
 */
export const optionsLength = (options: ReprOptions): number => emitOptionsLength(loadOptions(options, scratch))

/** Bytes of the header `emit` writes. */
export const headerLength = (repr: Repr): number => HEADER_LEN + optionsLength(repr.options)

/** Bytes the segment takes: header and payload. */
export const bufferLen = (repr: Repr): number => headerLength(repr) + repr.payloadLength

/**
 * Writes header and options at `buffer[offset]` and, the payload being already
 * in place after the header (at `offset + headerLength(repr)`), fills the
 * checksum; `pseudoSum` includes the TCP length, as for `parse`.
 */
export const emit = (repr: Repr, buffer: Uint8Array, offset: number, pseudoSum: number): void => {
  const hl = emitHeader(
    buffer,
    offset,
    repr.srcPort,
    repr.dstPort,
    repr.seq,
    repr.ack,
    repr.flags,
    repr.window,
    loadOptions(repr.options, scratch),
    repr.payloadLength,
    undefined,
    repr.urgent
  )
  const c = Checksum.compute(buffer, offset, hl + repr.payloadLength, pseudoSum)
  buffer[offset + field.CHECKSUM] = c >>> 8
  buffer[offset + field.CHECKSUM + 1] = c
}
