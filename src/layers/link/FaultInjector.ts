/**
 * A link wrapper that damages the frames it transmits: loss, duplication,
 * reordering, delay with jitter, bit corruption and a rate limit with a bounded
 * buffer (smoltcp's `phy::FaultInjector`, netem's knobs). Received frames pass
 * through untouched; wrap both ends of a pair to fault both directions.
 * Randomness is seeded from Effect's `Random` and time read from its `Clock`,
 * so `Effect.withRandom` and `TestClock` make a run repeatable.
 */
import { Effect, Random } from "effect"
import type { LinkDevice } from "../Link.js"
import { mulberry32 } from "../../runtime/SeededRandom.js"

/** Which faults to apply to transmitted frames; every fault is off by default. */
export interface FaultOptions {
  /** Probability (0..1) that a frame is lost. */
  readonly loss?: number
  /** Probability (0..1) that a frame is sent twice. */
  readonly duplicate?: number
  /** Probability (0..1) that a frame is held back by `reorderDelayMillis` so later frames overtake it. */
  readonly reorder?: number
  /** How long a reordered frame is held back. Default 5 ms. */
  readonly reorderDelayMillis?: number
  /** Fixed one-way delay added to every frame. */
  readonly delayMillis?: number
  /** Extra delay drawn uniformly from [0, jitterMillis) per frame (may reorder frames). */
  readonly jitterMillis?: number
  /** Probability (0..1) that one random bit past the Ethernet header is flipped. */
  readonly corrupt?: number
  /** Link rate: frames leave one after another, each taking `length * 8 / rate` seconds. */
  readonly bandwidthBitsPerSecond?: number
  /** Frames the rate-limited link may hold (in flight or waiting); more are dropped. Default 64. */
  readonly bufferFrames?: number
  /** Bound on all held frames (delay, reorder, rate); more are dropped as `droppedOverflow`. Default 4096. */
  readonly holdLimit?: number
}

/** What the injector did, counted per frame copy. */
export interface FaultCounters {
  /** Frames dropped by `loss`. */
  readonly droppedLoss: number
  /** Extra copies sent by `duplicate`. */
  readonly duplicated: number
  /** Frames held back by `reorder`. */
  readonly reordered: number
  /** Frames with one bit flipped. */
  readonly corrupted: number
  /** Frames held by `delayMillis` / `jitterMillis`. */
  readonly delayed: number
  /** Frames dropped because the rate-limited buffer was full. */
  readonly droppedBandwidth: number
  /** Frames dropped because `holdLimit` frames were already held. */
  readonly droppedOverflow: number
  /** Frames the wrapped link refused when they were handed to it. */
  readonly droppedByLink: number
}

/** A link wrapped by a fault injector. */
export interface FaultInjectorDevice extends LinkDevice {
  /** The injector's counters (a live object). */
  readonly counters: FaultCounters
  /** Frames held now (delayed, reordered or waiting for the rate limit). */
  readonly held: () => number
  /** When the next held frame is due, in `Clock` millis; undefined when none is held. */
  readonly nextReleaseMillis: () => number | undefined
  /** Hands every held frame whose time has come to the wrapped link; returns how many. */
  readonly unsafeRelease: () => number
}

interface MutableFaultCounters {
  droppedLoss: number
  duplicated: number
  reordered: number
  corrupted: number
  delayed: number
  droppedBandwidth: number
  droppedOverflow: number
  droppedByLink: number
}

const ETHERNET_HEADER_LEN = 14


const probability = (name: string, value: number | undefined): number => {
  const p = value ?? 0
  if (!(p >= 0 && p <= 1)) throw new RangeError(`FaultInjector: ${name} must be in 0..1, got ${p}`)
  return p
}

const nonNegative = (name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback
  if (!(v >= 0 && v < Infinity)) throw new RangeError(`FaultInjector: ${name} must be >= 0, got ${v}`)
  return v
}

const positiveInteger = (name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`FaultInjector: ${name} must be a positive integer, got ${v}`)
  return v
}

/**
 * Frames waiting for their release time: a binary min-heap of slot indices
 * ordered by (release time, arrival), over slots whose buffers are reused.
 */
class HeldFrames {
  readonly releaseAt: Float64Array
  readonly order: Float64Array
  readonly lengths: Int32Array
  readonly buffers: Array<Uint8Array | undefined>
  readonly heap: Int32Array
  readonly free: Int32Array
  size = 0
  freeCount: number
  arrivals = 0

  constructor(readonly capacity: number, readonly slotSize: number) {
    this.releaseAt = new Float64Array(capacity)
    this.order = new Float64Array(capacity)
    this.lengths = new Int32Array(capacity)
    this.buffers = new Array<Uint8Array | undefined>(capacity)
    this.heap = new Int32Array(capacity)
    this.free = new Int32Array(capacity)
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i
    this.freeCount = capacity
  }

  get full(): boolean {
    return this.size === this.capacity
  }

  /** Copies a frame in; returns the slot buffer so the caller may damage the copy. */
  push(at: number, buffer: Uint8Array, offset: number, length: number): Uint8Array {
    const slot = this.free[--this.freeCount]!
    let bytes = this.buffers[slot]
    if (bytes === undefined || bytes.length < length) {
      bytes = new Uint8Array(Math.max(this.slotSize, length))
      this.buffers[slot] = bytes
    }
    bytes.set(buffer.subarray(offset, offset + length))
    this.lengths[slot] = length
    this.releaseAt[slot] = at
    this.order[slot] = this.arrivals++
    let i = this.size++
    // Sift up.
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = this.heap[parent]!
      if (!this.before(slot, p)) break
      this.heap[i] = p
      i = parent
    }
    this.heap[i] = slot
    return bytes
  }

  /** The release time of the earliest frame; only when size > 0. */
  peekTime(): number {
    return this.releaseAt[this.heap[0]!]!
  }

  /** Removes the earliest frame and returns its slot; its buffer stays valid until the next push. */
  pop(): number {
    const top = this.heap[0]!
    const last = this.heap[--this.size]!
    let i = 0
    const n = this.size
    // Sift down.
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      let child = left
      if (right < n && this.before(this.heap[right]!, this.heap[left]!)) child = right
      const c = this.heap[child]!
      if (!this.before(c, last)) break
      this.heap[i] = c
      i = child
    }
    if (n > 0) this.heap[i] = last
    this.free[this.freeCount++] = top
    return top
  }

  private before(a: number, b: number): boolean {
    const ta = this.releaseAt[a]!
    const tb = this.releaseAt[b]!
    return ta < tb || (ta === tb && this.order[a]! < this.order[b]!)
  }
}

/** Wraps `link` so the frames it transmits suffer the faults in `options`. */
export const wrap = (link: LinkDevice, options: FaultOptions): Effect.Effect<FaultInjectorDevice> =>
  Effect.gen(function*() {
    const loss = probability("loss", options.loss)
    const duplicate = probability("duplicate", options.duplicate)
    const reorder = probability("reorder", options.reorder)
    const corrupt = probability("corrupt", options.corrupt)
    const reorderDelay = nonNegative("reorderDelayMillis", options.reorderDelayMillis, 5)
    const delay = nonNegative("delayMillis", options.delayMillis, 0)
    const jitter = nonNegative("jitterMillis", options.jitterMillis, 0)
    const rate = options.bandwidthBitsPerSecond
    if (rate !== undefined && !(rate > 0)) {
      throw new RangeError(`FaultInjector: bandwidthBitsPerSecond must be > 0, got ${rate}`)
    }
    const bufferFrames = positiveInteger("bufferFrames", options.bufferFrames, 64)
    const holdLimit = positiveInteger("holdLimit", options.holdLimit, 4096)

    const seed = yield* Random.nextInt
    // Mix the high bits in: nextInt ranges up to 2^53.
    const random = mulberry32((seed ^ Math.floor(seed / 4294967296)) >>> 0)
    const clock = yield* Effect.clock

    const slotSize = link.mtu + ETHERNET_HEADER_LEN
    const held = new HeldFrames(holdLimit, slotSize)
    let scratch = new Uint8Array(slotSize)
    // The rate limiter: when the wire is next free, and the finish times of
    // the frames it holds (a ring, oldest first) to bound its buffer.
    let wireFreeAt = 0
    // Until when the last `awaitReadable` may sleep (-Infinity: it was woken).
    let waitDeadline = -Infinity
    const finishTimes = new Float64Array(bufferFrames)
    let finishHead = 0
    let finishCount = 0

    const counters: MutableFaultCounters = {
      droppedLoss: 0,
      duplicated: 0,
      reordered: 0,
      corrupted: 0,
      delayed: 0,
      droppedBandwidth: 0,
      droppedOverflow: 0,
      droppedByLink: 0
    }

    const flipBit = (bytes: Uint8Array, length: number): void => {
      const index = ETHERNET_HEADER_LEN + Math.floor(random() * (length - ETHERNET_HEADER_LEN))
      bytes[index]! ^= 1 << Math.floor(random() * 8)
      counters.corrupted++
    }

    const release = (now: number): number => {
      let released = 0
      while (held.size > 0 && held.peekTime() <= now) {
        const slot = held.pop()
        if (!link.unsafeTransmit(held.buffers[slot]!, 0, held.lengths[slot]!)) counters.droppedByLink++
        released++
      }
      return released
    }

    /** Sends or holds one copy of a frame; false when this copy was dropped. */
    const sendCopy = (now: number, buffer: Uint8Array, offset: number, length: number): boolean => {
      let at = now
      if (rate !== undefined) {
        while (finishCount > 0 && finishTimes[finishHead]! <= now) {
          finishHead = finishHead + 1 === bufferFrames ? 0 : finishHead + 1
          finishCount--
        }
        if (finishCount === bufferFrames) {
          counters.droppedBandwidth++
          return false
        }
        // The frame arrives once its last bit has crossed the wire.
        const start = wireFreeAt > now ? wireFreeAt : now
        at = start + (length * 8 * 1000) / rate
        if (held.full) {
          counters.droppedOverflow++
          return false
        }
        wireFreeAt = at
        let tail = finishHead + finishCount
        if (tail >= bufferFrames) tail -= bufferFrames
        finishTimes[tail] = at
        finishCount++
      }
      if (delay > 0 || jitter > 0) {
        const extra = delay + (jitter > 0 ? random() * jitter : 0)
        if (extra > 0) {
          at += extra
          counters.delayed++
        }
      }
      if (reorder > 0 && random() < reorder) {
        at += reorderDelay
        counters.reordered++
      }
      const damage = corrupt > 0 && random() < corrupt && length > ETHERNET_HEADER_LEN
      if (at <= now) {
        if (!damage) return link.unsafeTransmit(buffer, offset, length)
        // Never damage the caller's buffer: it may be a retransmission queue.
        if (scratch.length < length) scratch = new Uint8Array(length)
        scratch.set(buffer.subarray(offset, offset + length))
        flipBit(scratch, length)
        return link.unsafeTransmit(scratch, 0, length)
      }
      if (held.full) {
        counters.droppedOverflow++
        return false
      }
      const copy = held.push(at, buffer, offset, length)
      if (damage) flipBit(copy, length)
      // The poll loop may be asleep past this frame's release time, with a
      // wait chosen before it was held (sent from a user's fiber): wake it.
      if (at < waitDeadline) {
        waitDeadline = -Infinity
        link.unsafeWake()
      }
      return true
    }

    const device: FaultInjectorDevice = {
      name: link.name,
      mtu: link.mtu,
      counters,
      held: () => held.size,
      nextReleaseMillis: () => (held.size > 0 ? held.peekTime() : undefined),
      unsafeRelease: () => (held.size > 0 ? release(clock.unsafeCurrentTimeMillis()) : 0),
      unsafeReceive: (onFrame, max) => {
        if (held.size > 0) release(clock.unsafeCurrentTimeMillis())
        return link.unsafeReceive(onFrame, max)
      },
      unsafeTransmit: (buffer, offset, length) => {
        const now = clock.unsafeCurrentTimeMillis()
        if (held.size > 0) release(now)
        // A lost frame looks sent to the sender, as on a real wire.
        if (loss > 0 && random() < loss) {
          counters.droppedLoss++
          return true
        }
        const sent = sendCopy(now, buffer, offset, length)
        if (duplicate > 0 && random() < duplicate) {
          counters.duplicated++
          sendCopy(now, buffer, offset, length)
        }
        return sent
      },
      awaitReadable: (timeoutMillis) =>
        Effect.suspend(() => {
          const now = clock.unsafeCurrentTimeMillis()
          if (held.size > 0) release(now)
          // Wake up by the next release time so the poll loop lets it go.
          const wait = held.size === 0 ?
            timeoutMillis :
            Math.min(timeoutMillis, Math.max(0, Math.ceil(held.peekTime() - now)))
          waitDeadline = now + wait
          return link.awaitReadable(wait)
        }),
      unsafeWake: () => link.unsafeWake(),
      // The wrapped link's failure shows through the wrapper.
      get scheduler() {
        return link.scheduler
      },
      get spinMicros() {
        return link.spinMicros
      },
      get failure() {
        return link.failure
      }
    }
    return device
  })
