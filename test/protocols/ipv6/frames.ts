/**
 * The IPv6 frames captured from Linux by test/fixtures/ipv6-capture.sh, loaded
 * from test/fixtures/ipv6-frames.json, and the addresses of the two namespaces.
 */
import { readFileSync } from "node:fs"
import { fromHex } from "../wire/frames.js"

interface FramesFile {
  readonly about: string
  readonly frames: Record<string, { readonly command: string; readonly hex: string }>
}

const file = JSON.parse(readFileSync(new URL("../../fixtures/ipv6-frames.json", import.meta.url), "utf8")) as FramesFile

/** The names of the captured frames. */
export type Ipv6FrameName =
  | "ndp_neighbor_solicitation"
  | "ndp_neighbor_advertisement"
  | "icmpv6_echo_request"
  | "icmpv6_echo_reply"
  | "ipv6_fragment_first_request"
  | "ipv6_fragment_middle_request"
  | "ipv6_fragment_last_request"
  | "ipv6_fragment_first_reply"
  | "ipv6_fragment_middle_reply"
  | "ipv6_fragment_last_reply"
  | "udp6_datagram"
  | "icmpv6_echo_request_link_local"
  | "icmpv6_echo_reply_link_local"
  | "mldv2_report"

/** A fresh copy of a captured frame (tests may mutate it). */
export const frame6 = (name: Ipv6FrameName): Uint8Array => {
  const entry = file.frames[name]
  if (entry === undefined) throw new Error(`no fixture ${name} in ipv6-frames.json`)
  return fromHex(entry.hex)
}

/** Every captured frame, by name. */
export const allFrames6 = (): ReadonlyArray<readonly [Ipv6FrameName, Uint8Array]> =>
  Object.keys(file.frames).map((name) => [name as Ipv6FrameName, frame6(name as Ipv6FrameName)] as const)

/** Offset of the IPv6 header in a captured frame. */
export const IP6_AT = 14

/** Namespace A: fd00:77::1 and fe80::ff:fe4e:1 (02:00:00:4e:00:01). */
export const IP6_A = fromHex("fd000077000000000000000000000001")
export const LL_A = fromHex("fe80000000000000000000fffe4e0001")
/** Namespace B: fd00:77::2 and fe80::ff:fe4e:2 (02:00:00:4e:00:02). */
export const IP6_B = fromHex("fd000077000000000000000000000002")
export const LL_B = fromHex("fe80000000000000000000fffe4e0002")
