/**
 * The sender's SACK scoreboard (RFC 6675, SACK blocks per RFC 2018): which
 * bytes above snd.una the peer has selectively acknowledged, and from that
 * which are lost (IsLost), what to retransmit next (NextSeg rule 1) and how
 * much is in the network (SetPipe). Bounded in ranges; all numbers are
 * 32-bit sequence numbers compared modulo 2^32.
 */

/** The signed 32-bit distance `a − b` (RFC 1982 serial arithmetic), as `seq.ts`'s `seqDiff`. */
const seqDiff = (a: number, b: number): number => (a - b) | 0

/** A byte range `[start, end)` of sequence space. */
export interface SackRange {
  readonly start: number
  readonly end: number
}

/** RFC 6675 §2: DupThresh, the duplicate ACKs (or SACKed segments) that mean a loss. */
export const DUP_THRESH = 3

/** Default `maxRanges` of a `SackScoreboard`. */
export const DEFAULT_MAX_SACK_RANGES = 64

const validMss = (mss: number): boolean => Number.isFinite(mss) && mss >= 1

const NO_RANGES = new Uint32Array(0)

/**
 * SACKed ranges above snd.una, kept sorted, disjoint and non-adjacent
 * (touching ranges merge), at most `maxRanges` of them. When full, a range
 * that merges with none is kept only if it lies below the highest one, which
 * is dropped instead: the low ranges decide what is lost and resent first.
 * Forgetting a SACK only costs a needless retransmission (RFC 2018 §8 lets
 * receivers renege anyway).
 */
export class SackScoreboard {
  /** Separate ranges held at most. */
  readonly maxRanges: number
  // Allocated at the first SACK block: most connections never see one.
  private starts: Uint32Array = NO_RANGES
  private ends: Uint32Array = NO_RANGES
  private count = 0
  private total = 0
  /** snd.una as of the latest `reset` or `update`; every range lies above it. */
  private una = 0

  constructor(maxRanges: number = DEFAULT_MAX_SACK_RANGES) {
    this.maxRanges = Number.isNaN(maxRanges) ? DEFAULT_MAX_SACK_RANGES : Math.max(1, Math.min(4096, Math.floor(maxRanges)))
  }

  /** SACKed bytes above snd.una. */
  get sackedBytes(): number {
    return this.total
  }

  /** One past the highest SACKed byte; undefined when nothing is SACKed. */
  get highestSacked(): number | undefined {
    return this.count === 0 ? undefined : this.ends[this.count - 1]!
  }

  /** Separate SACKed ranges held. */
  get rangeCount(): number {
    return this.count
  }

  /** A copy of the SACKed ranges, lowest first. */
  ranges(): Array<SackRange> {
    const out: Array<SackRange> = []
    for (let i = 0; i < this.count; i++) out.push({ start: this.starts[i]!, end: this.ends[i]! })
    return out
  }

  /** Forgets every range and starts over at `sndUna` (a new connection, or after an RTO). */
  reset(sndUna: number): void {
    this.una = sndUna >>> 0
    this.clear()
  }

  /** Forgets every range (RFC 6675 §5.1: the scoreboard may be cleared after an RTO). */
  clear(): void {
    this.count = 0
    this.total = 0
  }

  /**
   * An ACK: snd.una is now `sndUna` (ranges at or below it go), and the first
   * `count` entries of `blocks` are its SACK blocks. Blocks at or below
   * snd.una (D-SACK, RFC 2883) and empty ones are skipped; the caller drops
   * blocks past snd.nxt. Returns the bytes newly SACKed.
   */
  update(sndUna: number, blocks: ReadonlyArray<SackRange>, count: number): number {
    this.advance(sndUna >>> 0)
    const n = Math.min(blocks.length, count > 0 ? Math.floor(count) : 0)
    const una = this.una
    let added = 0
    for (let i = 0; i < n; i++) {
      const block = blocks[i]!
      const endOff = seqDiff(block.end >>> 0, una)
      if (endOff <= 0) continue
      const startOff = Math.max(0, seqDiff(block.start >>> 0, una))
      if (startOff >= endOff) continue
      added += this.insert(startOff, endOff)
    }
    return added
  }

  /** `seq` is above snd.una and SACKed. */
  isSacked(seq: number): boolean {
    const d = seqDiff(seq >>> 0, this.una)
    if (d < 0) return false
    for (let i = 0; i < this.count; i++) {
      if (d < this.rel(this.starts[i]!)) return false
      if (d < this.rel(this.ends[i]!)) return true
    }
    return false
  }

  /**
   * RFC 6675 §4 IsLost: `seq` is not SACKed, and above it DupThresh
   * discontiguous segments or more than (DupThresh − 1)·MSS bytes are.
   */
  isLost(seq: number, mss: number): boolean {
    if (!validMss(mss)) return false
    const d = seqDiff(seq >>> 0, this.una)
    if (d < 0 || this.isSacked(seq)) return false
    let bytes = 0
    let segments = 0
    for (let i = this.count - 1; i >= 0; i--) {
      const start = this.rel(this.starts[i]!)
      const end = this.rel(this.ends[i]!)
      if (end <= d) break
      bytes += end - start
      segments += Math.ceil((end - start) / mss)
      if (segments >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss) return true
    }
    return false
  }

  /**
   * RFC 6675 §4 NextSeg rule (1): the first segment (up to `mss` bytes) of
   * the lowest hole at or above `highRxt` (one past the highest byte resent
   * in this recovery; `sndUna` when none) that lies below a SACKed range and
   * is lost. Rules (2)–(4) (new data, rescue) are the sender's.
   */
  nextSegmentToRetransmit(sndUna: number, sndNxt: number, highRxt: number, mss: number): SackRange | undefined {
    if (!validMss(mss)) return undefined
    const base = sndUna >>> 0
    const limit = seqDiff(sndNxt >>> 0, base)
    let pos = Math.max(0, seqDiff(highRxt >>> 0, base))
    if (pos >= limit) return undefined
    for (let i = 0; i < this.count; i++) {
      const start = seqDiff(this.starts[i]!, base)
      const end = seqDiff(this.ends[i]!, base)
      if (end <= pos) continue
      if (start <= pos) {
        pos = end
        if (pos >= limit) return undefined
        continue
      }
      // A hole [pos, start) with a SACKed range above it (rule 1.b). IsLost only
      // weakens going up, so if this hole is not lost, none above is (rule 1.c).
      if (!this.holeBelowIsLost(i, mss)) return undefined
      const segmentEnd = Math.min(pos + Math.floor(mss), start, limit)
      return { start: (base + pos) >>> 0, end: (base + segmentEnd) >>> 0 }
    }
    return undefined
  }

  /**
   * RFC 6675 §4 SetPipe: bytes in the network, counting over the unSACKed
   * bytes in [sndUna, sndNxt) one for each not lost and one more for each
   * retransmitted (below `highRxt`, as in `nextSegmentToRetransmit`).
   */
  pipe(sndUna: number, sndNxt: number, highRxt: number, mss: number): number {
    const base = sndUna >>> 0
    const limit = seqDiff(sndNxt >>> 0, base)
    if (limit <= 0) return 0
    const resent = Math.min(limit, Math.max(0, seqDiff(highRxt >>> 0, base)))
    // Holes below ranges 0..lastLost are lost; holes above are not (IsLost weakens going up).
    let lastLost = -1
    if (validMss(mss)) {
      let bytes = 0
      let segments = 0
      for (let i = this.count - 1; i >= 0; i--) {
        const start = Math.max(0, seqDiff(this.starts[i]!, base))
        const end = seqDiff(this.ends[i]!, base)
        if (end <= start) break
        bytes += end - start
        segments += Math.ceil((end - start) / mss)
        if (segments >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss) {
          lastLost = i
          break
        }
      }
    }
    let pipe = 0
    let pos = 0
    const hole = (from: number, to: number, lost: boolean): void => {
      if (!lost) pipe += to - from
      if (resent > from) pipe += Math.min(to, resent) - from
    }
    for (let i = 0; i < this.count && pos < limit; i++) {
      const end = Math.min(limit, seqDiff(this.ends[i]!, base))
      if (end <= pos) continue
      const start = Math.max(0, Math.min(limit, seqDiff(this.starts[i]!, base)))
      if (start > pos) hole(pos, start, i <= lastLost)
      pos = Math.max(pos, end)
    }
    if (pos < limit) hole(pos, limit, false)
    return pipe
  }

  /** Offset of a stored sequence number above `una`. */
  private rel(seq: number): number {
    return (seq - this.una) >>> 0
  }

  /** RFC 6675 IsLost for the bytes just below range `index`. */
  private holeBelowIsLost(index: number, mss: number): boolean {
    let bytes = 0
    let segments = 0
    for (let i = this.count - 1; i >= index; i--) {
      const length = (this.ends[i]! - this.starts[i]!) >>> 0
      bytes += length
      segments += Math.ceil(length / mss)
      if (segments >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss) return true
    }
    return false
  }

  /** snd.una moved up to `sndUna`: drop what it covers (an older snd.una is ignored). */
  private advance(sndUna: number): void {
    const moved = seqDiff(sndUna, this.una)
    if (moved <= 0) return
    let drop = 0
    while (drop < this.count && this.rel(this.ends[drop]!) <= moved) {
      this.total -= (this.ends[drop]! - this.starts[drop]!) >>> 0
      drop++
    }
    if (drop > 0) {
      this.starts.copyWithin(0, drop, this.count)
      this.ends.copyWithin(0, drop, this.count)
      this.count -= drop
    }
    if (this.count > 0 && this.rel(this.starts[0]!) < moved) {
      this.total -= moved - this.rel(this.starts[0]!)
      this.starts[0] = sndUna
    }
    this.una = sndUna
  }

  /** Adds offsets [s, e) above `una`; returns the bytes not SACKed before. */
  private insert(s: number, e: number): number {
    const una = this.una
    let i = 0
    while (i < this.count && this.rel(this.ends[i]!) < s) i++
    let j = i
    let covered = 0
    let low = s
    let high = e
    while (j < this.count && this.rel(this.starts[j]!) <= e) {
      const start = this.rel(this.starts[j]!)
      const end = this.rel(this.ends[j]!)
      covered += Math.max(0, Math.min(end, e) - Math.max(start, s))
      if (start < low) low = start
      if (end > high) high = end
      j++
    }
    const merged = j - i
    if (this.starts.length === 0) {
      this.starts = new Uint32Array(this.maxRanges)
      this.ends = new Uint32Array(this.maxRanges)
    }
    if (merged === 0) {
      if (this.count >= this.maxRanges) {
        if (i === this.count) return 0 // above every range: keep the lower ones
        this.count--
        this.total -= (this.ends[this.count]! - this.starts[this.count]!) >>> 0
      }
      this.starts.copyWithin(i + 1, i, this.count)
      this.ends.copyWithin(i + 1, i, this.count)
      this.count++
    } else if (merged > 1) {
      this.starts.copyWithin(i + 1, j, this.count)
      this.ends.copyWithin(i + 1, j, this.count)
      this.count -= merged - 1
    }
    this.starts[i] = (una + low) >>> 0
    this.ends[i] = (una + high) >>> 0
    const added = e - s - covered
    this.total += added
    return added
  }
}
