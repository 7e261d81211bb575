/**
 * The congestion controller a TCP sender consults (RFC 5681): the window it
 * may have in flight, and the events that move it. Two implementations,
 * `NewReno` (RFC 5681, RFC 6582, RFC 3465) and `Cubic` (RFC 9438, the
 * default); both are pure state machines with the time passed in as `now` (ms).
 */
import { Cubic } from "./cubic.js"
import { NewReno } from "./newreno.js"

export { initialWindow } from "./newreno.js"

/** The congestion control algorithms Isla has. */
export type CongestionControlName = "newreno" | "cubic"

/**
 * What the connection tells its controller and reads back. Byte counts are
 * bytes of sequence space; `bytesInFlight` is FlightSize (RFC 5681 §2,
 * snd.nxt − snd.una) or, with SACK, the RFC 6675 pipe.
 */
export interface CongestionControl {
  readonly name: CongestionControlName
  /** Congestion window in bytes, at least one MSS. */
  readonly cwnd: number
  /** Slow start threshold in bytes (Infinity initially). */
  readonly ssthresh: number
  /** Between `onEnterRecovery` and `onExitRecovery` (or an RTO). */
  readonly inRecovery: boolean
  /** The sender's MSS changed (handshake, path MTU): the window keeps its size in segments. */
  setMss(mss: number): void
  /**
   * New data cumulatively acknowledged (outside recovery; during recovery the
   * caller reports partial ACKs with `onPartialAck`, and calls here are
   * ignored). `bytesInFlight` is the flight after this ACK: the window grows
   * only when the sender is using it (RFC 9438 §5.8, RFC 7661).
   */
  onAck(ackedBytes: number, now: number, rttMillis: number | undefined, bytesInFlight: number): void
  /** Three duplicate ACKs or SACK loss detection: enter fast recovery (RFC 5681 §3.2 / RFC 6675). */
  onEnterRecovery(now: number, bytesInFlight: number, recoverSeq: number): void
  /**
   * A further duplicate ACK during recovery without SACK (RFC 5681 §3.2
   * step 4): inflate by one MSS for the segment that left the network. A
   * SACK sender governs sending with the pipe instead and need not call it.
   */
  onDupAck(): void
  /** A partial ACK during recovery (RFC 6582 §3.2 step 5): deflate by the amount acked, +1 MSS. */
  onPartialAck(ackedBytes: number): void
  /** Recovery done (full ACK reached recoverSeq). */
  onExitRecovery(now: number): void
  /** Retransmission timeout (RFC 5681 §3.1: ssthresh = max(FlightSize/2, 2·MSS), cwnd = 1 MSS). */
  onRetransmitTimeout(now: number, bytesInFlight: number): void
  /** Idle restart (RFC 5681 §4.1) — optional: cwnd = min(cwnd, IW) after an RTO of idleness. */
  onIdle(now: number): void
}

/** A fresh controller of the given algorithm for a sender with this MSS. */
export const makeCongestionControl = (name: CongestionControlName, mss: number): CongestionControl =>
  name === "newreno" ? new NewReno(mss) : new Cubic(mss)
