/**
 * Effect `Metric` snapshots in the Prometheus text exposition format (0.0.4):
 * counters and gauges as samples with their tags as labels, histograms as
 * `_bucket`/`_sum`/`_count`. Used by the HTTP service's `GET /metrics`.
 */
import { Effect, Metric, MetricState } from "effect"
import type * as MetricPair from "effect/MetricPair"

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const validName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_")

const labels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, extra?: string) => {
  const parts = tags.map((t) => `${validName(t.key)}="${escapeLabel(t.value)}"`)
  if (extra !== undefined) parts.push(extra)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

const num = (v: number | bigint) => (typeof v === "bigint" ? v.toString() : Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN")

/** Formats metric pairs as Prometheus text; metrics of one name are grouped under one HELP/TYPE. */
export const format = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const groups = new Map<string, { type: string; help: string | undefined; lines: Array<string> }>()
  for (const pair of pairs) {
    const key = pair.metricKey
    const name = validName(key.name)
    const state = pair.metricState
    const tags = key.tags
    let type: string
    const lines: Array<string> = []
    if (MetricState.isCounterState(state)) {
      type = "counter"
      lines.push(`${name}${labels(tags)} ${num(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      type = "gauge"
      lines.push(`${name}${labels(tags)} ${num(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      type = "histogram"
      for (const [bound, count] of state.buckets) {
        if (!Number.isFinite(bound)) continue // the +Inf bucket is written below
        lines.push(`${name}_bucket${labels(tags, `le="${num(bound)}"`)} ${count}`)
      }
      lines.push(`${name}_bucket${labels(tags, `le="+Inf"`)} ${state.count}`)
      lines.push(`${name}_sum${labels(tags)} ${num(state.sum)}`)
      lines.push(`${name}_count${labels(tags)} ${state.count}`)
    } else if (MetricState.isFrequencyState(state)) {
      type = "counter"
      for (const [value, count] of state.occurrences) {
        lines.push(`${name}${labels(tags, `value="${escapeLabel(value)}"`)} ${count}`)
      }
    } else {
      continue
    }
    let g = groups.get(name)
    if (!g) {
      g = { type, help: key.description._tag === "Some" ? key.description.value : undefined, lines: [] }
      groups.set(name, g)
    }
    g.lines.push(...lines)
  }
  let out = ""
  for (const [name, g] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    if (g.help !== undefined) out += `# HELP ${name} ${escapeHelp(g.help)}\n`
    out += `# TYPE ${name} ${g.type}\n`
    // Samples in a stable order; histogram buckets keep their ascending bounds.
    const lines = g.type === "histogram" ? g.lines : [...g.lines].sort()
    for (const line of lines) out += line + "\n"
  }
  return out
}

/** The current metrics of the Effect runtime, formatted. */
export const render: Effect.Effect<string> = Effect.map(Metric.snapshot, format)
