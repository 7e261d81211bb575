/**
 * The stack's counters as Effect `Metric`s. The data plane bumps plain
 * counters (no Effect per frame); `sync` publishes what changed since the last
 * call into the metrics below, tagged by layer and reason.
 */
import { Effect, Metric } from "effect"
import type { Counters } from "../runtime/Counters.js"
import type { TcpService } from "./Tcp.js"

/** Frames read from the link. */
export const framesReceived = Metric.counter("isla_frames_received_total", {
  description: "Ethernet frames received from the link"
})
/** Frames written to the link. */
export const framesSent = Metric.counter("isla_frames_sent_total", {
  description: "Ethernet frames sent on the link"
})
/** Packets each layer took in and sent out, tagged `layer` and `direction` (rx, tx). */
export const layerPackets = Metric.counter("isla_packets_total", {
  description: "Packets handled per layer, by direction"
})

/** Protocol events (NDP messages by kind, DAD outcomes, ICMPv6 by type …), tagged `layer` and `event`. */
export const layerEvents = Metric.counter("isla_events_total", {
  description: "Protocol events per layer"
})

/** Frames or packets dropped, tagged `layer` and `reason`. */
export const framesDropped = Metric.counter("isla_frames_dropped_total", {
  description: "Frames or packets dropped, by layer and reason"
})

/** TCP connections by state (a gauge, tagged `state`). */
export const tcpConnections = Metric.gauge("isla_tcp_connections", {
  description: "TCP connections by state"
})
/** TCP segments retransmitted. */
export const tcpRetransmissions = Metric.counter("isla_tcp_retransmissions_total", {
  description: "TCP segments retransmitted"
})
/** Other TCP figures, tagged `event`: fast retransmits, RTO expiries, SACK recoveries, ... */
export const tcpEvents = Metric.counter("isla_tcp_events_total", {
  description: "TCP events by kind"
})

const published = new WeakMap<object, Map<string, number>>()

/** Publishes the TCP layer's figures: connections by state, retransmissions and other events. */
export const syncTcp = (tcp: TcpService): Effect.Effect<void> =>
  Effect.suspend(() => {
    let seen = published.get(tcp)
    if (!seen) {
      seen = new Map()
      published.set(tcp, seen)
    }
    const effects: Array<Effect.Effect<void>> = []
    const byState = tcp.connectionsByState()
    for (const state of STATES) {
      effects.push(Metric.set(tcpConnections.pipe(Metric.tagged("state", state)), byState[state] ?? 0))
    }
    const t = tcp.totals()
    const delta = (key: string, value: number) => {
      const d = value - (seen.get(key) ?? 0)
      seen.set(key, value)
      return d
    }
    // Always present, even at zero (a counter never updated is not in a snapshot).
    const first = !seen.has("retransmits")
    const r = delta("retransmits", t.retransmits)
    if (r > 0 || first) effects.push(Metric.incrementBy(tcpRetransmissions, r))
    for (const k of ["segmentsIn", "segmentsOut", "fastRetransmits", "rtoExpiries", "sackRecoveries", "outOfOrderBytes", "zeroWindowProbes", "challengeAcks"] as const) {
      const d = delta(k, t[k])
      if (d > 0) effects.push(Metric.incrementBy(tcpEvents.pipe(Metric.tagged("event", k)), d))
    }
    return Effect.all(effects, { discard: true })
  })

const STATES = [
  "SynSent",
  "SynReceived",
  "Established",
  "FinWait1",
  "FinWait2",
  "CloseWait",
  "Closing",
  "LastAck",
  "TimeWait"
] as const

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
    const first = !seen.has("rx")
    const rx = delta("rx", counters.framesIn)
    if (rx > 0 || first) effects.push(Metric.incrementBy(framesReceived, rx))
    const tx = delta("tx", counters.framesOut)
    if (tx > 0 || first) effects.push(Metric.incrementBy(framesSent, tx))
    for (const c of counters.layers.values()) {
      for (const dir of ["rx", "tx"] as const) {
        const d = delta(`${dir}:${c.layer}`, c[dir])
        if (d > 0) {
          effects.push(Metric.incrementBy(layerPackets.pipe(Metric.tagged("layer", c.layer), Metric.tagged("direction", dir)), d))
        }
      }
      for (const name in c.events) {
        const d = delta(`event:${c.layer}:${name}`, c.events[name]!)
        if (d > 0) {
          effects.push(Metric.incrementBy(layerEvents.pipe(Metric.tagged("layer", c.layer), Metric.tagged("event", name)), d))
        }
      }
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
