/**
 * SipHash-2-4 (Aumasson & Bernstein, 2012): a keyed 64-bit PRF over short
 * messages, here for RFC 6528 ISNs and SYN cookies. Every 64-bit lane is held
 * as two uint32 halves so the hot path stays in small-integer arithmetic (no
 * BigInt); the result is the 64-bit value `hi * 2^32 + lo`.
 */

/** Key length in bytes. */
export const KEY_LENGTH = 16

/** Copies a 16-byte key, refusing any other length (a programming error, not input). */
export const copyKey = (key: Uint8Array): Uint8Array => {
  if (key.length !== KEY_LENGTH) throw new RangeError(`SipHash key must be ${KEY_LENGTH} bytes, got ${key.length}`)
  return Uint8Array.from(key)
}

/** A 64-bit SipHash result as two unsigned 32-bit halves. */
export interface SipHashResult {
  readonly hi: number
  readonly lo: number
}

/** Reads a little-endian uint32 at `i` (SipHash reads its words little-endian). */
const le32 = (b: Uint8Array, i: number): number =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0

/**
 * SipHash-2-4 of `message[offset .. offset+length)` under a 16-byte `key`,
 * written into `out` (`out[0]` = high 32 bits, `out[1]` = low 32 bits) so a
 * caller can reuse one buffer and allocate nothing. Returns `out`.
 */
export const siphash24Into = (
  out: Uint32Array,
  key: Uint8Array,
  message: Uint8Array,
  offset = 0,
  length = message.length - offset
): Uint32Array => {
  if (key.length < KEY_LENGTH) throw new RangeError(`SipHash key must be ${KEY_LENGTH} bytes, got ${key.length}`)
  if (offset < 0 || length < 0 || offset + length > message.length) {
    throw new RangeError("SipHash message range out of bounds")
  }
  const k0l = le32(key, 0)
  const k0h = le32(key, 4)
  const k1l = le32(key, 8)
  const k1h = le32(key, 12)
  // The initialisation constants spell "somepseudorandomlygeneratedbytes".
  let v0h = (k0h ^ 0x736f6d65) >>> 0
  let v0l = (k0l ^ 0x70736575) >>> 0
  let v1h = (k1h ^ 0x646f7261) >>> 0
  let v1l = (k1l ^ 0x6e646f6d) >>> 0
  let v2h = (k0h ^ 0x6c796765) >>> 0
  let v2l = (k0l ^ 0x6e657261) >>> 0
  let v3h = (k1h ^ 0x74656462) >>> 0
  let v3l = (k1l ^ 0x79746573) >>> 0

  const fullBlocks = length >>> 3
  const tail = offset + (fullBlocks << 3)
  const left = length & 7
  // Steps 0 .. fullBlocks-1 compress whole words, step fullBlocks the padded
  // last word, step fullBlocks+1 finalises: one copy of the round serves all.
  for (let step = 0; step <= fullBlocks + 1; step++) {
    let mh = 0
    let ml = 0
    let rounds: number
    if (step < fullBlocks) {
      const i = offset + (step << 3)
      ml = le32(message, i)
      mh = le32(message, i + 4)
      rounds = 2
    } else if (step === fullBlocks) {
      // The last word carries the remaining 0..7 bytes and (length mod 256) in its top byte.
      mh = (length & 0xff) << 24
      for (let j = left - 1; j >= 0; j--) {
        const byte = message[tail + j]!
        if (j >= 4) mh |= byte << ((j - 4) << 3)
        else ml |= byte << (j << 3)
      }
      mh >>>= 0
      ml >>>= 0
      rounds = 2
    } else {
      v2l = (v2l ^ 0xff) >>> 0
      rounds = 4
    }
    v3h = (v3h ^ mh) >>> 0
    v3l = (v3l ^ ml) >>> 0
    for (let r = 0; r < rounds; r++) {
      let lo: number
      let t: number
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      lo = (v0l + v1l) >>> 0
      v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0
      v0l = lo
      t = v1h
      v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0
      v1l = ((v1l << 13) | (t >>> 19)) >>> 0
      v1h = (v1h ^ v0h) >>> 0
      v1l = (v1l ^ v0l) >>> 0
      t = v0h
      v0h = v0l
      v0l = t
      // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
      lo = (v2l + v3l) >>> 0
      v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0
      v2l = lo
      t = v3h
      v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0
      v3l = ((v3l << 16) | (t >>> 16)) >>> 0
      v3h = (v3h ^ v2h) >>> 0
      v3l = (v3l ^ v2l) >>> 0
      // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
      lo = (v0l + v3l) >>> 0
      v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0
      v0l = lo
      t = v3h
      v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0
      v3l = ((v3l << 21) | (t >>> 11)) >>> 0
      v3h = (v3h ^ v0h) >>> 0
      v3l = (v3l ^ v0l) >>> 0
      // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
      lo = (v2l + v1l) >>> 0
      v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0
      v2l = lo
      t = v1h
      v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0
      v1l = ((v1l << 17) | (t >>> 15)) >>> 0
      v1h = (v1h ^ v2h) >>> 0
      v1l = (v1l ^ v2l) >>> 0
      t = v2h
      v2h = v2l
      v2l = t
    }
    v0h = (v0h ^ mh) >>> 0
    v0l = (v0l ^ ml) >>> 0
  }
  out[0] = v0h ^ v1h ^ v2h ^ v3h
  out[1] = v0l ^ v1l ^ v2l ^ v3l
  return out
}

/** SipHash-2-4 of `message[offset .. offset+length)` under a 16-byte `key`, as `{ hi, lo }` (allocates; see `siphash24Into`). */
export const siphash24 = (
  key: Uint8Array,
  message: Uint8Array,
  offset = 0,
  length = message.length - offset
): SipHashResult => {
  const out = siphash24Into(new Uint32Array(2), key, message, offset, length)
  return { hi: out[0]!, lo: out[1]! }
}
