/**
 * The poll loop: one fiber that reads bursts of frames from the link and runs
 * each through the layers in plain synchronous code, then runs the layers'
 * timers that are due, then waits on the link until a frame or the next timer.
 * It runs under the link's own scheduler when it has one (the TAP's
 * `PollScheduler`), so only the stack's fibers are driven by it.
 */
import { Context, Deferred, Effect, Layer, type Scope } from "effect"
import { Link, type FrameHandler, type LinkDevice, type LinkError } from "../layers/Link.js"
import { Counters } from "./Counters.js"

/** A layer's timers: `pollAt` says when `poll` next has work (Infinity: never). */
export interface Timer {
  readonly pollAt: () => number
  readonly poll: (now: number) => void
}

/** The loop's service: what layers register with, and the stack's clock and counters. */
export interface PollLoopService {
  readonly link: LinkDevice
  readonly counters: Counters
  /** The Clock's time in milliseconds (TestClock in tests). */
  readonly time: () => number
  /** Installs the frame handler (the Ethernet layer's input). */
  readonly unsafeSetFrameHandler: (handler: FrameHandler) => void
  /** Registers a layer's timers for the life of the scope. */
  readonly addTimer: (timer: Timer) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Registers `hook` to run after each burst of received frames (before the
   * timers), for the life of the scope: layers flush work they batched over
   * the burst, such as one TCP ACK for many in-order segments.
   */
  readonly addBurstHook: (hook: () => void) => Effect.Effect<void, never, Scope.Scope>
  /** Makes the loop re-run its timers now (after a timer was armed outside the loop). */
  readonly unsafeWake: () => void
  /** Fails when the loop stopped because the link failed (the TAP vanished). */
  readonly failure: Effect.Effect<never, LinkError>
}

/** The stack's poll loop. */
export class PollLoop extends Context.Tag("isla/PollLoop")<PollLoop, PollLoopService>() {}

const BURST = 64

/** Builds the loop's service (the pump is started by `run`). */
export const make = Effect.gen(function*() {
  const link = yield* Link
  const clock = yield* Effect.clock
  const failed = yield* Deferred.make<never, LinkError>()
  const counters = new Counters()
  const drop = counters.layer("link")
  let handler: FrameHandler = () => drop.drop("no_handler")
  const timers: Array<Timer> = []
  const burstHooks: Array<() => void> = []
  let inLoop = false
  const service: PollLoopService & {
    readonly pump: Effect.Effect<never, LinkError>
  } = {
    link,
    counters,
    time: () => clock.unsafeCurrentTimeMillis(),
    unsafeSetFrameHandler: (h) => {
      handler = h
    },
    addTimer: (timer) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          timers.push(timer)
          if (!inLoop) link.unsafeWake()
        }),
        () =>
          Effect.sync(() => {
            const i = timers.indexOf(timer)
            if (i >= 0) timers.splice(i, 1)
          })
      ),
    addBurstHook: (hook) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          burstHooks.push(hook)
        }),
        () =>
          Effect.sync(() => {
            const i = burstHooks.indexOf(hook)
            if (i >= 0) burstHooks.splice(i, 1)
          })
      ),
    unsafeWake: () => {
      if (!inLoop) link.unsafeWake()
    },
    failure: Deferred.await(failed),
    pump: Effect.suspend(() => {
      const onFrame: FrameHandler = (buffer, offset, length) => {
        counters.framesIn++
        handler(buffer, offset, length)
      }
      const step = Effect.suspend(() => {
        inLoop = true
        let n = link.unsafeReceive(onFrame, BURST)
        if (n === 0 && link.spinMicros !== undefined) {
          const budget = link.spinMicros()
          if (budget > 0) {
            const until = performance.now() + budget / 1000
            do n = link.unsafeReceive(onFrame, BURST)
            while (n === 0 && performance.now() < until)
          }
        }
        if (n > 0) for (let i = 0; i < burstHooks.length; i++) burstHooks[i]!()
        const now = clock.unsafeCurrentTimeMillis()
        let next = Infinity
        for (let i = 0; i < timers.length; i++) {
          const t = timers[i]!
          if (t.pollAt() <= now) t.poll(now)
          const at = t.pollAt()
          if (at < next) next = at
        }
        inLoop = false
        if (link.failure) return Effect.fail(link.failure)
        return link.awaitReadable(n > 0 ? 0 : next - now)
      })
      return Effect.forever(step)
    })
  }
  return { service, failed }
})

/** The loop as a Layer: builds the service and forks the pump into the layer's scope. */
export const layer: Layer.Layer<PollLoop, never, Link> = Layer.scoped(
  PollLoop,
  Effect.gen(function*() {
    const { failed, service } = yield* make
    const link = service.link
    const pump = link.scheduler ? Effect.withScheduler(service.pump, link.scheduler) : service.pump
    yield* Effect.forkScoped(pump.pipe(Effect.catchAll((e) => Deferred.fail(failed, e))))
    return service
  })
)
