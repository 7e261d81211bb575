/**
 * A binary min-heap of (deadline, item) for many per-connection timers: the
 * poll loop asks `peek()` for the next deadline and `popDue(now)` for what
 * fired. Entries are never removed early; a caller whose deadline moved keeps
 * its own "scheduled at" and ignores stale pops (lazy deletion).
 */

/** A min-heap of deadlines carrying items. */
export class TimerHeap<T> {
  private readonly at: Array<number> = []
  private readonly items: Array<T> = []

  get size(): number {
    return this.at.length
  }

  /** The earliest deadline, or Infinity. */
  peek(): number {
    return this.at.length > 0 ? this.at[0]! : Infinity
  }

  push(deadline: number, item: T): void {
    const at = this.at
    const items = this.items
    let i = at.length
    at.push(deadline)
    items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (at[parent]! <= deadline) break
      at[i] = at[parent]!
      items[i] = items[parent]!
      i = parent
    }
    at[i] = deadline
    items[i] = item
  }

  /** Removes and returns the earliest item when its deadline is ≤ now. */
  popDue(now: number): { readonly deadline: number; readonly item: T } | undefined {
    if (this.at.length === 0 || this.at[0]! > now) return undefined
    const deadline = this.at[0]!
    const item = this.items[0]!
    const lastAt = this.at.pop()!
    const lastItem = this.items.pop()!
    const n = this.at.length
    if (n > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && this.at[r]! < this.at[l]! ? r : l
        if (this.at[c]! >= lastAt) break
        this.at[i] = this.at[c]!
        this.items[i] = this.items[c]!
        i = c
      }
      this.at[i] = lastAt
      this.items[i] = lastItem
    }
    return { deadline, item }
  }
}
