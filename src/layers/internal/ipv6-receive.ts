/**
 * The IPv6 receive path (RFC 8200): checks a frame's fixed header and
 * destination, walks the extension-header chain, reassembles fragments
 * (§4.5), and delivers to ICMPv6 or a registered upper layer. Synchronous.
 */
import * as Icmpv6 from "../../protocols/ipv6/icmpv6.js"
import { isMulticast } from "../../protocols/ipv6/address.js"
import * as Ip6 from "../../protocols/ipv6/header.js"
import { Reassembler, type ReassemblyOptions } from "../../protocols/reassembly.js"
import type { ProtocolHandler } from "../Ipv6.js"
import { keyOf } from "./ipv6-addresses.js"
import type { Ipv6Core } from "./ipv6-core.js"
import type { IcmpPart } from "./ipv6-icmp.js"

/** The receive path's entry point, handler table and reassembly timer. */
export interface ReceivePart {
  /** The Ethernet layer's handler for IPv6 frames. */
  readonly input: (buffer: Uint8Array, offset: number, length: number) => void
  /** Upper-layer handlers by next header. */
  readonly handlers: Array<ProtocolHandler | undefined>
  /** When the oldest incomplete datagram times out. */
  readonly pollAt: () => number
  /** Drops the datagrams that timed out. */
  readonly poll: (now: number) => void
}

/** Builds the receive path; ICMPv6 goes to `icmp`, which also reports our errors. */
export const makeReceive = (core: Ipv6Core, icmp: IcmpPart, reassembly: ReassemblyOptions): ReceivePart => {
  const { loop, counters, addresses } = core
  const { reportError } = icmp
  const view = new Ip6.Packet(new Uint8Array(0), 0, 0)
  const ctxView = new Ip6.Packet(new Uint8Array(0), 0, 0)
  const handlers: Array<ProtocolHandler | undefined> = new Array(256).fill(undefined)
  const reassembler = new Reassembler<Uint8Array>(reassembly)

  const deliver = (
    protocol: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    h: Ip6.Packet,
    pointer: number,
    toTentative: boolean
  ) => {
    if (protocol === Icmpv6.NEXT_HEADER) return icmp.input(buffer, offset, length, h, toTentative)
    if (toTentative) return counters.drop("to_tentative")
    const handler = handlers[protocol]
    if (handler === undefined) {
      counters.drop("unknown_next_header")
      // RFC 8200 §4: an unrecognized Next Header → parameter problem, code 1.
      return reportError(Icmpv6.Type.ParamProblem, Icmpv6.ParamProblemCode.NextHeader, pointer, h)
    }
    handler(buffer, offset, length, h)
  }

  /** Follows the chain from `nh` at `buffer[offset .. offset+length)` and acts on the verdict. */
  const walk = (buffer: Uint8Array, offset: number, length: number, nh: number, h: Ip6.Packet, toTentative: boolean) => {
    const multicast = isMulticast(h.buffer, h.dstOffset)
    const r = Ip6.walkExtensions(buffer, offset, length, nh, { multicast, headerOffset: h.offset })
    switch (r._tag) {
      case "Upper":
        return deliver(r.protocol, buffer, r.offset, r.length, h, r.nextHeaderPointer, toTentative)
      case "NoNextHeader":
        return counters.drop("no_next_header")
      case "Drop":
        return counters.drop(r.reason)
      case "ParamProblem":
        counters.drop("param_problem")
        return reportError(Icmpv6.Type.ParamProblem, r.code, r.pointer, h)
      case "Fragment": {
        if (toTentative) return counters.drop("to_tentative")
        // RFC 6946: an atomic fragment is processed as a whole packet.
        if (r.fragmentOffset === 0 && !r.moreFragments) {
          return walkAfterFragment(buffer, r.dataOffset, r.dataLength, r.nextHeader, h)
        }
        const hb = h.buffer
        const key = `${keyOf(hb, h.srcOffset)}${keyOf(hb, h.dstOffset)}${r.identification}`
        const first = r.fragmentOffset === 0
        // Keep the first fragment (up to the quote limit) for a time exceeded error (RFC 8200 §4.5).
        const ctx = first
          ? buffer.slice(h.offset, Math.min(h.offset + h.totalLength, h.offset + Icmpv6.MAX_QUOTE_LEN, buffer.length))
          : undefined
        const res = reassembler.input(key, r.fragmentOffset, r.moreFragments, buffer, r.dataOffset, r.dataLength, loop.time(), ctx)
        if (res._tag === "Incomplete") {
          loop.unsafeWake()
          return
        }
        if (res._tag === "Dropped") return counters.drop(`reassembly_${res.reason}`)
        counters.event("reassembled")
        // A packet of its own: the first fragment's fixed header, the fragment's next header, the whole payload.
        const whole = new Uint8Array(Ip6.HEADER_LEN + res.payload.length)
        whole.set(res.context.subarray(0, Ip6.HEADER_LEN), 0)
        whole[4] = res.payload.length >>> 8
        whole[5] = res.payload.length & 0xff
        whole[Ip6.field.NEXT_HEADER] = r.nextHeader
        whole.set(res.payload, Ip6.HEADER_LEN)
        const wh = new Ip6.Packet(whole, 0, whole.length)
        return walkAfterFragment(whole, Ip6.HEADER_LEN, res.payload.length, r.nextHeader, wh)
      }
    }
  }

  /** The headers after a Fragment header; a second Fragment header is dropped. */
  const walkAfterFragment = (buffer: Uint8Array, offset: number, length: number, nh: number, h: Ip6.Packet) => {
    if (nh === Ip6.NextHeader.Fragment || nh === Ip6.NextHeader.HopByHop) return counters.drop("nested_fragment")
    walk(buffer, offset, length, nh, h, false)
  }

  const input = (buffer: Uint8Array, offset: number, length: number): void => {
    counters.rx++
    const p = view.wrap(buffer, offset, length)
    const bad = p.check()
    if (bad !== undefined) return counters.drop(bad.reason)
    // RFC 4291 §2.7: a multicast source is never valid.
    if (isMulticast(buffer, p.srcOffset)) return counters.drop("bad_source")
    const d = p.dstOffset
    let toTentative = false
    if (isMulticast(buffer, d)) {
      if (!addresses.inGroups(buffer, d)) return counters.drop("multicast_not_joined")
    } else if (addresses.findUsable(buffer, d) === undefined) {
      const own = addresses.findAny(buffer, d)
      if (own === undefined || own.state !== "TENTATIVE") return counters.drop("not_for_us")
      toTentative = true
    }
    walk(buffer, p.payloadOffset, p.payloadLength, p.nextHeader, p, toTentative)
  }

  const poll = (now: number) => {
    for (const t of reassembler.poll(now)) {
      counters.drop("reassembly_timeout")
      // RFC 8200 §4.5: time exceeded, code 1, only when the first fragment came.
      if (t.context !== undefined) {
        reportError(Icmpv6.Type.TimeExceeded, Icmpv6.TimeExceededCode.ReassemblyTimeout, 0, ctxView.wrap(t.context, 0, t.context.length))
      }
    }
  }

  return { input, handlers, pollAt: () => reassembler.pollAt(), poll }
}
