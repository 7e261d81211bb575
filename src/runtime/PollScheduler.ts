/**
 * The stack's own fiber scheduler and idle policy. Tasks of the fibers that run
 * under it (the poll loop and its children) are drained in microtasks, with a
 * `setImmediate` every few drains so Node's event loop (timers, signals, the
 * user's fibers) always gets its turn; Effect's default scheduler would fall
 * back to `setTimeout(0)`, ≥ 1 ms, after 2048 chained microtasks.
 *
 * `awaitReadable` is where the loop waits when a poll found nothing, with a
 * ladder by time since the last frame: spin (poll again at once), yield (one
 * `setImmediate`), micro-sleep (`ppoll` for ~50 µs), park (a koffi async
 * `poll` on the fd and an eventfd, zero CPU until a frame, a wake or the next
 * timer). `spin` mode never sleeps or parks.
 */
import { Effect, type Scheduler } from "effect"
import { C, libc } from "./Libc.js"

/** How the poll loop waits. */
export type PollMode = "adaptive" | "spin"

/** Thresholds of the adaptive ladder, by time since the last frame. */
export interface PollPolicy {
  readonly mode: PollMode
  /** Spin (re-poll at once) this long after the last frame. */
  readonly spinMicros: number
  /** Then yield to the event loop between polls until this much idle time. */
  readonly yieldMillis: number
  /** Then micro-sleep with ppoll until this much idle time; park after. */
  readonly sleepMillis: number
  /** The micro-sleep length. */
  readonly microSleepMicros: number
  /** After this much idle time the micro-sleep lengthens to `longSleepMicros`. */
  readonly longSleepAfterMillis: number
  /**
   * The longer micro-sleep. A ppoll returns as soon as a frame arrives, so its
   * length costs frames no latency; it only bounds how long other JavaScript
   * waits, and it makes a stray frame on a quiet link cost far less CPU.
   */
  readonly longSleepMicros: number
  /** The longest single park (a safety net; timers and wakes end it sooner). */
  readonly maxParkMillis: number
}

/** The default ladder: spin 200 µs, yield to 2 ms, micro-sleep (50 µs, then 500 µs after 10 ms) to 30 ms, then park. */
export const defaultPolicy = (mode: PollMode): PollPolicy => ({
  mode,
  spinMicros: 200,
  yieldMillis: 2,
  sleepMillis: 30,
  microSleepMicros: 50,
  longSleepAfterMillis: 10,
  longSleepMicros: 500,
  maxParkMillis: 1000
})

/** The longest busy-poll inside one poll-loop step. */
const SPIN_SLICE_MICROS = 50

/** How many microtask drains in a row before one goes through setImmediate. */
const HOT_DRAINS = 64

/** Counts of how the loop waited, for tests and benchmarks. */
export interface PollStats {
  spins: number
  yields: number
  sleeps: number
  parks: number
  wakes: number
}

/** A `Scheduler` for the stack's fibers plus the idle ladder over one fd. */
export class PollScheduler implements Scheduler.Scheduler {
  readonly stats: PollStats = { spins: 0, yields: 0, sleeps: 0, parks: 0, wakes: 0 }
  /** Set by the link on every frame in or out; read (and cleared) when idle. */
  activity = true
  private lastActivity = performance.now()
  private tasks: Array<Scheduler.Task> = []
  private drainPending = false
  private hotDrains = 0
  private parked = false
  private woken = false
  private inFlight: Promise<void> | undefined
  private readonly pollFds: Uint8Array
  private readonly timespec: BigInt64Array
  private readonly longTimespec: BigInt64Array
  private readonly wakeValue = new BigUint64Array([1n])
  private readonly wakeBytes: Uint8Array
  private readonly drainBuf = new Uint8Array(8)

  constructor(
    readonly fd: number,
    readonly eventFd: number,
    readonly policy: PollPolicy
  ) {
    // struct pollfd { int fd; short events; short revents; } × 2
    this.pollFds = new Uint8Array(16)
    const dv = new DataView(this.pollFds.buffer)
    dv.setInt32(0, fd, true)
    dv.setInt16(4, C.POLLIN, true)
    dv.setInt32(8, eventFd, true)
    dv.setInt16(12, C.POLLIN, true)
    this.timespec = new BigInt64Array([0n, BigInt(policy.microSleepMicros * 1000)])
    this.longTimespec = new BigInt64Array([0n, BigInt(policy.longSleepMicros * 1000)])
    this.wakeBytes = new Uint8Array(this.wakeValue.buffer)
  }

  shouldYield(fiber: { currentOpCount: number }): number | false {
    return fiber.currentOpCount > 2048 ? 0 : false
  }

  scheduleTask(task: Scheduler.Task, _priority: number): void {
    this.tasks.push(task)
    if (this.parked) this.wake()
    if (this.drainPending) return
    this.drainPending = true
    if (this.hotDrains < HOT_DRAINS) {
      this.hotDrains++
      queueMicrotask(this.drain)
    } else {
      setImmediate(this.drainFromLoop)
    }
  }

  private readonly drainFromLoop = (): void => {
    this.hotDrains = 0
    this.drain()
  }

  private readonly drain = (): void => {
    this.drainPending = false
    const tasks = this.tasks
    this.tasks = []
    for (let i = 0; i < tasks.length; i++) tasks[i]!()
  }

  /** Makes a park end now (safe from any state; cheap when not parked). */
  wake(): void {
    if (!this.parked || this.woken) return
    this.woken = true
    this.stats.wakes++
    libc().write(this.eventFd, this.wakeBytes, 8)
  }

  /**
   * How long the poll loop should busy-poll the fd right now before going
   * back through Effect (µs): a slice while on the spin rung, else 0. Spinning
   * inside one step instead of one fiber turn per empty read keeps the
   * allocation rate, and so the garbage collector, near zero.
   */
  spinMicros(): number {
    const p = this.policy
    if (p.mode === "spin") return SPIN_SLICE_MICROS
    if (this.activity) return SPIN_SLICE_MICROS
    return (performance.now() - this.lastActivity) * 1000 < p.spinMicros ? SPIN_SLICE_MICROS : 0
  }

  /**
   * Waits for the fd to be readable or `timeoutMillis`, by the ladder. The
   * rung is chosen when this is called (the poll loop runs the result at
   * once); the spin rung is a preallocated effect so a busy loop allocates
   * next to nothing and does not wake the garbage collector.
   */
  awaitReadable(timeoutMillis: number): Effect.Effect<void> {
    const now = performance.now()
    if (this.activity) {
      this.activity = false
      this.lastActivity = now
    }
    const idle = now - this.lastActivity
    const p = this.policy
    if (p.mode === "spin" || idle * 1000 < p.spinMicros || timeoutMillis <= 0) {
      this.stats.spins++
      return this.spinEffect
    }
    if (idle < p.yieldMillis) {
      this.stats.yields++
      return this.yieldEffect
    }
    if (idle < p.sleepMillis || timeoutMillis * 1000 <= p.microSleepMicros) {
      this.stats.sleeps++
      return idle < p.longSleepAfterMillis || timeoutMillis * 1000 <= p.longSleepMicros ? this.sleepEffect : this.longSleepEffect
    }
    this.stats.parks++
    return this.park(Math.min(timeoutMillis, p.maxParkMillis))
  }

  private readonly spinEffect: Effect.Effect<void> = Effect.yieldNow()

  private readonly yieldEffect: Effect.Effect<void> = Effect.async<void>((resume) => {
    setImmediate(() => {
      this.hotDrains = 0
      resume(Effect.void)
    })
  })

  private readonly longSleepEffect: Effect.Effect<void> = Effect.async<void>((resume) => {
    setImmediate(() => {
      this.hotDrains = 0
      libc().ppoll(this.pollFds, 1, this.longTimespec, null)
      resume(Effect.void)
    })
  })

  private readonly sleepEffect: Effect.Effect<void> = Effect.async<void>((resume) => {
    setImmediate(() => {
      this.hotDrains = 0
      libc().ppoll(this.pollFds, 1, this.timespec, null)
      resume(Effect.void)
    })
  })

  private park(timeoutMillis: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      this.parked = true
      this.woken = false
      const timeout = Math.max(0, Math.ceil(timeoutMillis))
      this.inFlight = new Promise<void>((done) => {
        libc().pollAsync(this.pollFds, 2, timeout, () => {
          this.parked = false
          if (this.woken) libc().read(this.eventFd, this.drainBuf, 8)
          this.woken = false
          this.hotDrains = 0
          this.inFlight = undefined
          done()
          resume(Effect.void)
        })
      })
      // Interrupted while parked: end the poll so the fds can be closed.
      return Effect.sync(() => this.wake())
    })
  }

  /** Ends a park in flight and waits for the poll call to return (before closing fds). */
  quiesce(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const inFlight = this.inFlight
      if (!inFlight) return Effect.void
      this.wake()
      return Effect.promise(() => inFlight).pipe(Effect.timeout("2 seconds"), Effect.ignore)
    })
  }
}
