/**
 * A link wrapper that records every frame it receives and transmits to a
 * classic pcap file (microsecond timestamps from the Effect `Clock`, linktype
 * Ethernet). Writes go through one reusable buffer; the file is flushed and
 * closed when the scope closes.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import { Effect, type Scope } from "effect"
import { type FrameHandler, type LinkDevice, LinkError } from "../Link.js"

/** Capture counters of a pcap wrapper. */
export interface PcapCounters {
  /** Records written to the file (or waiting in the buffer). */
  readonly frames: number
  /** Bytes handed to the file so far, headers included. */
  readonly bytesWritten: number
  /** Write failures; after the first one capture stops, the link keeps working. */
  readonly writeErrors: number
}

/** A link whose frames are recorded to a pcap file. */
export interface PcapLinkDevice extends LinkDevice {
  /** The capture counters (a live object). */
  readonly counters: PcapCounters
  /** The file being written. */
  readonly path: string
  /** Writes buffered records to the file now. */
  readonly unsafeFlush: () => void
}

/** The pcap magic number for microsecond timestamps. */
export const MAGIC = 0xa1b2c3d4
/** The largest frame length recorded; longer frames are truncated (orig_len keeps the real length). */
export const SNAPLEN = 65535
/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1
/** Length of the pcap global header. */
export const GLOBAL_HEADER_LEN = 24
/** Length of each record header. */
export const RECORD_HEADER_LEN = 16

const BUFFER_SIZE = 64 * 1024

interface MutablePcapCounters {
  frames: number
  bytesWritten: number
  writeErrors: number
}

/** Wraps `link` so every frame through it is appended to a new pcap file at `path` (truncated if it exists). */
export const wrap = (link: LinkDevice, path: string): Effect.Effect<PcapLinkDevice, LinkError, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    // Host byte order throughout: readers detect it from the magic number.
    const littleEndian = os.endianness() === "LE"
    const buffer = new Uint8Array(BUFFER_SIZE)
    const view = new DataView(buffer.buffer)
    const counters: MutablePcapCounters = { frames: 0, bytesWritten: 0, writeErrors: 0 }
    let used = 0
    // Set once the file is closed (or a write failed): later frames are not recorded.
    let closed = false

    const fd = yield* Effect.acquireRelease(
      Effect.try({
        try: () => fs.openSync(path, "w"),
        catch: (error) => new LinkError({ reason: "Io", message: `cannot open pcap file ${path}: ${String(error)}` })
      }),
      (fd) =>
        Effect.sync(() => {
          flush()
          closed = true
          try {
            fs.closeSync(fd)
          } catch {
            counters.writeErrors++
          }
        })
    )

    // Function declarations: the release above may run before these lines if the fiber is interrupted.
    function writeOut(bytes: Uint8Array, offset: number, length: number): void {
      let done = 0
      while (done < length) done += fs.writeSync(fd, bytes, offset + done, length - done)
      counters.bytesWritten += length
    }

    function flush(): void {
      if (closed || used === 0) return
      try {
        writeOut(buffer, 0, used)
      } catch {
        // A full disk must not take the stack down: stop capturing.
        counters.writeErrors++
        closed = true
      }
      used = 0
    }

    view.setUint32(0, MAGIC, littleEndian)
    view.setUint16(4, 2, littleEndian) // version 2.4
    view.setUint16(6, 4, littleEndian)
    view.setInt32(8, 0, littleEndian) // thiszone: UTC
    view.setUint32(12, 0, littleEndian) // sigfigs
    view.setUint32(16, SNAPLEN, littleEndian)
    view.setUint32(20, LINKTYPE_ETHERNET, littleEndian)
    yield* Effect.try({
      try: () => writeOut(buffer, 0, GLOBAL_HEADER_LEN),
      catch: (error) => new LinkError({ reason: "Io", message: `cannot write pcap file ${path}: ${String(error)}` })
    })

    const record = (frame: Uint8Array, offset: number, length: number): void => {
      if (closed) return
      const captured = length > SNAPLEN ? SNAPLEN : length
      // Nanoseconds since the epoch exceed 2^53; as a double they keep ~256 ns, plenty for µs.
      const micros = Math.floor(Number(clock.unsafeCurrentTimeNanos()) / 1000)
      const seconds = Math.floor(micros / 1_000_000)
      if (used + RECORD_HEADER_LEN + captured > BUFFER_SIZE) flush()
      if (closed) return
      view.setUint32(used, seconds >>> 0, littleEndian)
      view.setUint32(used + 4, micros - seconds * 1_000_000, littleEndian)
      view.setUint32(used + 8, captured, littleEndian)
      view.setUint32(used + 12, length, littleEndian)
      used += RECORD_HEADER_LEN
      counters.frames++
      if (used + captured <= BUFFER_SIZE) {
        buffer.set(frame.subarray(offset, offset + captured), used)
        used += captured
        return
      }
      // A frame larger than the buffer: write it straight after its header.
      flush()
      if (closed) return
      try {
        writeOut(frame, offset, captured)
      } catch {
        counters.writeErrors++
        closed = true
      }
    }

    // One handler for the life of the link: the caller's handler is swapped
    // in per call instead of allocating a closure per receive.
    let userHandler: FrameHandler = () => {}
    const recordingHandler: FrameHandler = (frame, offset, length) => {
      record(frame, offset, length)
      userHandler(frame, offset, length)
    }

    const device: PcapLinkDevice = {
      name: link.name,
      mtu: link.mtu,
      path,
      counters,
      unsafeFlush: flush,
      unsafeReceive: (onFrame, max) => {
        const outer = userHandler
        userHandler = onFrame
        try {
          return link.unsafeReceive(recordingHandler, max)
        } finally {
          userHandler = outer
        }
      },
      unsafeTransmit: (frame, offset, length) => {
        // Like a capture after the queueing discipline: only frames the link took.
        const sent = link.unsafeTransmit(frame, offset, length)
        if (sent) record(frame, offset, length)
        return sent
      },
      awaitReadable: (timeoutMillis) => link.awaitReadable(timeoutMillis),
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
      },
      get rxChecksumValid() {
        return link.rxChecksumValid
      },
      gsoMaxFrame: link.gsoMaxFrame,
      unsafeTransmitGso: link.unsafeTransmitGso === undefined ? undefined : (frame, offset, length, gso) => {
        const sent = link.unsafeTransmitGso!(frame, offset, length, gso)
        if (sent) record(frame, offset, length)
        return sent
      }
    }
    return device
  })
