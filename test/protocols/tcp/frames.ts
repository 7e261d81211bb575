/**
 * The TCP frames captured from Linux by test/fixtures/tcp-capture.sh, loaded
 * from test/fixtures/tcp-frames.json, with the segment's place in each frame
 * and its pseudo-header sum.
 */
import { readFileSync } from "node:fs"
import * as Checksum from "../../../src/protocols/checksum.js"
import * as Ipv4 from "../../../src/protocols/ipv4.js"
import { fromHex, ok } from "../wire/frames.js"

export { fromHex, ok, toHex } from "../wire/frames.js"

interface FramesFile {
  readonly about: string
  readonly frames: Record<string, { readonly command: string; readonly hex: string }>
}

const file = JSON.parse(readFileSync(new URL("../../fixtures/tcp-frames.json", import.meta.url), "utf8")) as FramesFile

/** The names of the captured frames. */
export type TcpFrameName =
  | "tcp_syn"
  | "tcp_syn_ack"
  | "tcp_handshake_ack"
  | "tcp_data_a"
  | "tcp_data_b"
  | "tcp_fin_a"
  | "tcp_fin_b"
  | "tcp_last_ack"
  | "tcp_syn_closed_port"
  | "tcp_rst_closed_port"
  | "tcp_syn_no_timestamps"
  | "tcp_syn_ack_no_timestamps"
  | "tcp_syn_no_sack"
  | "tcp_syn_ack_no_sack"
  | "tcp_syn_mss_only"
  | "tcp_syn_ack_mss_only"
  | "tcp_sack_one_block"
  | "tcp_sack_blocks"

/** Namespace A's end of the veth: 10.79.0.1. */
export const IP_A = 0x0a4f0001
/** Namespace B's end of the veth: 10.79.0.2. */
export const IP_B = 0x0a4f0002

/** Offset of the IPv4 header in a captured frame. */
export const IP_AT = 14

/** A captured segment: a fresh copy of its frame, where the TCP bytes sit, and its addresses. */
export interface Captured {
  readonly bytes: Uint8Array
  /** Offset of the TCP header in `bytes`. */
  readonly at: number
  /** TCP length (the IP payload length). */
  readonly length: number
  readonly src: number
  readonly dst: number
  /** Pseudo-header partial sum including the TCP length. */
  readonly pseudo: number
}

/** A captured segment by name (tests may mutate its bytes). */
export const segment = (name: TcpFrameName): Captured => {
  const entry = file.frames[name]
  if (entry === undefined) throw new Error(`no fixture ${name} in tcp-frames.json`)
  const bytes = fromHex(entry.hex)
  const ip = ok(Ipv4.parse(bytes, IP_AT))
  if (ip.protocol !== 6) throw new Error(`${name} is not TCP`)
  const at = IP_AT + Ipv4.HEADER_LEN
  return {
    bytes,
    at,
    length: ip.payloadLength,
    src: ip.src,
    dst: ip.dst,
    pseudo: Checksum.pseudoHeaderV4(ip.src, ip.dst, 6, ip.payloadLength)
  }
}

/** Every captured segment's name. */
export const allNames = (): ReadonlyArray<TcpFrameName> => Object.keys(file.frames) as Array<TcpFrameName>
