/**
 * NewReno congestion control (RFC 5681, RFC 6582) with appropriate byte
 * counting (RFC 3465), and `AimdControl`, the part every loss-based
 * controller shares: slow start, fast recovery, RTO and idle restart. `Cubic`
 * builds on it with its own growth and decrease. Windows are in bytes.
 */
import type { CongestionControl, CongestionControlName } from "./congestion.js"

/** RFC 6928 §2: the initial window, min(10·MSS, max(2·MSS, 14600)) bytes. */
export const initialWindow = (mss: number): number => Math.min(10 * mss, Math.max(2 * mss, 14_600))

/** Largest window held, in bytes: 2^30, the most a peer can advertise (RFC 7323 §2.3). */
export const MAX_WINDOW = 2 ** 30

/** RFC 9293 §3.7.1: the MSS assumed when none is known. */
const DEFAULT_MSS = 536
const MAX_MSS = 65_535
/** Byte counts past 2^31 cannot occur in sequence space; larger inputs are clamped. */
const MAX_BYTES = 2 ** 31

/** A byte count from the caller as a number in [0, 2^31]; anything else is 0. */
const byteCount = (value: number): number => (value > 0 ? Math.min(value, MAX_BYTES) : 0) // NaN > 0 is false

const validMss = (mss: number): boolean => Number.isFinite(mss) && mss >= 1

/**
 * The RFC 5681 machinery shared by loss-based controllers; a subclass says
 * how the window grows in congestion avoidance (`avoid`) and where ssthresh
 * goes on a loss (`reduce`). The window is kept fractional, `cwnd` reports
 * whole bytes, and it stays within [1 MSS, `MAX_WINDOW`] whatever the input.
 */
export abstract class AimdControl implements CongestionControl {
  abstract readonly name: CongestionControlName

  protected mssBytes: number
  /** The congestion window in bytes, possibly fractional. */
  protected window: number
  protected threshold = Infinity
  protected recovering = false
  private recoveryPoint = 0
  /** Nothing happened yet: a new MSS may still pick the initial window afresh. */
  private pristine = true
  /** Retransmission timeouts since new data was last acknowledged. */
  private timeouts = 0

  constructor(mss: number) {
    this.mssBytes = validMss(mss) ? Math.min(MAX_MSS, Math.floor(mss)) : DEFAULT_MSS
    this.window = initialWindow(this.mssBytes)
  }

  /** Congestion window in whole bytes. */
  get cwnd(): number {
    return Math.floor(this.window)
  }

  /** Slow start threshold in bytes (Infinity until the first loss). */
  get ssthresh(): number {
    return this.threshold
  }

  /** Fast recovery is in progress. */
  get inRecovery(): boolean {
    return this.recovering
  }

  /** The sender's MSS in bytes. */
  get mss(): number {
    return this.mssBytes
  }

  /** The `recoverSeq` given to the latest `onEnterRecovery` (RFC 6582's "recover"). */
  get recoverSeq(): number {
    return this.recoveryPoint
  }

  setMss(mss: number): void {
    if (!validMss(mss)) return
    const next = Math.min(MAX_MSS, Math.floor(mss))
    const previous = this.mssBytes
    if (next === previous) return
    this.mssBytes = next
    if (this.pristine) {
      // Before any data moved (the handshake settles the MSS), RFC 6928's IW for the real MSS.
      this.window = initialWindow(next)
    } else {
      // Like Linux, which counts the window in segments: a path MTU change keeps the segment count.
      this.window = (this.window / previous) * next
      if (this.threshold !== Infinity) {
        this.threshold = Math.min(MAX_WINDOW, Math.max(2 * next, Math.floor((this.threshold / previous) * next)))
      }
    }
    this.clampWindow()
  }

  onAck(ackedBytes: number, now: number, _rttMillis: number | undefined, bytesInFlight: number): void {
    const acked = byteCount(ackedBytes)
    if (acked === 0) return
    this.pristine = false
    this.timeouts = 0
    if (this.recovering) return
    const mss = this.mssBytes
    // The flight before this ACK, to tell whether the sender filled the window.
    const priorFlight = byteCount(bytesInFlight) + acked
    let left = acked
    if (this.window < this.threshold) {
      // Slow start grows while the window is used, as Linux's tcp_is_cwnd_limited (cwnd < 2·flight).
      if (this.window >= 2 * priorFlight) return this.appLimited(now)
      // RFC 3465 §2.2: at most L = 2·SMSS per ACK; RFC 5681 §3.1: up to ssthresh.
      const grow = Math.min(left, 2 * mss, this.threshold - this.window)
      this.window += grow
      left -= grow
      if (this.window < this.threshold || left <= 0) return this.clampWindow()
    } else if (priorFlight + mss <= this.window) {
      // RFC 9438 §5.8, RFC 7661: no growth while application-limited.
      return this.appLimited(now)
    }
    this.avoid(left, now)
    this.clampWindow()
  }

  onEnterRecovery(now: number, bytesInFlight: number, recoverSeq: number): void {
    if (this.recovering) return // RFC 6582 §3.2 step 2: one reduction per window of data
    this.pristine = false
    this.recovering = true
    this.recoveryPoint = recoverSeq >>> 0
    this.reduce(now, byteCount(bytesInFlight))
    // RFC 5681 §3.2 step 3: inflate by the three segments the duplicate ACKs say have left.
    this.window = this.threshold + 3 * this.mssBytes
    this.clampWindow()
  }

  onDupAck(): void {
    if (!this.recovering) return
    // RFC 5681 §3.2 step 4.
    this.window += this.mssBytes
    this.clampWindow()
  }

  onPartialAck(ackedBytes: number): void {
    if (!this.recovering) return
    const acked = byteCount(ackedBytes)
    // RFC 6582 §3.2 step 5: deflate by what was acked; add back one SMSS if at least that much was.
    this.window = this.window - acked + (acked >= this.mssBytes ? this.mssBytes : 0)
    this.clampWindow()
  }

  onExitRecovery(_now: number): void {
    if (!this.recovering) return
    this.recovering = false
    // RFC 6582 §3.2 step 6, option (2): deflate to ssthresh.
    this.window = this.threshold
    this.clampWindow()
  }

  onRetransmitTimeout(now: number, bytesInFlight: number): void {
    this.pristine = false
    this.recovering = false
    // RFC 5681 §3.1: ssthresh is held when the data has already been resent by the timer.
    if (this.timeouts === 0) this.reduceOnTimeout(now, byteCount(bytesInFlight))
    this.timeouts++
    // RFC 5681 §3.1: the loss window, one segment.
    this.window = this.mssBytes
    this.restart(now)
  }

  onIdle(now: number): void {
    // RFC 5681 §4.1: the restart window, min(IW, cwnd).
    this.window = Math.min(this.window, initialWindow(this.mssBytes))
    this.clampWindow()
    this.restart(now)
  }

  /** Congestion avoidance: `ackedBytes` more bytes acknowledged at or above ssthresh. */
  protected abstract avoid(ackedBytes: number, now: number): void

  /** A loss: set `threshold` from the flight and forget the growth state. */
  protected abstract reduce(now: number, bytesInFlight: number): void

  /** The first RTO for some data; by default the same reduction as a loss. */
  protected reduceOnTimeout(now: number, bytesInFlight: number): void {
    this.reduce(now, bytesInFlight)
  }

  /** An ACK that did not grow the window because the sender is not using it. */
  protected appLimited(_now: number): void {}

  /** The window was cut back to IW or 1 MSS (idle restart, RTO). */
  protected restart(_now: number): void {}

  /** Keeps the invariant 1 MSS ≤ window ≤ MAX_WINDOW, even against bad arithmetic. */
  private clampWindow(): void {
    const w = this.window
    this.window = Number.isNaN(w) ? this.mssBytes : Math.min(MAX_WINDOW, Math.max(this.mssBytes, w))
  }
}

/** NewReno: RFC 5681 AIMD halving on loss, RFC 6582 recovery, RFC 3465 byte counting. */
export class NewReno extends AimdControl {
  readonly name = "newreno" as const

  /** RFC 3465 §2.1's bytes_acked in congestion avoidance. */
  private credit = 0

  protected override avoid(ackedBytes: number): void {
    // RFC 3465 §2.1: one SMSS per cwnd of bytes acknowledged, about 1 MSS per RTT.
    this.credit += ackedBytes
    if (this.credit < this.window) return
    const steps = Math.floor(this.credit / this.window)
    this.credit -= steps * this.window
    this.window += steps * this.mssBytes
  }

  protected override reduce(_now: number, bytesInFlight: number): void {
    // RFC 5681 §3.1 eq. (4): ssthresh = max(FlightSize / 2, 2·SMSS).
    this.threshold = Math.min(MAX_WINDOW, Math.max(Math.floor(bytesInFlight / 2), 2 * this.mssBytes))
    this.credit = 0
  }

  protected override restart(): void {
    this.credit = 0
  }
}
