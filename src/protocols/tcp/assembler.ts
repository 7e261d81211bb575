/**
 * Out-of-order bookkeeping for a TCP receive buffer (RFC 9293 §3.10.7.4; SACK
 * blocks per RFC 2018 §4): which byte ranges past rcv.nxt have arrived. It
 * holds offsets only; the bytes sit in the `RingBuffer`'s free space. Bounded
 * in ranges; every offset is relative to rcv.nxt, the in-order end.
 */

/** One SACK block as offsets from rcv.nxt: bytes `[start, end)` are held. */
export interface SackBlock {
  start: number
  end: number
}

const NO_RANGES = new Float64Array(0)

/** Default `maxRanges`: separate out-of-order ranges an `Assembler` holds. */
export const DEFAULT_MAX_RANGES = 32

/**
 * The set of received byte ranges past the in-order end, kept sorted,
 * disjoint and non-adjacent (touching ranges merge). At most `maxRanges`
 * ranges start past offset 0; a range at offset 0 is in-order data that the
 * caller takes with `removeFront` right away, so it is always accepted (a full
 * assembler must never make the receiver drop in-order data). Each range
 * remembers when an `add` last touched it, for the SACK block order.
 */
export class Assembler {
  /** Separate ranges past offset 0 held at most. */
  readonly maxRanges: number
  // One slot more than `maxRanges`, for a range at offset 0 awaiting `removeFront`.
  // Allocated at the first out-of-order segment: most connections never see one.
  private starts: Float64Array = NO_RANGES
  private ends: Float64Array = NO_RANGES
  /** `clock` value of the last `add` that touched each range; unique per range. */
  private stamps: Float64Array = NO_RANGES
  private count = 0
  private held = 0
  private clock = 0

  constructor(maxRanges: number = DEFAULT_MAX_RANGES) {
    this.maxRanges = Number.isNaN(maxRanges) ? DEFAULT_MAX_RANGES : Math.max(1, Math.floor(maxRanges))
  }

  /** True when no range is held. */
  get isEmpty(): boolean {
    return this.count === 0
  }

  /** Separate ranges held (including one at offset 0 not yet taken by `removeFront`). */
  get rangeCount(): number {
    return this.count
  }

  /** Total bytes held across all ranges. */
  get bytes(): number {
    return this.held
  }

  /**
   * Records that bytes `[offset, offset + length)` arrived, merging with any
   * range it overlaps or touches. Returns false, changing nothing, when it
   * would be a new separate range past offset 0 while `maxRanges` ranges are
   * held (the caller drops the segment), or when the arguments are not
   * non-negative integers. An empty range is accepted and changes nothing.
   */
  add(offset: number, length: number): boolean {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) return false
    if (length === 0) return true
    if (this.starts.length === 0) {
      this.starts = new Float64Array(this.maxRanges + 1)
      this.ends = new Float64Array(this.maxRanges + 1)
      this.stamps = new Float64Array(this.maxRanges + 1)
    }
    const end = offset + length
    const starts = this.starts
    const ends = this.ends
    const n = this.count
    // Ranges [first, last) overlap or touch the new one.
    let first = 0
    while (first < n && ends[first]! < offset) first++
    let last = first
    while (last < n && starts[last]! <= end) last++

    if (first === last) {
      if (n >= this.maxRanges && offset !== 0) return false
      for (let i = n; i > first; i--) {
        starts[i] = starts[i - 1]!
        ends[i] = ends[i - 1]!
        this.stamps[i] = this.stamps[i - 1]!
      }
      starts[first] = offset
      ends[first] = end
      this.count = n + 1
      this.held += length
    } else {
      const mergedStart = Math.min(offset, starts[first]!)
      const mergedEnd = Math.max(end, ends[last - 1]!)
      let absorbed = 0
      for (let i = first; i < last; i++) absorbed += ends[i]! - starts[i]!
      starts[first] = mergedStart
      ends[first] = mergedEnd
      const gone = last - first - 1
      if (gone > 0) {
        for (let i = last; i < n; i++) {
          starts[i - gone] = starts[i]!
          ends[i - gone] = ends[i]!
          this.stamps[i - gone] = this.stamps[i]!
        }
        this.count = n - gone
      }
      this.held += mergedEnd - mergedStart - absorbed
    }
    // RFC 2018 §4: the block holding the segment that triggered the ACK is reported first.
    this.stamps[first] = ++this.clock
    return true
  }

  /**
   * When a range starts at offset 0, removes it and returns its length,
   * shifting every other offset down by it (rcv.nxt advanced); else 0. The
   * caller then makes that many bytes readable (`enqueueUnallocated`).
   */
  removeFront(): number {
    if (this.count === 0 || this.starts[0] !== 0) return 0
    const length = this.ends[0]!
    const n = this.count - 1
    for (let i = 0; i < n; i++) {
      this.starts[i] = this.starts[i + 1]! - length
      this.ends[i] = this.ends[i + 1]! - length
      this.stamps[i] = this.stamps[i + 1]!
    }
    this.count = n
    this.held -= length
    return length
  }

  /**
   * Fills `out[0..k)` with up to `max` SACK blocks and returns k. RFC 2018 §4
   * order: first the block containing the most recently added range, then the
   * others from the most recently to the least recently added to. A range at
   * offset 0 is in-order data, never a SACK block. Reuses `out`'s objects
   * (appending one only when `out` is too short): no allocation once `out` has
   * `max` entries. Offsets are relative to rcv.nxt; the caller adds rcv.nxt
   * (mod 2^32).
   */
  sackBlocks(out: Array<SackBlock>, max: number): number {
    const limit = max > 0 ? Math.floor(max) : 0
    let k = 0
    let below = Infinity
    while (k < limit) {
      let best = -1
      let bestStamp = -1
      for (let i = 0; i < this.count; i++) {
        const stamp = this.stamps[i]!
        if (this.starts[i]! > 0 && stamp < below && stamp > bestStamp) {
          best = i
          bestStamp = stamp
        }
      }
      if (best < 0) break
      below = bestStamp
      const start = this.starts[best]!
      const end = this.ends[best]!
      const block = out[k]
      if (block === undefined) out.push({ start, end })
      else {
        block.start = start
        block.end = end
      }
      k++
    }
    return k
  }

  /** Calls `visit(start, end)` for every range held, in offset order. */
  forEachRange(visit: (start: number, end: number) => void): void {
    for (let i = 0; i < this.count; i++) visit(this.starts[i]!, this.ends[i]!)
  }

  /** Forgets every range. */
  clear(): void {
    this.count = 0
    this.held = 0
  }
}
