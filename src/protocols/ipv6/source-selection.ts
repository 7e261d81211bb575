/**
 * Source address selection (RFC 6724 §5) for a host with one interface: the
 * rules that can tell two of its own addresses apart — the destination
 * itself, appropriate scope, not deprecated, longest matching prefix. Pure;
 * reads the destination in place.
 */
import { ipv6Equals, isLinkLocal, isLoopback } from "./address.js"

/** A candidate source: one of our usable addresses. */
export interface SourceCandidate {
  readonly address: Uint8Array
  readonly prefixLength: number
  readonly deprecated: boolean
}

/** RFC 6724 §3.1: the scope of a unicast or multicast address (2 link-local, 14 global). */
export const scopeOf = (a: Uint8Array, o = 0): number => {
  if (a[o] === 0xff) return a[o + 1]! & 0x0f
  if (isLinkLocal(a, o) || isLoopback(a, o)) return 2
  return 14
}

/** Length in bits of the prefix `a` and `b[bo ..]` share. */
export const commonPrefixLength = (a: Uint8Array, b: Uint8Array, bo = 0): number => {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[bo + i]!
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return 128
}

/** The best source among `candidates` for the destination at `dst[dstOffset ..]`, undefined when there is none. */
export const selectSource = <C extends SourceCandidate>(
  candidates: ReadonlyArray<C>,
  dst: Uint8Array,
  dstOffset = 0
): C | undefined => {
  let best: C | undefined
  const ds = scopeOf(dst, dstOffset)
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!
    // Rule 1: prefer the destination itself.
    if (ipv6Equals(c.address, 0, dst, dstOffset)) return c
    if (best === undefined) {
      best = c
      continue
    }
    // Rule 2: prefer appropriate scope: the smaller scope that still reaches the destination.
    const sa = scopeOf(best.address)
    const sb = scopeOf(c.address)
    if (sa !== sb) {
      if (sa < sb ? sa < ds : sb >= ds) best = c
      continue
    }
    // Rule 3: avoid deprecated addresses.
    if (best.deprecated !== c.deprecated) {
      if (best.deprecated) best = c
      continue
    }
    // Rule 8: longest matching prefix (no longer than the address's own prefix).
    const la = Math.min(commonPrefixLength(best.address, dst, dstOffset), best.prefixLength)
    const lb = Math.min(commonPrefixLength(c.address, dst, dstOffset), c.prefixLength)
    if (lb > la) best = c
  }
  return best
}
