/**
 * MLDv2 queries (RFC 3810 §7): a querier on the link asks which groups the
 * stack listens to; the stack answers with the current state of its
 * solicited-node groups, so a snooping switch keeps delivering NS to it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Checksum from "../../src/protocols/checksum.js"
import { ALL_NODES, formatIpv6, multicastMac, solicitedNodeMulticast, UNSPECIFIED } from "../../src/protocols/ipv6/address.js"
import * as Ip6 from "../../src/protocols/ipv6/header.js"
import { advance, frame6, ipv6Of, peerLl, received, stackLl, whole, withStack } from "./ipv6-helpers.js"

/** An MLDv2 query for `group` (:: for a general query) from `src`, with hop limit `hopLimit` and a Router Alert. */
const mldQuery = (group: Uint8Array, src: Uint8Array, hopLimit = 1) => {
  const icmp = new Uint8Array(28)
  icmp[0] = 130
  icmp[4] = 0x27 // Maximum Response Code: 10 s
  icmp[5] = 0x10
  icmp.set(group, 8)
  icmp[25] = 125 // QQIC
  const hbh = Uint8Array.of(58, 0, 5, 2, 0, 0, 1, 0)
  const payload = new Uint8Array(hbh.length + icmp.length)
  payload.set(hbh, 0)
  payload.set(icmp, 8)
  const c = Checksum.compute(icmp, 0, icmp.length, Ip6.pseudoHeaderV6(src, ALL_NODES, 58, icmp.length))
  payload[8 + 2] = c >>> 8
  payload[8 + 3] = c & 0xff
  const p = new Uint8Array(40 + payload.length)
  Ip6.emit({ src, dst: ALL_NODES, nextHeader: 0, payloadLength: payload.length, hopLimit, trafficClass: 0, flowLabel: 0 }, p, 0)
  p.set(payload, 40)
  return frame6(multicastMac(ALL_NODES), p)
}

/** The groups of the MLDv2 reports among `frames`, with their record types. */
const reports = (frames: ReadonlyArray<Uint8Array>) =>
  ipv6Of(frames).filter((p) => p.ip.nextHeader === 0 && p.frame[62] === 143).map((p) => {
    const n = (p.frame[62 + 6]! << 8) | p.frame[62 + 7]!
    const records: Array<{ type: number; group: string }> = []
    for (let i = 0, at = 62 + 8; i < n; i++, at += 20) {
      records.push({ type: p.frame[at]!, group: formatIpv6(p.frame.subarray(at + 4, at + 20)) })
    }
    return records
  })

describe("MLDv2 queries", () => {
  it.effect("a general query is answered with MODE_IS_EXCLUDE for the solicited-node group; a bad one is not", () =>
    withStack({}, (peer) =>
      Effect.gen(function*() {
        yield* advance(3000)
        received(peer)
        peer.unsafeTransmit(...whole(mldQuery(UNSPECIFIED, peerLl)))
        yield* advance(100)
        expect(reports(received(peer))).toEqual([[{ type: 2, group: formatIpv6(solicitedNodeMulticast(stackLl)) }]])
        // §5.1.14: hop limit other than 1, or a source that is not link-local: ignored.
        peer.unsafeTransmit(...whole(mldQuery(UNSPECIFIED, peerLl, 64)))
        peer.unsafeTransmit(...whole(mldQuery(UNSPECIFIED, Uint8Array.of(0xfd, 0, ...new Array(13).fill(0), 9))))
        // A group-specific query for a group we are not in: nothing to report.
        peer.unsafeTransmit(...whole(mldQuery(Uint8Array.of(0xff, 2, ...new Array(13).fill(0), 0x42), peerLl)))
        yield* advance(100)
        expect(reports(received(peer))).toEqual([])
        // A group-specific query for our group.
        peer.unsafeTransmit(...whole(mldQuery(solicitedNodeMulticast(stackLl), peerLl)))
        yield* advance(100)
        expect(reports(received(peer))).toEqual([[{ type: 2, group: formatIpv6(solicitedNodeMulticast(stackLl)) }]])
      })
    ))
})
