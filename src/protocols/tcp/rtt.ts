/**
 * The retransmission timer's value per RFC 6298: a smoothed RTT and its
 * variation from RTT samples, the RTO derived from them, and its exponential
 * backoff. Pure arithmetic on milliseconds; the caller owns the timer itself.
 */

/** Bounds and start value of an `RttEstimator`; every field has a default. */
export interface RttEstimatorOptions {
  /** RTO before the first sample (default 1000 ms, RFC 6298 §2.1). */
  readonly initialRtoMillis?: number
  /**
   * Lowest RTO (default 200 ms, Linux's TCP_RTO_MIN). RFC 6298 §2.4 asks for
   * 1 s; like Linux, FreeBSD (30 ms) and Windows (300 ms) we go lower, since
   * 1 s stalls every loss on a LAN for far longer than the path needs.
   */
  readonly minRtoMillis?: number
  /** Highest RTO, also the cap of the backoff (default 60 s, RFC 6298 §2.5). */
  readonly maxRtoMillis?: number
  /** Clock granularity G (default 1 ms, RFC 6298 §2). */
  readonly granularityMillis?: number
}

// RFC 6298 §2.3: α = 1/8, β = 1/4, K = 4.
const ALPHA = 1 / 8
const BETA = 1 / 4
const K = 4

const option = (value: number | undefined, fallback: number): number =>
  value === undefined || !Number.isFinite(value) || value < 0 ? fallback : value

/**
 * SRTT, RTTVAR and RTO of one connection (RFC 6298 §2). Karn's rule
 * (RFC 6298 §3) is the caller's job: feed `sample` only RTTs of segments that
 * were never retransmitted, unless they come from timestamps (RFC 7323 §4),
 * which tell an original from its retransmission.
 */
export class RttEstimator {
  /** Lowest RTO in ms. */
  readonly minRtoMillis: number
  /** Highest RTO in ms. */
  readonly maxRtoMillis: number
  /** Clock granularity G in ms. */
  readonly granularityMillis: number

  private smoothed: number | undefined = undefined
  private variation: number | undefined = undefined
  /** The RTO of §2 before any backoff. */
  private baseRto: number
  /** `baseRto` doubled once per backoff, capped. */
  private currentRto: number
  private backoffs = 0

  constructor(options: RttEstimatorOptions = {}) {
    this.minRtoMillis = option(options.minRtoMillis, 200)
    this.maxRtoMillis = Math.max(this.minRtoMillis, option(options.maxRtoMillis, 60_000))
    this.granularityMillis = option(options.granularityMillis, 1)
    this.baseRto = this.clamp(option(options.initialRtoMillis, 1000))
    this.currentRto = this.baseRto
  }

  /** The retransmission timeout in ms, backoff included. */
  get rto(): number {
    return this.currentRto
  }

  /** Smoothed RTT in ms; undefined before the first sample. */
  get srtt(): number | undefined {
    return this.smoothed
  }

  /** RTT variation in ms; undefined before the first sample. */
  get rttvar(): number | undefined {
    return this.variation
  }

  /** Backoffs since the last sample or `resetBackoff`. */
  get backoffCount(): number {
    return this.backoffs
  }

  /**
   * Takes one RTT measurement in ms (ignored unless finite and ≥ 0). The new
   * RTO replaces a backed-off one: RFC 6298 §5's "collapsing" after a backoff.
   */
  sample(rttMillis: number): void {
    if (!Number.isFinite(rttMillis) || rttMillis < 0) return
    const srtt = this.smoothed
    const rttvar = this.variation
    if (srtt === undefined || rttvar === undefined) {
      // RFC 6298 §2.2: the first measurement.
      this.smoothed = rttMillis
      this.variation = rttMillis / 2
    } else {
      // RFC 6298 §2.3: RTTVAR first, from the old SRTT.
      this.variation = (1 - BETA) * rttvar + BETA * Math.abs(srtt - rttMillis)
      this.smoothed = (1 - ALPHA) * srtt + ALPHA * rttMillis
    }
    this.baseRto = this.clamp(this.smoothed + Math.max(this.granularityMillis, K * this.variation))
    this.currentRto = this.baseRto
    this.backoffs = 0
  }

  /** The retransmission timer expired: RFC 6298 §5.5, double the RTO up to the maximum. */
  backoff(): void {
    this.currentRto = Math.min(this.maxRtoMillis, this.currentRto * 2)
    this.backoffs++
  }

  /** New data was acknowledged without a usable sample: back to the unbacked-off RTO. */
  resetBackoff(): void {
    this.currentRto = this.baseRto
    this.backoffs = 0
  }

  // RFC 6298 §2.4 (with our lower minimum) and §2.5.
  private clamp(rto: number): number {
    return Math.min(this.maxRtoMillis, Math.max(this.minRtoMillis, rto))
  }
}
