/**
 * A fixed-capacity byte ring, the store behind a TCP connection's send buffer
 * (unacknowledged + unsent bytes) and receive buffer (in-order bytes, with
 * out-of-order bytes parked in the free space past the end until an
 * `Assembler` says they are contiguous). Allocated once; never grows.
 */

/** Receives one contiguous chunk of the ring's storage (see `RingBuffer.forEachReadable`). */
export type RingChunkVisitor = (buffer: Uint8Array, offset: number, length: number) => void

const EMPTY = new Uint8Array(0)

/** Storage a ring starts with (it doubles up to its capacity as data needs). */
const INITIAL_STORAGE = 4096

/** Below this many bytes a copy is a plain loop; above it, one `subarray` view and `set`. */
const LOOP_COPY_MAX = 64

/** Copies `n` bytes between two distinct arrays. */
const copyBytes = (dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, n: number): void => {
  if (n <= LOOP_COPY_MAX) {
    for (let i = 0; i < n; i++) dst[dstOffset + i] = src[srcOffset + i]!
  } else {
    dst.set(src.subarray(srcOffset, srcOffset + n), dstOffset)
  }
}

/** A count argument as a non-negative integer: negative, NaN and fractions round down to a safe value. */
const count = (n: number): number => (n > 0 ? Math.floor(n) : 0)

/** Room left in `array` from `offset`, 0 when `offset` is out of range. */
const room = (array: Uint8Array, offset: number): number => {
  const o = count(offset)
  return o < array.length ? array.length - o : 0
}

/**
 * A byte ring of `capacity` bytes. Readable bytes sit from the front for
 * `length` bytes; the `free` bytes after them may hold unreadable
 * (out-of-order) data written by `writeUnallocated` until `enqueueUnallocated`
 * makes it readable. Every method clips to what fits (source, destination,
 * stored or free bytes) and returns the number of bytes it handled; arguments
 * are integers, and negative ones count as 0.
 *
 * The front position is never reset when the ring empties, so that bytes
 * parked past the end stay where `writeUnallocated` put them.
 *
 * Storage grows on demand (doubling, from 4 KiB) up to `capacity`, so ten
 * thousand idle connections do not hold ten thousand full buffers.
 */
export class RingBuffer {
  /** Size of the storage, in bytes. */
  readonly capacity: number
  private storage: Uint8Array
  /** Index of the front byte in `storage`, always < storage.length (0 when it is empty). */
  private head = 0
  private stored = 0

  constructor(capacity: number) {
    this.capacity = count(capacity)
    this.storage = new Uint8Array(Math.min(this.capacity, INITIAL_STORAGE))
  }

  /** Bytes of memory the ring holds now (≤ capacity). */
  get allocated(): number {
    return this.storage.length
  }

  /** Grows the storage so that `needed` bytes past the front fit, keeping every byte's logical position. */
  private ensure(needed: number): void {
    const old = this.storage
    if (needed <= old.length) return
    let size = Math.max(old.length * 2, INITIAL_STORAGE)
    while (size < needed) size *= 2
    if (size > this.capacity) size = this.capacity
    const grown = new Uint8Array(size)
    const tail = old.length - this.head
    grown.set(old.subarray(this.head), 0)
    grown.set(old.subarray(0, this.head), tail)
    this.storage = grown
    this.head = 0
  }

  /** Readable bytes stored. */
  get length(): number {
    return this.stored
  }

  /** Bytes that can still be enqueued: `capacity - length`. */
  get free(): number {
    return this.capacity - this.stored
  }

  /** True when no byte is readable. */
  get isEmpty(): boolean {
    return this.stored === 0
  }

  /** True when `free` is 0. */
  get isFull(): boolean {
    return this.stored === this.capacity
  }

  /** Appends up to `free` bytes from `src[srcOffset..srcOffset+len)`; returns how many. */
  enqueue(src: Uint8Array, srcOffset: number, len: number): number {
    const n = this.writeAt(this.stored, src, srcOffset, len)
    this.stored += n
    return n
  }

  /** Removes up to `len` bytes from the front into `dst[dstOffset..)`; returns how many. */
  dequeue(dst: Uint8Array, dstOffset: number, len: number): number {
    const n = this.readAt(0, dst, dstOffset, len)
    this.advance(n)
    return n
  }

  /** Drops up to `n` bytes from the front (acknowledged or consumed data); returns how many. */
  discard(n: number): number {
    const k = Math.min(count(n), this.stored)
    this.advance(k)
    return k
  }

  /**
   * Copies up to `len` bytes starting `offset` bytes past the front into
   * `dst[dstOffset..)` without removing them (for (re)transmission); returns
   * how many, 0 when `offset` is at or past the end.
   */
  peek(offset: number, dst: Uint8Array, dstOffset: number, len: number): number {
    return this.readAt(offset, dst, dstOffset, len)
  }

  /**
   * Writes `src[srcOffset..srcOffset+len)` into the free space starting
   * `offset` bytes past the end without making it readable (out-of-order
   * data), clipped to the free space; returns the bytes written.
   */
  writeUnallocated(offset: number, src: Uint8Array, srcOffset: number, len: number): number {
    const o = count(offset)
    if (o >= this.free) return 0
    return this.writeAt(this.stored + o, src, srcOffset, len)
  }

  /**
   * Makes the next `n` bytes of the free space readable, as they are (bytes
   * earlier put there by `writeUnallocated`); returns how many, at most `free`.
   */
  enqueueUnallocated(n: number): number {
    const k = Math.min(count(n), this.free)
    this.ensure(this.stored + k)
    this.stored += k
    return k
  }

  /**
   * The zero-copy read path: calls `visit(storage, start, chunkLength)` for the
   * (at most two) contiguous chunks of the up to `len` readable bytes starting
   * `offset` bytes past the front, in order, so the caller copies straight into
   * a frame; returns the bytes visited. Nothing is removed and nothing is
   * allocated (hoist `visit` to keep the caller allocation-free too). `storage`
   * is the ring's own memory: read it within the call and never write it.
   */
  forEachReadable(offset: number, len: number, visit: RingChunkVisitor): number {
    const o = count(offset)
    if (o >= this.stored) return 0
    const n = Math.min(count(len), this.stored - o)
    if (n === 0) return 0
    const start = this.index(o)
    const first = Math.min(n, this.storage.length - start)
    visit(this.storage, start, first)
    if (first < n) visit(this.storage, 0, n - first)
    return n
  }

  /**
   * Gives the storage back when nothing is readable (a connection in
   * TIME-WAIT keeps no buffers); it grows again on the next write.
   */
  release(): void {
    if (this.stored !== 0) return
    this.storage = EMPTY
    this.head = 0
  }

  /** Forgets every byte, readable or parked past the end. */
  clear(): void {
    this.head = 0
    this.stored = 0
  }

  /** Storage index of the byte `offset` past the front; `offset` <= storage length, so one wrap suffices. */
  private index(offset: number): number {
    const size = this.storage.length
    const i = this.head + offset
    return i >= size ? i - size : i
  }

  private advance(n: number): void {
    if (n === 0) return
    this.head = this.index(n)
    this.stored -= n
  }

  /** Copies from `src` into storage starting `offset` (<= capacity) past the front, clipped to the capacity. */
  private writeAt(offset: number, src: Uint8Array, srcOffset: number, len: number): number {
    const n = Math.min(count(len), this.capacity - offset, room(src, srcOffset))
    if (n === 0) return 0
    this.ensure(offset + n)
    const so = count(srcOffset)
    const start = this.index(offset)
    const first = Math.min(n, this.storage.length - start)
    copyBytes(this.storage, start, src, so, first)
    if (first < n) copyBytes(this.storage, 0, src, so + first, n - first)
    return n
  }

  /** Copies readable bytes starting `offset` past the front into `dst`. */
  private readAt(offset: number, dst: Uint8Array, dstOffset: number, len: number): number {
    const o = count(offset)
    if (o >= this.stored) return 0
    const n = Math.min(count(len), this.stored - o, room(dst, dstOffset))
    if (n === 0) return 0
    const d = count(dstOffset)
    const start = this.index(o)
    const first = Math.min(n, this.storage.length - start)
    copyBytes(dst, d, this.storage, start, first)
    if (first < n) copyBytes(dst, d + first, this.storage, 0, n - first)
    return n
  }
}
