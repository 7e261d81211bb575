/**
 * Plain counters the data plane bumps per frame (a property increment, no
 * Effect run), published as Effect `Metric`s by `StackMetrics.sync`.
 */

/** Frames in/out, drops by reason and named events (NS sent, DAD done, …) for one layer. */
export class LayerCounters {
  rx = 0
  tx = 0
  readonly drops: Record<string, number> = Object.create(null)
  readonly events: Record<string, number> = Object.create(null)
  constructor(readonly layer: string) {}

  /** Counts one protocol event that is not a drop (a message sent or received by kind, a state change). */
  event(name: string): void {
    this.events[name] = (this.events[name] ?? 0) + 1
  }

  /** Counts one dropped frame or packet. */
  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1
  }

  /** Total drops over all reasons. */
  get dropped(): number {
    let n = 0
    for (const k in this.drops) n += this.drops[k]!
    return n
  }
}

/** All layers' counters of one stack. */
export class Counters {
  readonly layers = new Map<string, LayerCounters>()
  /** Frames read from the link. */
  framesIn = 0
  /** Frames written to the link. */
  framesOut = 0

  /** The counters of `layer`, created on first use. */
  layer(name: string): LayerCounters {
    let c = this.layers.get(name)
    if (!c) {
      c = new LayerCounters(name)
      this.layers.set(name, c)
    }
    return c
  }

  /** Total drops over all layers. */
  get dropped(): number {
    let n = 0
    for (const c of this.layers.values()) n += c.dropped
    return n
  }

  /** One line: `frames in=… out=… dropped=… (layer/reason=n, …)`. */
  summary(): string {
    const parts: Array<string> = []
    for (const c of this.layers.values()) {
      for (const reason in c.drops) parts.push(`${c.layer}/${reason}=${c.drops[reason]}`)
    }
    return `frames in=${this.framesIn} out=${this.framesOut} dropped=${this.dropped}` +
      (parts.length > 0 ? ` (${parts.join(", ")})` : "")
  }
}
