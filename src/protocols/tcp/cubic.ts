/**
 * CUBIC congestion control (RFC 9438), Isla's default: the window follows a
 * cubic function of the time since the last loss, plateauing at the window
 * where that loss happened (W_max), with a Reno-friendly floor. Slow start,
 * recovery and RTO come from `AimdControl` (RFC 5681); windows are in bytes
 * outside and in segments inside, as the RFC writes them.
 */
import { AimdControl, MAX_WINDOW } from "./newreno.js"

/** RFC 9438 §5.1: C, in segments / s³. */
export const CUBIC_C = 0.4
/** RFC 9438 §4.6: β_cubic, the multiplicative decrease factor. */
export const CUBIC_BETA = 0.7
/** RFC 9438 §4.3: α_cubic = 3·(1 − β)/(1 + β), Reno-friendly growth per RTT in segments. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA)

/** RFC 9438 eq. 2: K, the seconds to grow from `cwndEpoch` back to `wMax` (both in segments). */
export const cubicK = (wMax: number, cwndEpoch: number): number =>
  wMax <= cwndEpoch ? 0 : Math.cbrt((wMax - cwndEpoch) / CUBIC_C)

/** RFC 9438 eq. 1: W_cubic(t) = C·(t − K)³ + W_max, in segments, `t` in seconds. */
export const cubicWindow = (t: number, k: number, wMax: number): number => {
  const d = t - k
  return CUBIC_C * d * d * d + wMax
}

/** CUBIC per RFC 9438, with fast convergence (§4.7) and the Reno-friendly region (§4.3). */
export class Cubic extends AimdControl {
  readonly name = "cubic" as const

  // All in segments, except times.
  private maxWindow = 0
  /** cwnd before the latest reduction (RFC 9438 §4.6's cwnd_prior). */
  private priorWindow = 0
  private kSeconds = 0
  /** t_epoch in ms: the start of the current congestion avoidance stage; undefined before it starts. */
  private epochStart: number | undefined = undefined
  private lastAckAt = 0
  /** RFC 9438 §4.3's W_est and α. */
  private renoWindow = 0
  private renoAlpha = CUBIC_ALPHA
  private rttMillis = 0

  /** W_max in bytes: the window CUBIC plateaus at (0 before the first loss). */
  get wMax(): number {
    return this.maxWindow * this.mssBytes
  }

  /** K in seconds for the current epoch (RFC 9438 eq. 2). */
  get k(): number {
    return this.kSeconds
  }

  /** The start of the current congestion avoidance epoch in ms; undefined outside one. */
  get epochStartedAt(): number | undefined {
    return this.epochStart
  }

  override onAck(ackedBytes: number, now: number, rttMillis: number | undefined, bytesInFlight: number): void {
    // RFC 9438 §4.2 uses the smoothed RTT; the caller passes it (or its min RTT).
    if (rttMillis !== undefined && Number.isFinite(rttMillis) && rttMillis >= 0) this.rttMillis = rttMillis
    super.onAck(ackedBytes, now, rttMillis, bytesInFlight)
  }

  protected override avoid(ackedBytes: number, now: number): void {
    if (!Number.isFinite(now)) return
    if (this.epochStart === undefined) this.startEpoch(now)
    this.lastAckAt = now
    const mss = this.mssBytes
    const cwnd = this.window / mss
    const acked = ackedBytes / mss
    const t = Math.max(0, now - this.epochStart!) / 1000

    // RFC 9438 §4.3: the window Reno would have (AIMD with α_cubic), α = 1 once back at cwnd_prior.
    this.renoWindow = Math.min(MAX_WINDOW / mss, this.renoWindow + (this.renoAlpha * acked) / cwnd)
    if (this.renoWindow >= this.priorWindow) this.renoAlpha = 1

    let next: number
    if (cubicWindow(t, this.kSeconds, this.maxWindow) < this.renoWindow) {
      // Reno-friendly region: at least as fast as Reno.
      next = Math.max(cwnd, this.renoWindow)
    } else {
      // RFC 9438 §4.4/§4.5: aim at W_cubic one RTT ahead, within [cwnd, 1.5·cwnd] (§4.2).
      const ahead = cubicWindow(t + this.rttMillis / 1000, this.kSeconds, this.maxWindow)
      const target = Math.min(1.5 * cwnd, Math.max(cwnd, ahead))
      next = Math.min(target, cwnd + ((target - cwnd) / cwnd) * acked)
    }
    this.window = next * mss
  }

  protected override reduce(_now: number, bytesInFlight: number): void {
    const mss = this.mssBytes
    const cwnd = this.window / mss
    // RFC 9438 §4.7: fast convergence; a flow losing below its last W_max gives some up.
    this.maxWindow = cwnd < this.maxWindow ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd
    this.priorWindow = cwnd
    // RFC 9438 §4.6: ssthresh = flight_size · β_cubic, at least 2 segments.
    this.threshold = Math.min(MAX_WINDOW, Math.max(Math.floor(bytesInFlight * CUBIC_BETA), 2 * mss))
    this.epochStart = undefined
  }

  protected override reduceOnTimeout(now: number, bytesInFlight: number): void {
    this.reduce(now, bytesInFlight)
    // RFC 9438 §4.8: the first congestion avoidance after an RTO uses K = 0 and
    // W_max = the window at its start (`startEpoch` does that when W_max is 0).
    this.maxWindow = 0
  }

  protected override appLimited(now: number): void {
    // RFC 9438 §5.8: time spent not using the window does not count toward t.
    if (this.epochStart !== undefined && Number.isFinite(now) && now > this.lastAckAt) {
      this.epochStart += now - this.lastAckAt
      this.lastAckAt = now
    }
  }

  protected override restart(): void {
    this.epochStart = undefined
  }

  private startEpoch(now: number): void {
    const cwnd = this.window / this.mssBytes
    this.epochStart = now
    this.lastAckAt = now
    // RFC 9438 §4.2 eq. 2; with W_max at or below cwnd (none yet, or after an RTO) the curve starts here.
    if (this.maxWindow <= cwnd) this.maxWindow = cwnd
    this.kSeconds = cubicK(this.maxWindow, cwnd)
    // RFC 9438 §4.3: W_est starts at cwnd_epoch.
    this.renoWindow = cwnd
    this.renoAlpha = cwnd >= this.priorWindow ? 1 : CUBIC_ALPHA
  }
}
