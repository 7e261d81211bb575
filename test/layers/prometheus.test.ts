import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as Prometheus from "../../src/layers/internal/Prometheus.js"

describe("Prometheus text format", () => {
  it.effect("counters and gauges with labels, grouped under one HELP/TYPE per name", () =>
    Effect.gen(function*() {
      const c = Metric.counter("test_prom_frames_total", { description: "Frames\nseen" })
      const g = Metric.gauge("test_prom_connections")
      yield* Metric.incrementBy(c.pipe(Metric.tagged("layer", "ip\"v4")), 3)
      yield* Metric.incrementBy(c.pipe(Metric.tagged("layer", "udp")), 2)
      yield* Metric.set(g.pipe(Metric.tagged("state", "Established")), 7)
      const text = yield* Prometheus.render
      expect(text).toContain("# HELP test_prom_frames_total Frames\\nseen\n# TYPE test_prom_frames_total counter\n")
      expect(text).toContain('test_prom_frames_total{layer="ip\\"v4"} 3\n')
      expect(text).toContain('test_prom_frames_total{layer="udp"} 2\n')
      expect(text).toContain("# TYPE test_prom_connections gauge\n")
      expect(text).toContain('test_prom_connections{state="Established"} 7\n')
      expect(text.match(/# TYPE test_prom_frames_total/g)).toHaveLength(1)
    }))
})
