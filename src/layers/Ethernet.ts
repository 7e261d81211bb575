/**
 * The Ethernet layer: takes every frame from the poll loop, drops what is not
 * for us (wrong destination, too short, unknown EtherType) and hands the
 * payload to the handler registered for its EtherType; sends frames built in
 * its transmit buffer. Built once from the link when the stack starts.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { macIsBroadcast, macIsMulticast, type MacAddress } from "../protocols/address.js"
import * as Eth from "../protocols/ethernet.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import type { GsoRequest } from "./Link.js"

/** Receives the payload of a frame: `buffer[offset .. offset+length)`, valid during the call. */
export type PayloadHandler = (buffer: Uint8Array, offset: number, length: number) => void

/** The Ethernet layer's service. */
export interface EthernetService {
  /** Our MAC address. */
  readonly mac: MacAddress
  /** The link MTU (largest payload). */
  readonly mtu: number
  /** A scratch buffer for one outgoing frame: write the payload at `HEADER_LEN`, then `unsafeSend`. */
  readonly txBuffer: Uint8Array
  /** Sends the frame whose payload is in `txBuffer[14 .. 14+payloadLength)`. */
  readonly unsafeSend: (dst: MacAddress, ethertype: number, payloadLength: number) => boolean
  /**
   * The largest payload `unsafeSendGso` takes (0: the link cannot segment);
   * `txBuffer` is that large then.
   */
  readonly gsoMaxPayload: number
  /**
   * Sends the large TCP packet in `txBuffer[14 .. 14+payloadLength)` for the
   * link to segment (TSO): `ipHeaderLength` and `tcpHeaderLength` locate the
   * payload, `segmentSize` is the payload of each segment.
   */
  readonly unsafeSendGso: (
    dst: MacAddress,
    ethertype: number,
    payloadLength: number,
    ipHeaderLength: number,
    tcpHeaderLength: number,
    segmentSize: number
  ) => boolean
  /** Sends `payload` (copied into the transmit buffer). */
  readonly unsafeSendPayload: (dst: MacAddress, ethertype: number, payload: Uint8Array) => boolean
  /** Routes frames of `ethertype` to `handler` for the life of the scope. */
  readonly register: (ethertype: number, handler: PayloadHandler) => Effect.Effect<void, never, Scope.Scope>
  readonly counters: LayerCounters
}

/** The Ethernet layer. */
export class Ethernet extends Context.Tag("isla/Ethernet")<Ethernet, EthernetService>() {}

/** Options of the Ethernet layer. */
export interface EthernetOptions {
  readonly mac: MacAddress
}

/** Builds the Ethernet layer over the poll loop's link. */
export const make = (options: EthernetOptions) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const link = loop.link
    const counters = loop.counters.layer("ethernet")
    const mac = options.mac.slice(0, 6)
    const gsoMaxPayload = link.unsafeTransmitGso !== undefined && (link.gsoMaxFrame ?? 0) > link.mtu + Eth.HEADER_LEN ?
      link.gsoMaxFrame! - Eth.HEADER_LEN :
      0
    const txBuffer = new Uint8Array(Math.max(link.mtu, gsoMaxPayload) + Eth.HEADER_LEN)
    let ipv4: PayloadHandler | undefined
    let arp: PayloadHandler | undefined
    let ipv6: PayloadHandler | undefined
    const view = new Eth.Packet(new Uint8Array(0), 0, 0)
    const largest = link.mtu + Eth.HEADER_LEN
    // The TSO request, filled per send (no allocation per packet).
    const gso: { -readonly [K in keyof GsoRequest]: GsoRequest[K] } = { ipv6: false, segmentSize: 0, tcpOffset: 0, headerLength: 0 }

    const input = (buffer: Uint8Array, offset: number, length: number): void => {
      counters.rx++
      const frame = view.wrap(buffer, offset, length)
      if (frame.check() !== undefined) return counters.drop("truncated")
      // Accept frames to us, broadcast, and multicast (the IP layers filter groups).
      if (!frame.dstEquals(mac) && !macIsBroadcast(buffer, offset) && !macIsMulticast(buffer, offset)) {
        return counters.drop("other_host")
      }
      // A frame past the MTU: a TSO segment the TAP let through (offloads).
      if (length > largest) counters.event("large_frame_rx")
      const type = frame.ethertype
      const h = type === Eth.EtherType.Ipv4 ? ipv4 : type === Eth.EtherType.Arp ? arp : type === Eth.EtherType.Ipv6 ? ipv6 : undefined
      if (h === undefined) return counters.drop("unknown_ethertype")
      h(buffer, offset + Eth.HEADER_LEN, length - Eth.HEADER_LEN)
    }
    loop.unsafeSetFrameHandler(input)

    const unsafeSend = (dst: MacAddress, ethertype: number, payloadLength: number): boolean => {
      if (payloadLength > link.mtu) {
        counters.drop("tx_too_big")
        return false
      }
      Eth.emitHeader(txBuffer, 0, dst, mac, ethertype)
      if (!link.unsafeTransmit(txBuffer, 0, Eth.HEADER_LEN + payloadLength)) {
        counters.drop("tx_failed")
        return false
      }
      counters.tx++
      loop.counters.framesOut++
      return true
    }

    const service: EthernetService = {
      mac,
      mtu: link.mtu,
      txBuffer,
      unsafeSend,
      gsoMaxPayload,
      unsafeSendGso: (dst, ethertype, payloadLength, ipHeaderLength, tcpHeaderLength, segmentSize) => {
        if (payloadLength > gsoMaxPayload) {
          counters.drop("tx_too_big")
          return false
        }
        Eth.emitHeader(txBuffer, 0, dst, mac, ethertype)
        gso.ipv6 = ethertype === Eth.EtherType.Ipv6
        gso.segmentSize = segmentSize
        gso.tcpOffset = Eth.HEADER_LEN + ipHeaderLength
        gso.headerLength = gso.tcpOffset + tcpHeaderLength
        const sent = link.unsafeTransmitGso!(txBuffer, 0, Eth.HEADER_LEN + payloadLength, gso)
        if (!sent) {
          counters.drop("tx_failed")
          return false
        }
        counters.tx++
        counters.event("gso_tx")
        loop.counters.framesOut++
        return true
      },
      unsafeSendPayload: (dst, ethertype, payload) => {
        if (payload.length > link.mtu) {
          counters.drop("tx_too_big")
          return false
        }
        txBuffer.set(payload, Eth.HEADER_LEN)
        return unsafeSend(dst, ethertype, payload.length)
      },
      register: (ethertype, handler) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            if (ethertype === Eth.EtherType.Ipv4) ipv4 = handler
            else if (ethertype === Eth.EtherType.Arp) arp = handler
            else if (ethertype === Eth.EtherType.Ipv6) ipv6 = handler
          }),
          () =>
            Effect.sync(() => {
              if (ethertype === Eth.EtherType.Ipv4) ipv4 = undefined
              else if (ethertype === Eth.EtherType.Arp) arp = undefined
              else if (ethertype === Eth.EtherType.Ipv6) ipv6 = undefined
            })
        ),
      counters
    }
    return service
  })

/** The Ethernet layer as a Layer over the poll loop. */
export const layer = (options: EthernetOptions): Layer.Layer<Ethernet, never, PollLoop> =>
  Layer.effect(Ethernet, make(options))
