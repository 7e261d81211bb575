/**
 * A discrete-event simulation for Effect programs: a `Clock` whose time moves
 * only when every fiber of the simulation is idle, straight to the earliest
 * pending sleep, and the `Scheduler` that knows when they are idle (it runs
 * all their tasks from one FIFO queue). Same program, same seed: same run.
 *
 * Why not TestClock: `TestClock.adjust` waits until all fibers are suspended
 * by polling with `setTimeout(0)` (>= 1 ms each, three or more per adjust),
 * so a simulation of thousands of events spends most of its time idle; here
 * quiescence is exact and costs nothing.
 */
import { Clock, Duration, Effect, Scheduler, TestClock } from "effect"

interface Sleeper {
  readonly at: number
  readonly order: number
  resume: (() => void) | undefined
}

/** The simulated clock: sleeps wait in a heap until the scheduler finds the simulation idle. */
export class SimClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  /** Current time, ms. */
  now = 0
  private heap: Array<Sleeper> = []
  private order = 0
  private cancelled = 0

  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  readonly currentTimeMillis = Effect.sync(() => this.now)
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1_000_000))
  }
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const millis = Duration.toMillis(duration)
    return Effect.async<void>((resume) => {
      if (millis === Infinity) return
      // A zero sleep (Duration keeps whole nanoseconds, so also any wait under
      // 0.5 ns) waits for the clock to move, as it would on a real clock:
      // resumed at once, a poll loop asking to wait for a timer a fraction
      // of a nanosecond away would spin without time ever passing.
      const s: Sleeper = { at: this.now + Math.max(0, millis), order: this.order++, resume: () => resume(Effect.void) }
      this.push(s)
      return Effect.sync(() => {
        if (s.resume !== undefined) {
          s.resume = undefined
          if (++this.cancelled > 1024 && this.cancelled * 2 > this.heap.length) this.compact()
        }
      })
    })
  }

  /** When the next live sleep ends; Infinity when none. */
  nextDeadline(): number {
    this.dropCancelled()
    return this.heap.length > 0 ? this.heap[0]!.at : Infinity
  }

  /** Moves time to the next deadline and wakes every sleeper due then; false when none is left. */
  advance(): boolean {
    const at = this.nextDeadline()
    if (at === Infinity) return false
    // Time always moves (by 1 ns at least) when the simulation goes idle.
    this.now = Math.max(at, this.now + 1e-6)
    while (this.heap.length > 0 && this.heap[0]!.at <= this.now) {
      const s = this.pop()
      const r = s.resume
      if (r !== undefined) {
        s.resume = undefined
        r()
      } else this.cancelled--
    }
    return true
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.resume === undefined) {
      this.pop()
      this.cancelled--
    }
  }

  private compact(): void {
    const live = this.heap.filter((s) => s.resume !== undefined)
    live.sort((a, b) => this.before(a, b) ? -1 : 1)
    this.heap = live
    this.cancelled = 0
  }

  private before(a: Sleeper, b: Sleeper): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order)
  }

  private push(s: Sleeper): void {
    const h = this.heap
    let i = h.length
    h.push(s)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(s, h[p]!)) break
      h[i] = h[p]!
      i = p
    }
    h[i] = s
  }

  private pop(): Sleeper {
    const h = this.heap
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && this.before(h[r]!, h[l]!) ? r : l
        if (!this.before(h[c]!, last)) break
        h[i] = h[c]!
        i = c
      }
      h[i] = last
    }
    return top
  }
}

/**
 * Runs every task of the simulation's fibers from one FIFO queue; when the
 * queue runs dry the simulation is idle and the clock advances. Drains start
 * from `setImmediate` so the event loop (vitest's own timers) keeps its turn.
 */
export class SimScheduler implements Scheduler.Scheduler {
  private queue: Array<Scheduler.Task> = []
  private head = 0
  private running = false
  /** Clock advances so far (simulated events). */
  steps = 0
  /** Tasks run so far. */
  tasks = 0
  /** Set when the simulated program ended: time stops (tasks still run). */
  stopped = false
  /** Called when every fiber waits and no sleep is pending: nothing can ever happen again. */
  onDeadlock: (() => void) | undefined = undefined

  constructor(readonly clock: SimClock, readonly batch = 50_000) {}

  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]): number | false {
    return Scheduler.defaultShouldYield(fiber)
  }

  scheduleTask(task: Scheduler.Task): void {
    this.queue.push(task)
    if (!this.running) {
      this.running = true
      setImmediate(this.drain)
    }
  }

  private readonly drain = (): void => {
    for (let n = 0; n < this.batch; n++) {
      if (this.head === this.queue.length) {
        this.queue = []
        this.head = 0
        // Idle: every fiber is waiting. Jump to the next event that wakes one, if any.
        while (this.head === this.queue.length) {
          if (this.stopped || !this.clock.advance()) {
            this.running = false
            const deadlock = this.stopped ? undefined : this.onDeadlock
            this.onDeadlock = undefined
            deadlock?.()
            return
          }
          this.steps++
        }
      }
      const task = this.queue[this.head++]!
      this.tasks++
      task()
    }
    if (this.head > 4096) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    setImmediate(this.drain)
  }
}

/** A fresh simulation: its clock and scheduler. */
export const make = () => {
  const clock = new SimClock()
  const scheduler = new SimScheduler(clock)
  return { clock, scheduler }
}

/**
 * Runs `effect` inside a fresh simulation (its fibers inherit the clock and
 * scheduler). A deadlock (every fiber waiting, no sleep pending) is a defect
 * rather than a hang.
 */
export const run = <A, E, R>(
  effect: (sim: ReturnType<typeof make>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const sim = make()
    const deadlock = Effect.async<never>((resume) => {
      sim.scheduler.onDeadlock = () =>
        resume(Effect.dieMessage(`simulation deadlock at ${sim.clock.now} ms: every fiber waits, no timer is pending`))
    })
    return Effect.raceFirst(effect(sim), deadlock).pipe(
      Effect.ensuring(Effect.sync(() => {
        sim.scheduler.stopped = true
      })),
      Effect.withClock(sim.clock),
      Effect.withScheduler(sim.scheduler)
    )
  })

/**
 * For runs under TestClock instead of `run`: once every fiber has run, jump
 * TestClock to the earliest pending sleep (a timer, a delayed frame).
 * Forever; fork it.
 */
export const driveTestClock = Effect.forever(
  Effect.gen(function*() {
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
    const sleeps = yield* TestClock.sleeps()
    const now = yield* Clock.currentTimeMillis
    let next = Infinity
    for (const t of sleeps) if (t < next) next = t
    yield* TestClock.adjust(Number.isFinite(next) ? Math.max(1, next - now) : 1)
  })
)
