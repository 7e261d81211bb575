/**
 * The TAP link: a Linux TAP device opened through koffi (`/dev/net/tun`,
 * `TUNSETIFF` with `IFF_TAP | IFF_NO_PI`, non-blocking), brought up, and read
 * in bursts into reusable buffers. With offloads (the default) each frame
 * carries a virtio-net header, and the kernel may hand over TCP segments of
 * up to 64 KiB (TSO) with their checksum left to the receiver: one read
 * where there were forty. A scoped resource: when the scope closes
 * the fd is closed, and a TAP that Isla created goes with it (it is never made
 * persistent). Waiting is the `PollScheduler`'s adaptive ladder.
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { type GsoRequest, Link, LinkError, type FrameHandler, type LinkDevice } from "../layers/Link.js"
import { C, libc } from "./Libc.js"
import { defaultPolicy, PollScheduler, type PollMode } from "./PollScheduler.js"

/** How to open the TAP. */
export interface TapOptions {
  /** Interface name (≤ 15 bytes); created when missing. */
  readonly name: string
  /** Set the interface MTU; by default the TAP's own (1500). */
  readonly mtu?: number | undefined
  /** Open a queue of a multi-queue TAP (for the sharded mode). */
  readonly multiQueue?: boolean | undefined
  /** The poll loop's waiting policy. */
  readonly poll?: PollMode | undefined
  /**
   * Let the kernel send large TCP segments (TSO over the TAP, like a
   * virtio NIC) and skip checksums it vouches for. Default true; false
   * reads and writes plain frames.
   */
  readonly offload?: boolean | undefined
}

/** A TAP link: the device plus what the runtime needs to drive it. */
export interface TapLink extends LinkDevice {
  readonly fd: number
  /** True when this process created the interface (it disappears on close). */
  readonly created: boolean
  readonly scheduler: PollScheduler
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/
const BURST = 64
/** struct virtio_net_hdr (include/uapi/linux/virtio_net.h): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
const VNET_HDR_LEN = 10
/** The largest frame a TSO segment makes: an IP packet of 65535 bytes in an Ethernet frame. */
const MAX_GSO_FRAME = 14 + 65535

const ifreq = (name: string): Uint8Array => {
  const buf = new Uint8Array(40)
  buf.set(new TextEncoder().encode(name))
  return buf
}

const fail = (reason: LinkError["reason"], message: string) => new LinkError({ reason, message })

const errnoFailure = (what: string, name: string, errno: number): LinkError => {
  switch (errno) {
    case C.EPERM:
    case C.EACCES:
      return fail(
        "PermissionDenied",
        `${what}: permission denied (run as root, or with CAP_NET_ADMIN)`
      )
    case C.ENOENT:
    case C.ENODEV:
    case C.ENXIO:
      return what.startsWith("open") ?
        fail("NoTunDevice", `${what}: /dev/net/tun is missing (load the tun module)`) :
        fail("Vanished", `${what}: interface ${name} is gone`)
    case C.EBUSY:
      return fail("NameInUse", `${what}: interface ${name} is busy (another process has it open)`)
    case C.EINVAL:
      return fail("NameInUse", `${what}: interface ${name} exists and is not a TAP device`)
    default:
      return fail("Io", `${what}: errno ${errno}`)
  }
}

/** Runs an interface ioctl through a throwaway AF_INET socket. */
const ifIoctl = (request: number, req: Uint8Array): number => {
  const c = libc()
  const s = c.socket(C.AF_INET, C.SOCK_DGRAM, 0)
  if (s < 0) return -c.errno()
  const r = c.ioctlPtr(s, request, req)
  const err = r < 0 ? c.errno() : 0
  c.close(s)
  return r < 0 ? -err : r
}

const bringUp = (name: string, mtu: number | undefined): Effect.Effect<number, LinkError> =>
  Effect.suspend(() => {
    const req = ifreq(name)
    const dv = new DataView(req.buffer)
    if (mtu !== undefined) {
      dv.setInt32(16, mtu, true)
      const r = ifIoctl(C.SIOCSIFMTU, req)
      if (r < 0) return Effect.fail(errnoFailure(`set MTU ${mtu} on ${name}`, name, -r))
    }
    let r = ifIoctl(C.SIOCGIFFLAGS, req)
    if (r < 0) return Effect.fail(errnoFailure(`read flags of ${name}`, name, -r))
    dv.setInt16(16, dv.getInt16(16, true) | C.IFF_UP, true)
    r = ifIoctl(C.SIOCSIFFLAGS, req)
    if (r < 0) return Effect.fail(errnoFailure(`bring ${name} up`, name, -r))
    r = ifIoctl(C.SIOCGIFMTU, req)
    if (r < 0) return Effect.fail(errnoFailure(`read MTU of ${name}`, name, -r))
    return Effect.succeed(dv.getInt32(16, true))
  })

/** Opens the TAP as a scoped resource. */
export const open = (options: TapOptions) =>
  Effect.gen(function*() {
    const name = options.name
    if (!NAME_RE.test(name)) {
      return yield* fail("InvalidName", `bad interface name "${name}" (1-15 letters, digits, _ . -)`)
    }
    const existed = fs.existsSync(`/sys/class/net/${name}`)
    const c = yield* Effect.try({
      try: () => libc(),
      catch: (e) => fail("Io", `cannot load libc through koffi: ${String(e)}`)
    })
    const fd = yield* Effect.acquireRelease(
      Effect.suspend(() => {
        const fd = c.open("/dev/net/tun", C.O_RDWR | C.O_NONBLOCK | C.O_CLOEXEC)
        if (fd < 0) return Effect.fail(errnoFailure("open /dev/net/tun", name, c.errno()))
        const req = ifreq(name)
        const vnet = options.offload !== false
        const flags = C.IFF_TAP | C.IFF_NO_PI | (options.multiQueue ? C.IFF_MULTI_QUEUE : 0) | (vnet ? C.IFF_VNET_HDR : 0)
        new DataView(req.buffer).setInt16(16, flags, true)
        if (c.ioctlPtr(fd, C.TUNSETIFF, req) < 0) {
          const err = c.errno()
          c.close(fd)
          return Effect.fail(errnoFailure(`attach TAP ${name}`, name, err))
        }
        return Effect.succeed(fd)
      }),
      (fd) => Effect.sync(() => c.close(fd))
    )
    // The offloads we take (TUNSETOFFLOAD): partial checksums, then TSO for IPv4 and IPv6.
    // The kernel refuses TSO without CSUM; without either, frames still carry the header.
    let offloads = 0
    if (options.offload !== false) {
      const size = new Uint8Array(4)
      new DataView(size.buffer).setInt32(0, VNET_HDR_LEN, true)
      c.ioctlPtr(fd, C.TUNSETVNETHDRSZ, size)
      for (const f of [C.TUN_F_CSUM | C.TUN_F_TSO4 | C.TUN_F_TSO6, C.TUN_F_CSUM, 0]) {
        if (c.ioctlInt(fd, C.TUNSETOFFLOAD, f) === 0) {
          offloads = f
          break
        }
      }
      yield* Effect.logDebug(`${name}: virtio-net header, offloads 0x${offloads.toString(16)}`)
    }
    const mtu = yield* bringUp(name, options.mtu)
    const eventFd = yield* Effect.acquireRelease(
      Effect.suspend(() => {
        const e = c.eventfd(0, C.EFD_NONBLOCK | C.EFD_CLOEXEC)
        return e < 0 ? Effect.fail(fail("Io", `eventfd: errno ${c.errno()}`)) : Effect.succeed(e)
      }),
      (e) => Effect.sync(() => c.close(e))
    )
    // Finer timer slack makes the ppoll micro-sleep closer to what it asks for.
    c.prctl(C.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
    const scheduler = new PollScheduler(fd, eventFd, defaultPolicy(options.poll ?? "adaptive"))
    // Runs before the fds close (finalizers run in reverse order).
    yield* Effect.addFinalizer(() => scheduler.quiesce())
    return makeTapLink(name, fd, mtu, !existed, scheduler, options.offload !== false, offloads)
  })

const makeTapLink = (
  name: string,
  fd: number,
  mtu: number,
  created: boolean,
  scheduler: PollScheduler,
  vnet: boolean,
  offloads: number
): TapLink => {
  const c = libc()
  const hdr = vnet ? VNET_HDR_LEN : 0
  // With TSO a frame may be as large as an IP packet can be.
  const frameSize = hdr + ((offloads & (C.TUN_F_TSO4 | C.TUN_F_TSO6)) !== 0 ? MAX_GSO_FRAME : mtu + 14 + 4)
  const slab = new Uint8Array(frameSize * BURST)
  const slots = Array.from({ length: BURST }, (_, i) => slab.subarray(i * frameSize, (i + 1) * frameSize))
  // Frames go out behind a virtio-net header: zeroed (no offload asked of the
  // kernel), or asking it to segment a large TCP frame (TSO) and checksum it.
  const txStage = new Uint8Array(hdr + (vnet ? MAX_GSO_FRAME : mtu + 14 + 4))
  const txHeader = new DataView(txStage.buffer, 0, Math.max(hdr, 1))
  let vanished: LinkError | undefined
  const link: TapLink & { rxChecksumValid: boolean } = {
    name,
    mtu,
    fd,
    created,
    scheduler,
    rxChecksumValid: false,
    unsafeReceive: (onFrame: FrameHandler, max: number) => {
      const limit = max < BURST ? max : BURST
      let n = 0
      while (n < limit) {
        const slot = slots[n]!
        const r = c.read(fd, slot, frameSize)
        if (r <= hdr) {
          if (r < 0) {
            const err = c.errno()
            if (err !== C.EAGAIN && err !== C.EINTR && vanished === undefined) {
              vanished = errnoFailure(`read from ${name}`, name, err === C.EBADFD || err === C.EIO ? C.ENODEV : err)
            }
          }
          break
        }
        n++
        if (hdr === 0) onFrame(slot, 0, r)
        else {
          // NEEDS_CSUM: the checksum is left to us, the data came from the local kernel's memory;
          // DATA_VALID: the kernel checked it. Either way the transport layers may skip it.
          link.rxChecksumValid = (slot[0]! & (C.VIRTIO_NET_HDR_F_NEEDS_CSUM | C.VIRTIO_NET_HDR_F_DATA_VALID)) !== 0
          onFrame(slot, hdr, r - hdr)
          link.rxChecksumValid = false
        }
      }
      if (n > 0) scheduler.activity = true
      return n
    },
    gsoMaxFrame: vnet ? MAX_GSO_FRAME : 0,
    unsafeTransmitGso: (buffer: Uint8Array, offset: number, length: number, gso: GsoRequest) => {
      if (!vnet || length > MAX_GSO_FRAME) return false
      scheduler.activity = true
      // struct virtio_net_hdr, little-endian: NEEDS_CSUM with the TCP checksum's place, GSO TCPV4/TCPV6.
      txHeader.setUint8(0, C.VIRTIO_NET_HDR_F_NEEDS_CSUM)
      txHeader.setUint8(1, gso.ipv6 ? C.VIRTIO_NET_HDR_GSO_TCPV6 : C.VIRTIO_NET_HDR_GSO_TCPV4)
      txHeader.setUint16(2, gso.headerLength, true)
      txHeader.setUint16(4, gso.segmentSize, true)
      txHeader.setUint16(6, gso.tcpOffset, true)
      txHeader.setUint16(8, 16, true)
      txStage.set(buffer.subarray(offset, offset + length), hdr)
      const ok = c.write(fd, txStage, hdr + length) === hdr + length
      txStage.fill(0, 0, hdr)
      return ok
    },
    unsafeTransmit: (buffer: Uint8Array, offset: number, length: number) => {
      scheduler.activity = true
      if (hdr !== 0) {
        if (length > txStage.length - hdr) return false
        txStage.set(offset === 0 && length === buffer.length ? buffer : buffer.subarray(offset, offset + length), hdr)
        return c.write(fd, txStage, hdr + length) === hdr + length
      }
      const view = offset === 0 ? buffer : buffer.subarray(offset, offset + length)
      return c.write(fd, view, length) === length
    },
    awaitReadable: (timeoutMillis: number) => scheduler.awaitReadable(timeoutMillis),
    unsafeWake: () => scheduler.wake(),
    spinMicros: () => scheduler.spinMicros(),
    get failure() {
      return vanished
    }
  }
  return link
}

/** The TAP as the stack's `Link`. */
export const layer = (options: TapOptions): Layer.Layer<Link, LinkError> => Layer.scoped(Link, open(options))
