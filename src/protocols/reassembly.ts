/**
 * Fragment reassembly as a pure state machine, shared by IPv4 (RFC 791,
 * RFC 1122 §3.3.2) and IPv6 (RFC 8200 §4.5, RFC 5722). The caller keys
 * datagrams (e.g. source, destination, protocol, id) and passes byte offsets;
 * time comes in as `now` (ms). Bounded in datagrams, bytes and pieces.
 */

/** Limits of a `Reassembler`; every field has a default. */
export interface ReassemblyOptions {
  /** Lifetime of a datagram from its first fragment (default 30 s). */
  readonly timeoutMillis?: number
  /** Datagrams in progress at once (default 64). */
  readonly maxDatagrams?: number
  /** Payload bytes buffered across all datagrams (default 4 MiB). */
  readonly maxBytes?: number
  /** Largest reassembled payload (default 65535). */
  readonly maxDatagramSize?: number
  /** Fragments held for one datagram (default 256); more drops it as "memory", like FreeBSD's maxfragsperpacket. */
  readonly maxFragments?: number
}

/** Why a fragment was refused; its whole datagram is discarded with it. */
export type ReassemblyDropReason =
  | "overlap"
  | "too_big"
  | "bad_length"
  | "inconsistent_end"
  | "memory"
  | "datagram_limit"

/** What `input` made of a fragment. */
export type ReassemblyResult<C> =
  /** Held (or an exact duplicate, ignored); the datagram is not complete yet. */
  | { readonly _tag: "Incomplete" }
  /** The datagram is whole: `payload` is exactly its bytes, `context` the one given with the offset-0 fragment. */
  | { readonly _tag: "Complete"; readonly payload: Uint8Array; readonly context: C }
  /** Refused; any buffered part of the datagram was discarded. */
  | { readonly _tag: "Dropped"; readonly reason: ReassemblyDropReason }

/** A datagram that timed out; `context` is present when its offset-0 fragment had arrived. */
export interface ReassemblyTimeout<C> {
  readonly key: string
  readonly context: C | undefined
}

const INCOMPLETE: { readonly _tag: "Incomplete" } = Object.freeze({ _tag: "Incomplete" })

const dropped = (reason: ReassemblyDropReason): { readonly _tag: "Dropped"; readonly reason: ReassemblyDropReason } =>
  Object.freeze({ _tag: "Dropped", reason })

const DROPPED = {
  overlap: dropped("overlap"),
  too_big: dropped("too_big"),
  bad_length: dropped("bad_length"),
  inconsistent_end: dropped("inconsistent_end"),
  memory: dropped("memory"),
  datagram_limit: dropped("datagram_limit")
} as const

const NO_TIMEOUTS: ReadonlyArray<never> = Object.freeze([])

/** One received fragment's bytes, at `offset` in the datagram. */
interface Piece {
  readonly offset: number
  readonly data: Uint8Array
}

interface Datagram<C> {
  readonly key: string
  readonly deadline: number
  context: C | undefined
  /** Payload length once the last fragment came; -1 before. */
  end: number
  /** Sorted by offset, never overlapping. */
  readonly pieces: Array<Piece>
  /** Sum of the pieces' lengths. */
  received: number
}

const option = (value: number | undefined, fallback: number, min: number): number =>
  value === undefined || Number.isNaN(value) ? fallback : Math.max(min, Math.floor(value))

/**
 * Reassembles fragmented datagrams. `C` is whatever the caller needs back
 * with a whole datagram (e.g. the first fragment's header). Overlaps other
 * than exact duplicates discard the datagram (RFC 5722; Linux does the same
 * for IPv4). Over `maxBytes`, the datagram the fragment belongs to is
 * discarded rather than an older one: O(1), and a flood cannot evict
 * datagrams that are about to complete. `now` must not go backwards.
 */
export class Reassembler<C> {
  private readonly timeoutMillis: number
  private readonly maxDatagrams: number
  private readonly maxBytes: number
  private readonly maxDatagramSize: number
  private readonly maxFragments: number

  /** In arrival order of the first fragment, which is also deadline order. */
  private readonly table = new Map<string, Datagram<C>>()
  private buffered = 0

  constructor(options: ReassemblyOptions = {}) {
    this.timeoutMillis = option(options.timeoutMillis, 30_000, 0)
    this.maxDatagrams = option(options.maxDatagrams, 64, 1)
    this.maxBytes = option(options.maxBytes, 4 * 1024 * 1024, 0)
    this.maxDatagramSize = option(options.maxDatagramSize, 65_535, 0)
    this.maxFragments = option(options.maxFragments, 256, 1)
  }

  /** Datagrams in progress. */
  get datagrams(): number {
    return this.table.size
  }

  /** Payload bytes buffered across all datagrams. */
  get bytes(): number {
    return this.buffered
  }

  /**
   * One fragment of datagram `key`: `bytesLength` payload bytes from
   * `bytes[bytesOffset]` at byte `offset` in the datagram; `more` is the
   * more-fragments flag. The bytes kept are copied; `context` is kept only
   * from the first offset-0 fragment. Arguments out of range are "bad_length".
   */
  input(
    key: string,
    offset: number,
    more: boolean,
    bytes: Uint8Array,
    bytesOffset: number,
    bytesLength: number,
    now: number,
    context: C | undefined
  ): ReassemblyResult<C> {
    if (
      !Number.isInteger(offset) || offset < 0 || !Number.isInteger(bytesOffset) || bytesOffset < 0 ||
      !Number.isInteger(bytesLength) || bytesLength < 0 || bytesOffset + bytesLength > bytes.length ||
      // RFC 791 / RFC 8200 §4.5: every fragment but the last carries a multiple of 8 bytes.
      (more && (bytesLength === 0 || (bytesLength & 7) !== 0))
    ) {
      return this.discard(key, DROPPED.bad_length)
    }
    const fragEnd = offset + bytesLength
    if (fragEnd > this.maxDatagramSize) return this.discard(key, DROPPED.too_big)

    let datagram = this.table.get(key)
    if (datagram === undefined && this.table.size >= this.maxDatagrams) return DROPPED.datagram_limit

    const pieces = datagram?.pieces
    // Where the new piece goes: the first piece at or after `offset`.
    let index = 0
    if (pieces !== undefined && pieces.length > 0) {
      const last = pieces[pieces.length - 1]!
      if (last.offset < offset) index = pieces.length // in-order arrival
      else index = lowerBound(pieces, offset)
    }

    if (datagram !== undefined) {
      const knownEnd = datagram.end
      if (!more) {
        // RFC 791 / RFC 8200 §4.5: all last fragments agree on the end, and no data lies past it.
        if (knownEnd >= 0 ? knownEnd !== fragEnd : maxEnd(datagram.pieces) > fragEnd) {
          return this.discard(key, DROPPED.inconsistent_end)
        }
      } else if (knownEnd >= 0 && fragEnd > knownEnd) {
        return this.discard(key, DROPPED.inconsistent_end)
      }
      if (bytesLength > 0) {
        const list = datagram.pieces
        const next = list[index]
        if (next !== undefined && next.offset === offset && next.data.length === bytesLength) {
          // An exact duplicate (a duplicated or retransmitted frame): nothing new.
          if (!more) datagram.end = fragEnd
          return this.completeIfWhole(datagram)
        }
        const prev = index > 0 ? list[index - 1]! : undefined
        if ((prev !== undefined && prev.offset + prev.data.length > offset) || (next !== undefined && next.offset < fragEnd)) {
          // RFC 5722: overlapping fragments discard the whole datagram.
          return this.discard(key, DROPPED.overlap)
        }
      }
    }

    if (bytesLength > 0) {
      if (this.buffered + bytesLength > this.maxBytes) return this.discard(key, DROPPED.memory)
      if (datagram !== undefined && datagram.pieces.length >= this.maxFragments) {
        return this.discard(key, DROPPED.memory)
      }
    }

    if (datagram === undefined) {
      datagram = { key, deadline: now + this.timeoutMillis, context: undefined, end: -1, pieces: [], received: 0 }
      this.table.set(key, datagram)
    }
    if (offset === 0) datagram.context = context
    if (!more) datagram.end = fragEnd
    if (bytesLength > 0) {
      const data = bytes.slice(bytesOffset, bytesOffset + bytesLength)
      if (index === datagram.pieces.length) datagram.pieces.push({ offset, data })
      else datagram.pieces.splice(index, 0, { offset, data })
      datagram.received += bytesLength
      this.buffered += bytesLength
    }
    return this.completeIfWhole(datagram)
  }

  /**
   * Removes and reports the datagrams whose first fragment is `timeoutMillis`
   * old (RFC 1122 §3.3.2; RFC 792: the caller may send ICMP time exceeded,
   * code 1, when `context` is present, i.e. the offset-0 fragment came).
   */
  poll(now: number): ReadonlyArray<ReassemblyTimeout<C>> {
    let timeouts: Array<ReassemblyTimeout<C>> | undefined
    for (const datagram of this.table.values()) {
      if (now < datagram.deadline) break
      this.remove(datagram)
      timeouts ??= []
      timeouts.push({ key: datagram.key, context: datagram.context })
    }
    return timeouts ?? NO_TIMEOUTS
  }

  /** The earliest time `poll` has work; Infinity when none. */
  pollAt(): number {
    for (const datagram of this.table.values()) return datagram.deadline
    return Infinity
  }

  private completeIfWhole(datagram: Datagram<C>): ReassemblyResult<C> {
    // Pieces never overlap and never pass the end, so the count tells coverage.
    if (datagram.end < 0 || datagram.received !== datagram.end) return INCOMPLETE
    this.remove(datagram)
    const pieces = datagram.pieces
    let payload: Uint8Array
    if (pieces.length === 1) {
      payload = pieces[0]!.data
    } else {
      payload = new Uint8Array(datagram.end)
      for (const piece of pieces) payload.set(piece.data, piece.offset)
    }
    return { _tag: "Complete", payload, context: datagram.context as C }
  }

  private discard(key: string, result: ReassemblyResult<C>): ReassemblyResult<C> {
    const datagram = this.table.get(key)
    if (datagram !== undefined) this.remove(datagram)
    return result
  }

  private remove(datagram: Datagram<C>): void {
    this.table.delete(datagram.key)
    this.buffered -= datagram.received
  }
}

/** Index of the first piece whose offset is >= `offset`. */
const lowerBound = (pieces: ReadonlyArray<Piece>, offset: number): number => {
  let lo = 0
  let hi = pieces.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (pieces[mid]!.offset < offset) lo = mid + 1
    else hi = mid
  }
  return lo
}

const maxEnd = (pieces: ReadonlyArray<Piece>): number => {
  const last = pieces[pieces.length - 1]
  return last === undefined ? 0 : last.offset + last.data.length
}
