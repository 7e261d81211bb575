/**
 * A small seeded PRNG (mulberry32) for code that needs random numbers
 * synchronously (per frame, inside pure state machines) while staying
 * deterministic: seed it from Effect's `Random` (`Random.nextInt`), so a
 * seeded `Random` in tests gives the same run every time.
 */
import { Effect, Random } from "effect"

/** A function giving floats in [0, 1) from a 32-bit seed. */
export const mulberry32 = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A synchronous random source seeded from Effect's `Random` service. */
export const fromEffectRandom: Effect.Effect<() => number> = Effect.map(Random.nextInt, (seed) => mulberry32(seed))
