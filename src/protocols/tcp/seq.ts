/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4; serial-number arithmetic of
 * RFC 1982 at 32 bits): every value is an unsigned 32-bit number and every
 * comparison is modulo 2^32, so `seqLt(0xfffffff0, 5)` holds across the wrap.
 * Two numbers exactly 2^31 apart compare as "less" both ways, as in Linux's
 * `before()`; a connection never has that much data in flight.
 */

/** `a + n` modulo 2^32 (`n` may be negative). */
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0

/** The signed 32-bit distance `a − b`: positive when `a` is after `b`. */
export const seqDiff = (a: number, b: number): number => (a - b) | 0

/** `a` is before `b`. */
export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0

/** `a` is before or at `b`. */
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0

/** `a` is after `b`. */
export const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0

/** `a` is after or at `b`. */
export const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0

/** The later of `a` and `b`. */
export const seqMax = (a: number, b: number): number => (((a - b) | 0) > 0 ? a : b)

/** The earlier of `a` and `b`. */
export const seqMin = (a: number, b: number): number => (((a - b) | 0) < 0 ? a : b)

/**
 * `start ≤ x < end` modulo 2^32: `x` lies in the window that starts at
 * `start` and holds `end − start` numbers (empty when `start === end`), the
 * test of RFC 9293 §3.10.7.4's acceptability table. Works for any window
 * below 2^32, unlike a pair of `seqLe`/`seqLt` which is limited to 2^31.
 */
export const seqInRange = (x: number, start: number, end: number): boolean =>
  (x - start) >>> 0 < (end - start) >>> 0
