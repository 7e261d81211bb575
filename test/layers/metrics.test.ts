import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Prometheus from "../../src/layers/internal/Prometheus.js"
import * as Metrics from "../../src/layers/Metrics.js"
import { Counters } from "../../src/runtime/Counters.js"

describe("Metrics.sync", () => {
  it.effect("publishes per-layer packets, events and drops, adding only what changed since the last sync", () =>
    Effect.gen(function*() {
      const counters = new Counters()
      const ndp = counters.layer("test_ndp")
      ndp.rx = 3
      ndp.tx = 2
      ndp.event("ns_sent")
      ndp.event("ns_sent")
      ndp.drop("bad_hop_limit")
      yield* Metrics.sync(counters)
      let text = yield* Prometheus.render
      expect(text).toContain('isla_packets_total{layer="test_ndp",direction="rx"} 3\n')
      expect(text).toContain('isla_packets_total{layer="test_ndp",direction="tx"} 2\n')
      expect(text).toContain('isla_events_total{layer="test_ndp",event="ns_sent"} 2\n')
      expect(text).toContain('isla_frames_dropped_total{layer="test_ndp",reason="bad_hop_limit"} 1\n')
      ndp.event("ns_sent")
      ndp.event("dad_succeeded")
      yield* Metrics.sync(counters)
      text = yield* Prometheus.render
      expect(text).toContain('isla_events_total{layer="test_ndp",event="ns_sent"} 3\n')
      expect(text).toContain('isla_events_total{layer="test_ndp",event="dad_succeeded"} 1\n')
    }))
})
