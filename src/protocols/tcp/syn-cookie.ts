/**
 * SYN cookies (RFC 4987 §3.6, after Bernstein and Linux): when a listener's SYN
 * backlog is full, the SYN-ACK's ISN encodes what the listener must remember,
 * so no state is kept until the client's ACK returns it. Pure: the caller
 * passes the time and supplies the 16 random secret bytes.
 *
 * Cookie layout (the server ISN, 32 bits):
 *
 *     31      27 26  24 23                                    0
 *     +---------+------+---------------------------------------+
 *     | counter | mss  | SipHash-2-4(secret; tuple, client ISN, |
 *     | (5 bits)| index|   full counter, mss index) low 24 bits |
 *     +---------+------+---------------------------------------+
 *
 * `counter` is `floor(nowSeconds / 64)` modulo 32; the hash covers the full
 * counter and the MSS index, so flipping any bit of the cookie (or replaying it
 * 32 periods later) fails the check with probability 1 − 2^−24.
 *
 * The trade-off: a plain cookie carries only the MSS (rounded down to
 * `MSS_TABLE`). Window scaling, SACK-permitted and timestamps offered in the
 * SYN are lost, and the connection runs without them, unless the SYN had
 * timestamps: then, as Linux does, the SYN-ACK's TSval carries the client's
 * window scale and SACK-permitted in its low bits (`encodeTimestamp`) and the
 * ACK's TSecr returns them (`decodeTimestamp`). This is the accepted price of
 * staying stateless under a SYN flood; cookies are only used while the backlog
 * is full.
 */
import { copyKey, siphash24Into } from "./siphash.js"

/**
 * The MSS values a cookie can encode (index = 3 bits). From the Linux IPv4
 * (536, 1300, 1440, 1460) and IPv6 (1220, 1440, 8940) tables plus common
 * tunnel sizes: 536 is the IPv4 default (RFC 9293 §3.7.1), 1220 the IPv6
 * minimum (1280 − 60), 1380/1420 VPN and PPPoE paths, 1460 Ethernet IPv4,
 * 8940 a 9000-byte jumbo frame over IPv6.
 */
export const MSS_TABLE: ReadonlyArray<number> = [536, 1220, 1300, 1380, 1420, 1440, 1460, 8940]

/** Seconds per tick of the cookie counter. */
export const COUNTER_PERIOD_SECONDS = 64

/** A cookie is accepted while its counter is at most this many periods old (so for 128 to 192 s). */
export const MAX_AGE_PERIODS = 2

const COUNTER_SHIFT = 27
const COUNTER_MASK = 0x1f
const MSS_SHIFT = 24
const MSS_MASK = 0x7
const HASH_MASK = 0xffffff
/** clientIsn (4) + full counter (4) + mss index (1) follow the tuple in the hashed message. */
const HASH_TRAILER = 9

/**
 * The index of the largest `MSS_TABLE` entry ≤ `mss`; 0 when `mss` is below
 * 536, as Linux does, since every IPv4 host must accept 536 (RFC 9293 §3.7.1).
 */
export const mssIndex = (mss: number): number => {
  for (let i = MSS_TABLE.length - 1; i > 0; i--) {
    if (mss >= MSS_TABLE[i]!) return i
  }
  return 0
}

/**
 * Stateless SYN cookies for one stack. `tuple` is the connection's 4-tuple as
 * serialized by `ipv4Tuple`/`ipv6Tuple` (local = this stack's side), the same
 * bytes for the SYN and for its ACK.
 */
export class SynCookies {
  private readonly secret: Uint8Array
  private readonly out = new Uint32Array(2)
  private scratch = new Uint8Array(64)

  /** `secret`: 16 random bytes, fixed for the stack's lifetime (copied); use one distinct from the ISN secret. */
  constructor(secret: Uint8Array) {
    this.secret = copyKey(secret)
  }

  /**
   * The server ISN for a SYN on `tuple` with sequence number `clientIsn`,
   * remembering `mss` (the client's MSS, or the default when it sent none)
   * rounded down to `MSS_TABLE`.
   */
  make(tuple: Uint8Array, clientIsn: number, mss: number, nowSeconds: number): number {
    const counter = Math.floor(nowSeconds / COUNTER_PERIOD_SECONDS)
    const index = mssIndex(mss)
    const hash = this.hash(tuple, clientIsn, counter, index)
    return (((counter & COUNTER_MASK) << COUNTER_SHIFT) | (index << MSS_SHIFT) | hash) >>> 0
  }

  /**
   * Validates the ACK completing a cookie handshake: `clientIsn` is the ACK's
   * `seq − 1` and `cookie` its `ack − 1` (both modulo 2^32). Returns the MSS
   * remembered by `make`, or undefined when the cookie is forged, for another
   * connection, or older than `MAX_AGE_PERIODS`.
   */
  check(tuple: Uint8Array, clientIsn: number, cookie: number, nowSeconds: number): number | undefined {
    const now = Math.floor(nowSeconds / COUNTER_PERIOD_SECONDS)
    const c = cookie >>> 0
    // The cookie holds only 5 counter bits: its age is their distance back from now, modulo 32.
    const age = (now - (c >>> COUNTER_SHIFT)) & COUNTER_MASK
    if (age > MAX_AGE_PERIODS) return undefined
    const index = (c >>> MSS_SHIFT) & MSS_MASK
    if (this.hash(tuple, clientIsn, now - age, index) !== (c & HASH_MASK)) return undefined
    return MSS_TABLE[index]
  }

  private hash(tuple: Uint8Array, clientIsn: number, counter: number, index: number): number {
    const n = tuple.length
    if (this.scratch.length < n + HASH_TRAILER) this.scratch = new Uint8Array(n + HASH_TRAILER)
    const m = this.scratch
    m.set(tuple, 0)
    m[n] = clientIsn >>> 24
    m[n + 1] = clientIsn >>> 16
    m[n + 2] = clientIsn >>> 8
    m[n + 3] = clientIsn
    m[n + 4] = counter >>> 24
    m[n + 5] = counter >>> 16
    m[n + 6] = counter >>> 8
    m[n + 7] = counter
    m[n + 8] = index
    siphash24Into(this.out, this.secret, m, 0, n + HASH_TRAILER)
    return this.out[1]! & HASH_MASK
  }
}

/** Low TSval bits that carry the SYN's options in a cookie SYN-ACK. */
export const TIMESTAMP_OPTION_BITS = 5

const TS_MASK = (1 << TIMESTAMP_OPTION_BITS) - 1
const TS_WSCALE_MASK = 0xf
/** Window-scale field value meaning "the client offered no window scaling". */
const TS_WSCALE_NONE = 0xf
const TS_SACK = 0x10
/** RFC 7323 §2.3: a shift above 14 is treated as 14. */
const MAX_WSCALE = 14

/** The SYN options a cookie SYN-ACK can carry in its timestamp. */
export interface CookieOptions {
  /** The client's window-scale shift (0–14), or undefined when it offered none. */
  readonly windowScale: number | undefined
  /** Whether the client sent SACK-permitted. */
  readonly sackPermitted: boolean
}

/**
 * The TSval for a cookie SYN-ACK (only when the SYN carried timestamps):
 * `tsNow` with its low 5 bits replaced by the client's window scale (4 bits,
 * 15 = none) and SACK-permitted (1 bit), as Linux's `cookie_init_timestamp`.
 * Never ahead of `tsNow` (modulo 2^32), so later TSvals stay monotonic for PAWS.
 */
export const encodeTimestamp = (tsNow: number, options: CookieOptions): number => {
  const ws = options.windowScale === undefined ? TS_WSCALE_NONE : Math.min(Math.max(options.windowScale, 0), MAX_WSCALE)
  const bits = ws | (options.sackPermitted ? TS_SACK : 0)
  const now = tsNow >>> 0
  const ts = ((now & ~TS_MASK) | bits) >>> 0
  return bits > (now & TS_MASK) ? (ts - (TS_MASK + 1)) >>> 0 : ts
}

/** The options carried by `encodeTimestamp`, read back from the ACK's TSecr. */
export const decodeTimestamp = (tsEcr: number): CookieOptions => {
  const ws = tsEcr & TS_WSCALE_MASK
  return {
    windowScale: ws === TS_WSCALE_NONE ? undefined : ws,
    sackPermitted: (tsEcr & TS_SACK) !== 0
  }
}
