/**
 * A link is a place Ethernet frames come from and go to: a TAP device, one
 * end of an in-memory pair, or a wrapper (fault injector, pcap writer) around
 * another link. Receiving and sending are synchronous and allocation-free so
 * the poll loop can move bursts of frames without Effect machinery; waiting
 * for the next frame is an Effect so each link decides how to wait.
 */
import { Context, Data, type Effect, type Scheduler } from "effect"

/**
 * Receives one frame. `buffer[offset .. offset+length)` holds the frame and is
 * only valid during the call: the link reuses the buffer afterwards.
 */
export type FrameHandler = (buffer: Uint8Array, offset: number, length: number) => void

/**
 * Asks the link to cut one large TCP frame into `segmentSize`-byte segments
 * and fill their checksums (TSO, as a virtio NIC does): the TCP checksum
 * field holds the pseudo-header sum over the whole length.
 */
export interface GsoRequest {
  readonly ipv6: boolean
  /** Payload bytes per segment (the MSS less the options). */
  readonly segmentSize: number
  /** Offset of the TCP header in the frame. */
  readonly tcpOffset: number
  /** Ethernet, IP and TCP headers together: where the payload starts. */
  readonly headerLength: number
}

/** The device interface every link implements (smoltcp's `phy::Device`). */
export interface LinkDevice {
  /** A name for logs: the TAP name, "mem0", ... */
  readonly name: string
  /** The link MTU: the largest Ethernet payload (not counting the 14-byte header). */
  readonly mtu: number
  /**
   * Reads up to `max` frames that are ready now and hands each to `onFrame`.
   * Never blocks; returns how many frames were handed over.
   */
  readonly unsafeReceive: (onFrame: FrameHandler, max: number) => number
  /**
   * Sends one frame. The bytes are copied or written out before this returns,
   * so the caller may reuse its buffer. Returns false when the frame was
   * dropped (queue full, device gone).
   */
  readonly unsafeTransmit: (buffer: Uint8Array, offset: number, length: number) => boolean
  /**
   * Completes when a frame may be ready, or after `timeoutMillis` of the
   * `Clock` (Infinity: no timeout), whichever comes first. It may complete
   * early; the poll loop simply polls again. A link may decide how to wait
   * when this is called (the poll loop runs the result at once).
   */
  readonly awaitReadable: (timeoutMillis: number) => Effect.Effect<void>
  /**
   * Makes a pending `awaitReadable` complete now. Called when something other
   * than a frame needs the poll loop (a user send armed a new timer).
   */
  readonly unsafeWake: () => void
  /** Set when the link stopped working (the TAP vanished); the poll loop fails with it. */
  readonly failure?: LinkError | undefined
  /**
   * How long (µs) the poll loop may busy-poll `unsafeReceive` right now before
   * waiting through `awaitReadable`; absent or 0: never busy-poll.
   */
  readonly spinMicros?: (() => number) | undefined
  /** The scheduler the poll loop should run under (the TAP's adaptive one); wrappers pass it through. */
  readonly scheduler?: Scheduler.Scheduler | undefined
  /**
   * True while `onFrame` runs for a frame whose TCP/UDP checksum the sender
   * vouched for (a TAP with offloads: the local kernel marks its frames
   * "checksum partial" or "data valid", as a NIC with checksum offload
   * does), so the transport layers skip verifying it. Read it only inside
   * `onFrame`; absent: verify everything.
   */
  readonly rxChecksumValid?: boolean | undefined
  /** The largest frame `unsafeTransmitGso` takes; absent or 0: the link cannot segment. */
  readonly gsoMaxFrame?: number | undefined
  /** Sends one large TCP frame for the link to segment (see `GsoRequest`). */
  readonly unsafeTransmitGso?: ((buffer: Uint8Array, offset: number, length: number, gso: GsoRequest) => boolean) | undefined
}

/** Why a link could not be opened or stopped working. */
export class LinkError extends Data.TaggedError("LinkError")<{
  readonly reason:
    | "PermissionDenied" // not root / no CAP_NET_ADMIN
    | "NoTunDevice" // /dev/net/tun missing
    | "NameInUse" // the interface exists and is busy or not a TAP
    | "Vanished" // the interface was deleted while in use
    | "InvalidName"
    | "Io"
  readonly message: string
}> {}

/** The link the stack runs on. */
export class Link extends Context.Tag("isla/Link")<Link, LinkDevice>() {}
