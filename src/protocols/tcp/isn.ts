/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), with M a 4 µs clock and F SipHash-2-4 of the
 * connection's 4-tuple under a boot-time secret. Pure: the caller passes the
 * time and supplies the 16 random secret bytes.
 */
import { copyKey, siphash24Into } from "./siphash.js"

/** Bytes of a serialized IPv4 4-tuple (see `ipv4Tuple`). */
export const IPV4_TUPLE_LENGTH = 12

/** Bytes of a serialized IPv6 4-tuple (see `ipv6Tuple`). */
export const IPV6_TUPLE_LENGTH = 36

const TWO_32 = 4294967296

/**
 * Fills `out[0..12)` with an IPv4 4-tuple: local address (4 bytes, network
 * order), remote address (4), local port (2, big-endian), remote port (2).
 * "Local" is always this stack's side, so a SYN and its ACK map to the same
 * bytes. Returns `out` (pass one reusable buffer to avoid allocation).
 */
export const ipv4Tuple = (
  out: Uint8Array,
  localAddr: number,
  localPort: number,
  remoteAddr: number,
  remotePort: number
): Uint8Array => {
  out[0] = localAddr >>> 24
  out[1] = localAddr >>> 16
  out[2] = localAddr >>> 8
  out[3] = localAddr
  out[4] = remoteAddr >>> 24
  out[5] = remoteAddr >>> 16
  out[6] = remoteAddr >>> 8
  out[7] = remoteAddr
  out[8] = localPort >>> 8
  out[9] = localPort
  out[10] = remotePort >>> 8
  out[11] = remotePort
  return out
}

/**
 * Fills `out[0..36)` with an IPv6 4-tuple: local address (16 bytes), remote
 * address (16), local port (2, big-endian), remote port (2). Returns `out`.
 */
export const ipv6Tuple = (
  out: Uint8Array,
  localAddr: Uint8Array,
  localPort: number,
  remoteAddr: Uint8Array,
  remotePort: number
): Uint8Array => {
  out.set(localAddr.subarray(0, 16), 0)
  out.set(remoteAddr.subarray(0, 16), 16)
  out[32] = localPort >>> 8
  out[33] = localPort
  out[34] = remotePort >>> 8
  out[35] = remotePort
  return out
}

/** RFC 6528 ISN generator: one per stack, keyed once with random bytes from the caller. */
export class IsnGenerator {
  private readonly secret: Uint8Array
  private readonly out = new Uint32Array(2)

  /** `secret`: 16 random bytes, fixed for the stack's lifetime (copied; RangeError unless 16 bytes). */
  constructor(secret: Uint8Array) {
    this.secret = copyKey(secret)
  }

  /**
   * The ISN for a connection on `tuple` (an `ipv4Tuple`/`ipv6Tuple`
   * serialization, or any bytes naming the connection) at `nowMicros`
   * microseconds on any monotonic clock. Unsigned 32-bit.
   */
  isn(tuple: Uint8Array, nowMicros: number): number {
    // RFC 6528 §3 (after RFC 793): M ticks every 4 µs, i.e. 250 000 per second, modulo 2^32.
    const ticks = Math.floor(nowMicros / 4) % TWO_32
    const m = ticks < 0 ? ticks + TWO_32 : ticks
    siphash24Into(this.out, this.secret, tuple)
    // RFC 6528 §3: F must not be computable from outside; 32 bits of a keyed PRF suffice.
    return (m + this.out[1]!) >>> 0
  }
}
