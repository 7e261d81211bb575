/**
 * Neighbour discovery and MLD for the IPv6 layer (RFC 4861, RFC 4862, RFC
 * 3810): sends NS/NA/RS and MLDv2 reports, receives NDP messages and MLD
 * queries, and carries out the NeighborCache's and Slaac's actions.
 */
import type { MacAddress } from "../../protocols/address.js"
import * as Eth from "../../protocols/ethernet.js"
import * as Icmpv6 from "../../protocols/ipv6/icmpv6.js"
import {
  ALL_MLDV2_ROUTERS,
  ALL_NODES,
  ALL_ROUTERS,
  formatIpv6,
  ipv6Equals,
  isLinkLocal,
  isMulticast,
  isUnspecified,
  multicastMac,
  solicitedNodeMulticast,
  UNSPECIFIED,
  type Ipv6Address
} from "../../protocols/ipv6/address.js"
import * as Ip6 from "../../protocols/ipv6/header.js"
import * as Ndp from "../../protocols/ipv6/ndp.js"
import type { NeighborAction } from "../../protocols/ipv6/neighbor-cache.js"
import type { SlaacAction } from "../../protocols/ipv6/slaac.js"
import { isMalformed } from "../../protocols/malformed.js"
import { keyOf } from "./ipv6-addresses.js"
import type { Ipv6Core } from "./ipv6-core.js"
import { writeHeader, type Transmit } from "./ipv6-transmit.js"

/** How the NDP part is configured and reports to the layer. */
export interface NdpOptions {
  /** Form SLAAC addresses from RA prefixes. */
  readonly useSlaac: boolean
  /** The automatic link-local address passed DAD, or (`duplicate`) failed it. */
  readonly onLinkLocal: (address: Ipv6Address, duplicate: boolean) => void
}

/** The NDP and MLD functions the transmit path, ICMPv6 input and timers call. */
export interface NdpPart {
  /** Rebuilds our address lists from the SLAAC state and reports newly joined groups. */
  readonly refresh: () => void
  /** RFC 4861 §7.2.2: a multicast NS for `target`. */
  readonly sendMulticastNs: (target: Uint8Array) => void
  readonly runNeighbor: (actions: ReadonlyArray<NeighborAction>) => void
  readonly runSlaac: (actions: ReadonlyArray<SlaacAction>) => void
  /** An RS, RA, NS or NA whose checksum has been verified. */
  readonly input: (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet) => void
  /** An MLD query whose checksum has been verified. */
  readonly mldQueryInput: (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet) => void
}

const ndpNames: Record<string, string> = {
  RouterSolicit: "rs",
  RouterAdvert: "ra",
  NeighborSolicit: "ns",
  NeighborAdvert: "na"
}

const sllOf = (options: ReadonlyArray<Ndp.NdpOption>, tag: "SourceLinkLayer" | "TargetLinkLayer") => {
  for (const o of options) if (o._tag === tag && o.address.length === 6) return o.address
  return undefined
}

/** Builds the NDP and MLD part over the transmit path. */
export const makeNdp = (core: Ipv6Core, transmit: Transmit, options: NdpOptions): NdpPart => {
  const { loop, eth, mac, scratch, counters, icmpCounters, ndpCounters, log, addresses, onLink, neighbors, slaac, link } =
    core
  const tx = eth.txBuffer

  // --- NDP and MLD transmit -------------------------------------------------

  /** Sends an NDP message (hop limit 255, RFC 4861 §6.1, §7.1). */
  const sendNdp = (repr: Ndp.NdpRepr, src: Uint8Array, dst: Uint8Array, dstMac: MacAddress | undefined, nextHop: Uint8Array) => {
    const len = Ndp.bufferLen(repr)
    Ndp.emit(repr, src, dst, scratch, 0)
    const r = transmit.sendVia(dstMac, nextHop, src, dst, Icmpv6.NEXT_HEADER, 255, scratch, 0, len)
    if (r === "Sent" || r === "Queued") {
      ndpCounters.tx++
      ndpCounters.event(`${ndpNames[repr._tag]}_tx`)
    }
  }

  const sllOption = (): Ndp.NdpOption => ({ _tag: "SourceLinkLayer", address: mac })

  /** RFC 4861 §7.2.2: a multicast NS to the target's solicited-node group. */
  const sendMulticastNs = (target: Uint8Array) => {
    const src = addresses.sourceFor(target)
    if (src === undefined) return counters.drop("ns_no_source")
    const group = solicitedNodeMulticast(target)
    sendNdp({ _tag: "NeighborSolicit", target, options: [sllOption()] }, src, group, multicastMac(group), group)
  }

  /** RFC 4861 §7.3.3: a unicast probe to the cached MAC. */
  const sendUnicastNs = (target: Uint8Array, to: MacAddress) => {
    const src = addresses.sourceFor(target)
    if (src === undefined) return counters.drop("ns_no_source")
    sendNdp({ _tag: "NeighborSolicit", target, options: [sllOption()] }, src, target, to, target)
  }

  /** RFC 4862 §5.4.2: DAD NS from the unspecified address, no SLLA option. */
  const sendDadNs = (target: Uint8Array) => {
    const group = solicitedNodeMulticast(target)
    sendNdp({ _tag: "NeighborSolicit", target, options: [] }, UNSPECIFIED, group, multicastMac(group), group)
    ndpCounters.event("dad_ns_tx")
  }

  /** RFC 4861 §6.3.7; §4.1: no SLLA option from the unspecified address. */
  const sendRs = () => {
    const src = addresses.linkLocal()
    sendNdp(
      { _tag: "RouterSolicit", options: src !== undefined ? [sllOption()] : [] },
      src ?? UNSPECIFIED,
      ALL_ROUTERS,
      multicastMac(ALL_ROUTERS),
      ALL_ROUTERS
    )
  }

  /**
   * RFC 3810 §5.2: an MLDv2 Report joining `joined` (CHANGE_TO_EXCLUDE({}),
   * §6.1), hop limit 1, with a Router Alert in a Hop-by-Hop header (§5).
   */
  const sendMldReport = (joined: ReadonlyArray<Ipv6Address>, currentState = false) => {
    if (joined.length === 0) return
    const src = addresses.linkLocal() ?? UNSPECIFIED
    const records = currentState ? Ndp.currentStateRecords(joined) : Ndp.joinRecords(joined)
    const mldLen = Ndp.mldv2ReportLen(records)
    const o = Eth.HEADER_LEN
    if (Ip6.HEADER_LEN + 8 + mldLen > eth.mtu) return counters.drop("mld_too_big")
    writeHeader(tx, o, src, ALL_MLDV2_ROUTERS, Ip6.NextHeader.HopByHop, 8 + mldLen, 1)
    // Hop-by-Hop: next header 58, length 0, Router Alert (RFC 2711: type 5, value 0 = MLD), PadN(0).
    tx.set([Icmpv6.NEXT_HEADER, 0, 5, 2, 0, 0, 1, 0], o + Ip6.HEADER_LEN)
    Ndp.emitMldv2Report(records, src, ALL_MLDV2_ROUTERS, tx, o + Ip6.HEADER_LEN + 8)
    if (eth.unsafeSend(multicastMac(ALL_MLDV2_ROUTERS), Eth.EtherType.Ipv6, Ip6.HEADER_LEN + 8 + mldLen)) {
      counters.tx++
      icmpCounters.tx++
      ndpCounters.event("mld_report_tx")
    }
  }

  /** Rebuilds our address lists; joins new solicited-node groups (MLDv2). */
  const refresh = () => {
    const joined = addresses.refresh(slaac.addresses())
    if (joined.length > 0) sendMldReport(joined)
  }

  // --- state machine actions -----------------------------------------------

  const runNeighbor = (actions: ReadonlyArray<NeighborAction>) => {
    for (const a of actions) {
      switch (a._tag) {
        case "SendMulticastSolicitation":
          sendMulticastNs(a.target)
          break
        case "SendUnicastSolicitation":
          sendUnicastNs(a.target, a.mac)
          break
        case "Flush":
          for (const p of a.packets) eth.unsafeSendPayload(a.mac, Eth.EtherType.Ipv6, p)
          break
        case "Unresolved":
          for (let i = 0; i < a.dropped.length; i++) counters.drop("unresolved")
          ndpCounters.event("neighbor_unresolved")
          break
        case "NoLongerRouter":
          // RFC 4861 §7.2.5: it leaves the default router list.
          ndpCounters.event("neighbor_no_longer_router")
          runSlaac(slaac.removeRouter(a.target))
          break
      }
    }
  }

  const describe = (address: Ipv6Address, prefixLength: number) => {
    const origin = addresses.originOf(address)
    return `${formatIpv6(address)}/${prefixLength} configured (${origin})`
  }

  const runSlaac = (actions: ReadonlyArray<SlaacAction>) => {
    let changed = false
    for (const a of actions) {
      switch (a._tag) {
        case "SendDadSolicitation":
          // Join the solicited-node group before the first DAD NS (RFC 4862 §5.4.2).
          if (!changed) refresh()
          sendDadNs(a.address)
          break
        case "SendRouterSolicitation":
          sendRs()
          break
        case "AddressPreferred":
          changed = true
          ndpCounters.event("dad_ok")
          log("info", `ipv6 address ${describe(a.address, a.prefixLength)}`)
          if (keyOf(a.address) === addresses.autoLinkLocal) options.onLinkLocal(a.address, false)
          break
        case "AddressDeprecated":
          changed = true
          ndpCounters.event("address_deprecated")
          break
        case "AddressRemoved":
          changed = true
          ndpCounters.event("address_removed")
          log("info", `ipv6 address ${formatIpv6(a.address)} removed (lifetime expired)`)
          break
        case "DuplicateDetected":
          changed = true
          ndpCounters.event("dad_duplicate")
          log("warning", `ipv6 address ${formatIpv6(a.address)} is in use by another node (DAD): not used`)
          if (keyOf(a.address) === addresses.autoLinkLocal) options.onLinkLocal(a.address, true)
          break
        case "RouterAdded":
          ndpCounters.event("router_added")
          log("info", `ipv6 default router ${formatIpv6(a.router)}`)
          break
        case "RouterRemoved":
          ndpCounters.event("router_removed")
          break
        case "DnsServers":
          link.dnsServers = a.servers
          break
        case "LinkParametersChanged": {
          const p = a.parameters
          if (p.curHopLimit !== undefined) link.hopLimit = p.curHopLimit
          // RFC 4861 §6.3.4: an MTU option never raises the MTU above the link's.
          if (p.mtu !== undefined) link.mtu = Math.min(eth.mtu, Math.max(Icmpv6.MIN_MTU, p.mtu))
          break
        }
      }
    }
    if (changed) refresh()
  }

  // --- NDP receive ----------------------------------------------------------

  const input = (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet) => {
    ndpCounters.rx++
    // RFC 4861 §6.1, §7.1.1: hop limit 255 proves the message came from the link.
    if (h.hopLimit !== 255) return ndpCounters.drop("bad_hop_limit")
    const m = Ndp.parse(buffer, offset, length)
    if (isMalformed(m)) return ndpCounters.drop(m.reason)
    const hb = h.buffer
    const srcUnspecified = isUnspecified(hb, h.srcOffset)
    const now = loop.time()
    switch (m._tag) {
      case "RouterSolicit":
        ndpCounters.event("rs_rx")
        return ndpCounters.drop("rs_host")
      case "RouterAdvert": {
        ndpCounters.event("ra_rx")
        // RFC 4861 §6.1.2: from a link-local source.
        if (!isLinkLocal(hb, h.srcOffset)) return ndpCounters.drop("ra_bad_source")
        const src = h.src
        const sll = sllOf(m.options, "SourceLinkLayer")
        if (sll !== undefined) runNeighbor(neighbors.onSolicitation(src, sll, now))
        // RFC 4861 §6.3.4: the sender's neighbour entry is a router's.
        neighbors.markRouter(src)
        if (m.reachableTime > 0) neighbors.setBaseReachableTime(m.reachableTime)
        if (m.retransTimer > 0) neighbors.setRetransTimer(m.retransTimer)
        const prefixes: Array<Ndp.PrefixInformation> = []
        const rdnss: Array<{ servers: ReadonlyArray<Uint8Array>; lifetime: number }> = []
        let mtu: number | undefined
        for (const o of m.options) {
          if (o._tag === "PrefixInformation") {
            if (options.useSlaac) prefixes.push(o)
            if (o.onLink) onLink.onPrefixInformation(o, now)
          } else if (o._tag === "Rdnss") rdnss.push(o)
          else if (o._tag === "Mtu") mtu = o.mtu
        }
        runSlaac(slaac.onRouterAdvertisement(
          {
            source: src,
            routerLifetime: m.routerLifetime,
            curHopLimit: m.curHopLimit,
            reachableTime: m.reachableTime,
            retransTimer: m.retransTimer,
            ...(mtu !== undefined ? { mtu } : {}),
            prefixes,
            rdnss
          },
          now
        ))
        // New tentative addresses join their solicited-node groups now, before their DAD.
        refresh()
        loop.unsafeWake()
        return
      }
      case "NeighborSolicit": {
        ndpCounters.event("ns_rx")
        const sll = sllOf(m.options, "SourceLinkLayer")
        const dstGroup = isMulticast(hb, h.dstOffset)
        // RFC 4861 §7.1.1: from :: only to a solicited-node group and without SLLA.
        if (srcUnspecified && (!dstGroup || sll !== undefined)) return ndpCounters.drop("ns_bad_dad")
        const own = addresses.findAny(m.target, 0)
        if (own === undefined) return ndpCounters.drop("ns_not_for_us")
        if (own.state === "TENTATIVE") {
          // RFC 4862 §5.4.3: another node's DAD for our tentative address.
          if (srcUnspecified) runSlaac(slaac.onNeighborSolicitation(m.target, true, now))
          return
        }
        if (own.state === "DUPLICATE") return ndpCounters.drop("ns_duplicate_target")
        if (srcUnspecified) {
          // RFC 4861 §7.2.4: answer a DAD probe to all-nodes, unsolicited.
          ndpCounters.event("dad_defended")
          return sendNdp(
            { _tag: "NeighborAdvert", router: false, solicited: false, override: true, target: own.address, options: [{ _tag: "TargetLinkLayer", address: mac }] },
            own.address,
            ALL_NODES,
            multicastMac(ALL_NODES),
            ALL_NODES
          )
        }
        const src = h.src
        if (sll !== undefined) runNeighbor(neighbors.onSolicitation(src, sll, now))
        const to = sll ?? neighbors.lookup(src, now)
        return sendNdp(
          { _tag: "NeighborAdvert", router: false, solicited: true, override: true, target: own.address, options: [{ _tag: "TargetLinkLayer", address: mac }] },
          own.address,
          src,
          to,
          src
        )
      }
      case "NeighborAdvert": {
        ndpCounters.event("na_rx")
        // RFC 4861 §7.1.2: solicited NAs are never multicast.
        if (m.solicited && isMulticast(hb, h.dstOffset)) return ndpCounters.drop("na_bad_solicited")
        const own = addresses.findAny(m.target, 0)
        if (own !== undefined) {
          if (own.state === "TENTATIVE") return runSlaac(slaac.onNeighborAdvertisement(m.target, now))
          log("warning", `ipv6 address ${formatIpv6(m.target)} is claimed by another node`)
          return ndpCounters.drop("na_for_our_address")
        }
        runNeighbor(neighbors.onAdvertisement(
          m.target,
          sllOf(m.options, "TargetLinkLayer"),
          { solicited: m.solicited, override: m.override, router: m.router },
          now
        ))
        return
      }
    }
  }

  /**
   * RFC 3810 §7: a querier asks which groups we listen to; answer with the
   * current state of our solicited-node groups (all of them for a general
   * query, the one asked for a group-specific query), so a snooping switch
   * keeps delivering Neighbor Solicitations to us. Answered at once rather
   * than after a random part of the Maximum Response Delay: one host, few groups.
   */
  const mldQueryInput = (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet) => {
    ndpCounters.event("mld_query_rx")
    // §5.1.14: a query must come from a link-local source with hop limit 1.
    if (length < 24 || h.hopLimit !== 1 || !isLinkLocal(h.buffer, h.srcOffset)) return icmpCounters.drop("bad_mld_query")
    const general = isUnspecified(buffer, offset + 8)
    const groups = addresses.groups
    const asked = general ? groups : groups.filter((g) => ipv6Equals(g, 0, buffer, offset + 8))
    sendMldReport(asked, true)
  }

  return { refresh, sendMulticastNs, runNeighbor, runSlaac, input, mldQueryInput }
}
