/**
 * Parse failures are values, not exceptions: a parser returns its result or a
 * `Malformed` naming the reason, which the layer drops and counts.
 * Build one constant per reason at module load; never one per packet.
 */

/** Why bytes were refused by a parser. */
export interface Malformed {
  readonly _tag: "Malformed"
  readonly reason: string
}

/** A reusable `Malformed` value for `reason`. */
export const malformed = (reason: string): Malformed => Object.freeze({ _tag: "Malformed", reason })

/** True when a parser result is a `Malformed`. */
export const isMalformed = (u: unknown): u is Malformed =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Malformed"
