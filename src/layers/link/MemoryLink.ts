/**
 * An in-memory link pair: two `LinkDevice` ends joined by a wire. A frame sent
 * on one end is copied into the other end's bounded receive queue (dropped and
 * counted when full); waiting for a frame runs on the Effect `Clock`.
 */
import { Duration, Effect } from "effect"
import type { FrameHandler, LinkDevice } from "../Link.js"

/** Options for `pair`. */
export interface MemoryLinkOptions {
  /** The link MTU (Ethernet payload bytes); frames over `mtu + 14` bytes are dropped. Default 1500. */
  readonly mtu?: number
  /** How many frames each end's receive queue holds before dropping. Default 1024. */
  readonly queueLimit?: number
}

/** Frame counters of one end, updated in place. */
export interface MemoryLinkCounters {
  /** Frames handed to a receive handler on this end. */
  readonly framesIn: number
  /** Frames this end sent that reached the peer's queue. */
  readonly framesOut: number
  /** Frames this end tried to send that were dropped (peer queue full, or over `mtu + 14` bytes). */
  readonly dropped: number
}

/** One end of a memory link, with its counters. */
export interface MemoryLinkDevice extends LinkDevice {
  /** This end's counters (a live object: read it whenever). */
  readonly counters: MemoryLinkCounters
  /** Frames queued on this end, not yet received. */
  readonly queued: () => number
}

/** The Ethernet header length: the MTU does not count it. */
const ETHERNET_HEADER_LEN = 14

interface MutableCounters {
  framesIn: number
  framesOut: number
  dropped: number
}

type Resume = (effect: Effect.Effect<void>) => void

/** The receive side of one end: a ring of reusable frame slots plus its waiters. */
class Endpoint {
  readonly slots: Array<Uint8Array | undefined>
  readonly lengths: Int32Array
  head = 0
  count = 0
  waiters: Array<Resume> = []
  // A wake with nobody waiting is kept for the next wait, so a wake that
  // races the poll loop going to sleep is never lost.
  wakePending = false
  readonly counters: MutableCounters = { framesIn: 0, framesOut: 0, dropped: 0 }

  constructor(readonly limit: number, readonly slotSize: number) {
    this.slots = new Array<Uint8Array | undefined>(limit)
    this.lengths = new Int32Array(limit)
  }

  /** Copies a frame into the queue; false when full. */
  enqueue(buffer: Uint8Array, offset: number, length: number): boolean {
    if (this.count === this.limit) return false
    let index = this.head + this.count
    if (index >= this.limit) index -= this.limit
    let slot = this.slots[index]
    // Slots are allocated on first use and reused afterwards.
    if (slot === undefined) {
      slot = new Uint8Array(this.slotSize)
      this.slots[index] = slot
    }
    slot.set(buffer.subarray(offset, offset + length))
    this.lengths[index] = length
    this.count++
    this.resumeWaiters()
    return true
  }

  receive(onFrame: FrameHandler, max: number): number {
    let handed = 0
    while (handed < max && this.count > 0) {
      const index = this.head
      // The slot stays counted while the handler runs, so a frame sent to
      // this end from inside the handler cannot overwrite it.
      onFrame(this.slots[index]!, 0, this.lengths[index]!)
      this.head = index + 1 === this.limit ? 0 : index + 1
      this.count--
      this.counters.framesIn++
      handed++
    }
    return handed
  }

  resumeWaiters(): void {
    const waiters = this.waiters
    if (waiters.length === 0) return
    this.waiters = []
    for (const resume of waiters) resume(Effect.void)
  }

  wake(): void {
    if (this.waiters.length === 0) this.wakePending = true
    else this.resumeWaiters()
  }

  awaitReadable(timeoutMillis: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.count > 0) return Effect.void
      if (this.wakePending) {
        this.wakePending = false
        return Effect.void
      }
      if (timeoutMillis <= 0) return Effect.void
      const waitForFrame = Effect.async<void>((resume) => {
        // `race` starts this fiber later: a frame or a wake may have come in
        // since the checks above, with nobody waiting to be told.
        if (this.count > 0) return resume(Effect.void)
        if (this.wakePending) {
          this.wakePending = false
          return resume(Effect.void)
        }
        this.waiters.push(resume)
        return Effect.sync(() => {
          const i = this.waiters.indexOf(resume)
          if (i >= 0) this.waiters.splice(i, 1)
        })
      })
      if (timeoutMillis === Infinity) return waitForFrame
      return Effect.race(waitForFrame, Effect.sleep(Duration.millis(timeoutMillis)))
    })
  }
}

const makeEnd = (name: string, mtu: number, local: Endpoint, peer: Endpoint): MemoryLinkDevice => {
  const maxFrame = mtu + ETHERNET_HEADER_LEN
  const counters = local.counters
  return {
    name,
    mtu,
    counters,
    queued: () => local.count,
    unsafeReceive: (onFrame, max) => local.receive(onFrame, max),
    unsafeTransmit: (buffer, offset, length) => {
      if (length > maxFrame || !peer.enqueue(buffer, offset, length)) {
        counters.dropped++
        return false
      }
      counters.framesOut++
      return true
    },
    awaitReadable: (timeoutMillis) => local.awaitReadable(timeoutMillis),
    unsafeWake: () => local.wake()
  }
}

/** Makes two connected ends, named "mem0" and "mem1". */
export const pair = (
  options?: MemoryLinkOptions
): Effect.Effect<readonly [MemoryLinkDevice, MemoryLinkDevice]> =>
  Effect.sync(() => {
    const mtu = options?.mtu ?? 1500
    const queueLimit = options?.queueLimit ?? 1024
    if (!Number.isInteger(mtu) || mtu < 0) throw new RangeError(`MemoryLink: bad mtu ${mtu}`)
    if (!Number.isInteger(queueLimit) || queueLimit < 1) {
      throw new RangeError(`MemoryLink: bad queueLimit ${queueLimit}`)
    }
    const slotSize = mtu + ETHERNET_HEADER_LEN
    const a = new Endpoint(queueLimit, slotSize)
    const b = new Endpoint(queueLimit, slotSize)
    return [makeEnd("mem0", mtu, a, b), makeEnd("mem1", mtu, b, a)] as const
  })
