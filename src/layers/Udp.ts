/**
 * The UDP layer (RFC 768): verifies lengths and the pseudo-header checksum
 * (zero accepted as "none"), delivers datagrams to bound sockets through
 * bounded queues (a full queue drops and counts), answers closed ports with
 * ICMP port unreachable, and sends. `Udp.bind` gives a scoped socket whose
 * datagrams are a Stream.
 */
import { Context, Data, Effect, Layer, Queue, Stream, type Scope } from "effect"
import { formatIpHost, type IpAddress } from "../protocols/address.js"
import type * as Ip from "../protocols/ipv4.js"
import * as Ip6 from "../protocols/ipv6/header.js"
import * as UdpWire from "../protocols/udp.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { Ipv4, type SendResult } from "./Ipv4.js"
import { Ipv6 } from "./Ipv6.js"

/** A UDP endpoint: an address (IPv4 number or 16-byte IPv6) and a port. */
export interface Endpoint {
  readonly address: IpAddress
  readonly port: number
}

/** A received datagram. */
export interface Datagram {
  readonly from: Endpoint
  /** The address it was sent to (ours, or a broadcast / multicast address). */
  readonly to: IpAddress
  readonly data: Uint8Array
}

/** Why a UDP operation failed. */
export class UdpError extends Data.TaggedError("UdpError")<{
  readonly reason: "PortInUse" | "NoFreePort" | "NoRoute" | "NoAddress" | "MessageTooLong" | "Dropped" | "InvalidPort"
  readonly message: string
}> {}

/** A bound UDP socket. */
export interface UdpSocket {
  readonly port: number
  /** Received datagrams, in arrival order. */
  readonly receive: Stream.Stream<Datagram>
  /** Waits for the next datagram. */
  readonly take: Effect.Effect<Datagram>
  /** Sends `data` to `to` from this socket's port. */
  readonly send: (to: Endpoint, data: Uint8Array) => Effect.Effect<void, UdpError>
  /** Datagrams dropped because the receive queue was full. */
  readonly dropped: () => number
}

/** Options of `bind`. */
export interface BindOptions {
  /** Datagrams buffered before new ones are dropped (default 1024). */
  readonly queueSize?: number
}

/** The UDP layer's service. */
export interface UdpService {
  /** Binds `port` (0: an ephemeral port) for the life of the scope. */
  readonly bind: (port: number, options?: BindOptions) => Effect.Effect<UdpSocket, UdpError, Scope.Scope>
  /** Sends one datagram synchronously; the result says what happened. */
  readonly unsafeSend: (srcPort: number, to: Endpoint, data: Uint8Array, offset?: number, length?: number) => SendResult | "MessageTooLong"
  readonly counters: LayerCounters
}

/** The UDP layer. */
export class Udp extends Context.Tag("isla/Udp")<Udp, UdpService>() {}

/** Binds a UDP port on the stack for the life of the scope (0: any free port). */
export const bind = (port: number, options?: BindOptions): Effect.Effect<UdpSocket, UdpError, Udp | Scope.Scope> =>
  Effect.flatMap(Udp, (udp) => udp.bind(port, options))

/** Largest payload of one datagram over IPv4. */
export const MAX_PAYLOAD = 0xffff - 20 - UdpWire.HEADER_LEN

/** Largest payload of one datagram over IPv6 (no jumbograms). */
export const MAX_PAYLOAD_V6 = 0xffff - UdpWire.HEADER_LEN

interface Binding {
  readonly queue: Queue.Queue<Datagram>
  dropped: number
}

/** Builds the UDP layer and wires it to IPv4 and IPv6. */
export const make = Effect.gen(function*() {
  const loop = yield* PollLoop
  const ipv4 = yield* Ipv4
  const ipv6 = yield* Ipv6
  const link = loop.link
  const counters = loop.counters.layer("udp")
  const view = new UdpWire.Packet(new Uint8Array(0), 0, 0)
  const bindings = new Map<number, Binding>()
  const scratch = new Uint8Array(0x10000)
  let nextEphemeral = 49152 + (Math.floor(loop.time() * 31) % 16384)

  const input = (buffer: Uint8Array, offset: number, length: number, header: Ip.Packet): void => {
    counters.rx++
    const p = view.wrap(buffer, offset, length)
    const bad = p.check()
    if (bad !== undefined) return counters.drop(bad.reason)
    const src = header.src
    const dst = header.dst
    // A checksum the link vouches for (TAP offload) is not computed again.
    if (!link.rxChecksumValid && !p.verifyChecksum(src, dst)) return counters.drop("bad_checksum")
    const b = bindings.get(p.dstPort)
    if (b === undefined) {
      counters.drop("no_socket")
      // RFC 1122 §4.1.3.1: port unreachable (the ICMP layer skips broadcasts).
      ipv4.unsafeReportError(3, 3, header, buffer, offset, length)
      return
    }
    const data = buffer.slice(p.payloadOffset, p.payloadOffset + p.payloadLength)
    if (!Queue.unsafeOffer(b.queue, { from: { address: src, port: p.srcPort }, to: dst, data })) {
      b.dropped++
      counters.drop("queue_full")
    }
  }

  const input6 = (buffer: Uint8Array, offset: number, length: number, header: Ip6.Packet): void => {
    counters.rx++
    const p = view.wrap(buffer, offset, length)
    const bad = p.check()
    if (bad !== undefined) return counters.drop(bad.reason)
    const hb = header.buffer
    if (
      !link.rxChecksumValid &&
      !p.verifyChecksumV6(Ip6.pseudoHeaderV6(hb, hb, UdpWire.PROTOCOL, p.lengthField, header.srcOffset, header.dstOffset))
    ) return counters.drop("bad_checksum")
    const b = bindings.get(p.dstPort)
    if (b === undefined) {
      counters.drop("no_socket")
      // RFC 4443 §3.1: destination unreachable, code 4 port unreachable (the layer skips multicast).
      ipv6.unsafeReportError(1, 4, 0, header)
      return
    }
    const data = buffer.slice(p.payloadOffset, p.payloadOffset + p.payloadLength)
    if (!Queue.unsafeOffer(b.queue, { from: { address: header.src, port: p.srcPort }, to: header.dst, data })) {
      b.dropped++
      counters.drop("queue_full")
    }
  }

  yield* ipv4.register(UdpWire.PROTOCOL, input)
  yield* ipv6.register(UdpWire.PROTOCOL, input6)

  const unsafeSend = (
    srcPort: number,
    to: Endpoint,
    data: Uint8Array,
    offset = 0,
    length = data.length
  ): SendResult | "MessageTooLong" => {
    const dst = to.address
    let r: SendResult
    if (typeof dst === "number") {
      if (length > MAX_PAYLOAD) return "MessageTooLong"
      const src = ipv4.unsafeSourceFor(dst)
      scratch.set(offset === 0 && length === data.length ? data : data.subarray(offset, offset + length), UdpWire.HEADER_LEN)
      UdpWire.emitHeader(scratch, 0, srcPort, to.port, length, src, dst)
      r = ipv4.unsafeSend(dst, UdpWire.PROTOCOL, scratch, 0, UdpWire.HEADER_LEN + length)
    } else {
      if (length > MAX_PAYLOAD_V6) return "MessageTooLong"
      if (!ipv6.enabled) r = "NoRoute"
      else {
        const src = ipv6.unsafeSourceFor(dst)
        if (src === undefined) r = "NoAddress"
        else {
          scratch.set(offset === 0 && length === data.length ? data : data.subarray(offset, offset + length), UdpWire.HEADER_LEN)
          const len = UdpWire.HEADER_LEN + length
          UdpWire.emitHeaderPseudo(scratch, 0, srcPort, to.port, length, Ip6.pseudoHeaderV6(src, dst, UdpWire.PROTOCOL, len))
          r = ipv6.unsafeSend(dst, UdpWire.PROTOCOL, scratch, 0, len, { src })
        }
      }
    }
    if (r === "Sent" || r === "Queued") counters.tx++
    else counters.drop(`tx_${r}`)
    return r
  }

  const allocatePort = (): number | undefined => {
    for (let i = 0; i < 16384; i++) {
      const p = nextEphemeral
      nextEphemeral = nextEphemeral === 65535 ? 49152 : nextEphemeral + 1
      if (!bindings.has(p)) return p
    }
    return undefined
  }

  const bindPort = (port: number, options?: BindOptions): Effect.Effect<UdpSocket, UdpError, Scope.Scope> =>
    Effect.gen(function*() {
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        return yield* new UdpError({ reason: "InvalidPort", message: `invalid port ${port}` })
      }
      const queue = yield* Queue.dropping<Datagram>(options?.queueSize ?? 1024)
      const chosen = yield* Effect.acquireRelease(
        Effect.suspend(() => {
          const p = port === 0 ? allocatePort() : port
          if (p === undefined) return Effect.fail(new UdpError({ reason: "NoFreePort", message: "no free UDP port" }))
          if (bindings.has(p)) {
            return Effect.fail(new UdpError({ reason: "PortInUse", message: `UDP port ${p} is in use` }))
          }
          bindings.set(p, { queue, dropped: 0 })
          return Effect.succeed(p)
        }),
        (p) =>
          Effect.suspend(() => {
            bindings.delete(p)
            return Queue.shutdown(queue)
          })
      )
      const socket: UdpSocket = {
        port: chosen,
        receive: Stream.fromQueue(queue),
        take: Queue.take(queue),
        send: (to, data) =>
          Effect.suspend(() => {
            const r = unsafeSend(chosen, to, data)
            if (r === "Sent" || r === "Queued") return Effect.void
            const reason = r === "MessageTooLong" || r === "NoRoute" || r === "NoAddress" ? r : r === "TooBig" ? "MessageTooLong" : "Dropped"
            return Effect.fail(
              new UdpError({ reason, message: `cannot send to ${formatIpHost(to.address)}:${to.port}: ${r}` })
            )
          }),
        dropped: () => bindings.get(chosen)?.dropped ?? 0
      }
      return socket
    })

  const service: UdpService = { bind: bindPort, unsafeSend, counters }
  return service
})

/** The UDP layer as a Layer. */
export const layer: Layer.Layer<Udp, never, PollLoop | Ipv4 | Ipv6> = Layer.scoped(Udp, make)
