/**
 * The stack's counters as Effect `Metric`s. The data plane bumps plain
 * counters (no Effect per frame); `sync` publishes what changed since the last
 * call into the metrics below, tagged by layer and reason.
 */
import { Effect, Metric } from "effect"
import type { Counters } from "../runtime/Counters.js"

/** Frames read from the link. */
export const framesReceived = Metric.counter("isla_frames_received_total", {
  description: "Ethernet frames received from the link"
})
/** Frames written to the link. */
export const framesSent = Metric.counter("isla_frames_sent_total", {
  description: "Ethernet frames sent on the link"
})
/** Frames or packets dropped, tagged `layer` and `reason`. */
export const framesDropped = Metric.counter("isla_frames_dropped_total", {
  description: "Frames or packets dropped, by layer and reason"
})

const published = new WeakMap<Counters, Map<string, number>>()

/** Adds to the metrics what `counters` counted since the last `sync` of them. */
export const sync = (counters: Counters): Effect.Effect<void> =>
  Effect.suspend(() => {
    let seen = published.get(counters)
    if (!seen) {
      seen = new Map()
      published.set(counters, seen)
    }
    const effects: Array<Effect.Effect<void>> = []
    const delta = (key: string, value: number) => {
      const d = value - (seen.get(key) ?? 0)
      seen.set(key, value)
      return d
    }
    const rx = delta("rx", counters.framesIn)
    if (rx > 0) effects.push(Metric.incrementBy(framesReceived, rx))
    const tx = delta("tx", counters.framesOut)
    if (tx > 0) effects.push(Metric.incrementBy(framesSent, tx))
    for (const c of counters.layers.values()) {
      for (const reason in c.drops) {
        const d = delta(`drop:${c.layer}:${reason}`, c.drops[reason]!)
        if (d > 0) {
          effects.push(
            Metric.incrementBy(framesDropped.pipe(Metric.tagged("layer", c.layer), Metric.tagged("reason", reason)), d)
          )
        }
      }
    }
    return Effect.all(effects, { discard: true })
  })
