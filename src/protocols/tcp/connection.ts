/**
 * One TCP connection as a pure state machine (RFC 9293 §3.3.2, §3.10): fed
 * segments (`input`), the clock (`onTimer`) and user calls (`send`, `recv`,
 * `close`, `abort`), it updates its state and produces the segments to send
 * through `dispatch`. Time is `now` in milliseconds; no I/O, no allocation on
 * the data path. Reliability pieces live in their own files: RTO (rtt.ts),
 * congestion control (newreno.ts, cubic.ts), SACK scoreboard, byte stores.
 */
import { Assembler } from "./assembler.js"
import { makeCongestionControl, type CongestionControl, type CongestionControlName } from "./congestion.js"
import { RingBuffer } from "./ring-buffer.js"
import { RttEstimator } from "./rtt.js"
import { SackScoreboard } from "./sack-scoreboard.js"
import { Flags, makeOptions, MAX_WINDOW_SCALE, type TcpOptions } from "./segment.js"
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from "./seq.js"

/** The connection states of RFC 9293 §3.3.2. */
export type State =
  | "Closed"
  | "Listen"
  | "SynSent"
  | "SynReceived"
  | "Established"
  | "FinWait1"
  | "FinWait2"
  | "CloseWait"
  | "Closing"
  | "LastAck"
  | "TimeWait"

/** Why a connection ended abnormally. */
export type ConnectionError = "Refused" | "Reset" | "TimedOut" | "Aborted"

/** Per-connection settings. */
export interface ConnectionConfig {
  /** Largest segment we accept (advertised in the SYN): link MTU − 40. */
  readonly mss: number
  /** Largest segment the path lets us send before options (link MTU − 40). */
  readonly pathMss: number
  readonly sendBufferSize: number
  readonly recvBufferSize: number
  readonly congestion: CongestionControlName
  /** Disables Nagle's algorithm. */
  readonly noDelay: boolean
  readonly timestamps: boolean
  readonly sack: boolean
  readonly windowScaling: boolean
  /** 2·MSL. */
  readonly timeWaitMillis: number
  /** Delayed ACK timeout (RFC 9293 §3.8.6.3: ≤ 500 ms; RFC 1122 recommends ≤ 200). */
  readonly delayedAckMillis: number
  /** Retransmissions of data before giving up with TimedOut. */
  readonly maxRetransmits: number
  /** Retransmissions of a SYN before giving up. */
  readonly maxSynRetransmits: number
  readonly initialRtoMillis: number
  readonly minRtoMillis: number
  readonly maxRtoMillis: number
  /**
   * Largest payload of one emitted segment when the link segments for us
   * (TSO): new data goes out in whole multiples of the MSS up to this many
   * bytes, for the caller to send as one packet. 0 (default): one MSS.
   */
  readonly tsoMaxBytes?: number | undefined
  /** Keepalive (RFC 9293 §3.8.4), off when undefined. */
  readonly keepalive?: { readonly idleMillis: number; readonly intervalMillis: number; readonly probes: number } | undefined
}

/** Defaults close to Linux's. */
export const defaultConfig: ConnectionConfig = {
  mss: 1460,
  pathMss: 1460,
  sendBufferSize: 256 * 1024,
  recvBufferSize: 256 * 1024,
  congestion: "cubic",
  noDelay: false,
  timestamps: true,
  sack: true,
  windowScaling: true,
  timeWaitMillis: 60_000,
  delayedAckMillis: 40,
  maxRetransmits: 15,
  maxSynRetransmits: 6,
  initialRtoMillis: 1000,
  minRtoMillis: 200,
  maxRtoMillis: 120_000,
  keepalive: undefined
}

/** A received segment, as the layer hands it over (a reused object). */
export interface SegmentIn {
  seq: number
  ack: number
  flags: number
  /** The raw 16-bit window field. */
  window: number
  payload: Uint8Array
  payloadOffset: number
  payloadLength: number
  readonly options: TcpOptions
}

/** A segment to send (a reused object the layer turns into a frame). */
export interface SegmentOut {
  seq: number
  ack: number
  flags: number
  window: number
  /** Options to write; `options.mss` etc. are set only on SYNs. */
  readonly options: TcpOptions
  /** Payload: `dataLength` bytes starting `dataOffset` past the send buffer's front. */
  dataOffset: number
  dataLength: number
}

/** Makes a reusable `SegmentIn`. */
export const makeSegmentIn = (): SegmentIn => ({
  seq: 0,
  ack: 0,
  flags: 0,
  window: 0,
  payload: new Uint8Array(0),
  payloadOffset: 0,
  payloadLength: 0,
  options: makeOptions()
})

/** Counters a connection keeps for `ss -ti`-like figures and metrics. */
export interface ConnectionStats {
  segmentsIn: number
  segmentsOut: number
  retransmits: number
  fastRetransmits: number
  rtoExpiries: number
  sackRecoveries: number
  outOfOrderBytes: number
  zeroWindowProbes: number
  challengeAcks: number
  dropped: number
}

/** Bits set in `events` for the layer to wake users (cleared by the layer). */
export const Event = {
  Readable: 1,
  Writable: 2,
  Established: 4,
  Closed: 8
} as const

const DUP_THRESH = 3

/** The largest window shift that makes `size` fit a 16-bit window. */
const windowShiftFor = (size: number): number => {
  let s = 0
  while (s < MAX_WINDOW_SCALE && size >> s > 0xffff) s++
  return s
}

/** A TCP connection (one transmission control block). */
export class TcpConnection {
  state: State
  error: ConnectionError | undefined = undefined
  /** Event bits since the layer last looked (see `Event`). */
  events = 0
  readonly stats: ConnectionStats = {
    segmentsIn: 0,
    segmentsOut: 0,
    retransmits: 0,
    fastRetransmits: 0,
    rtoExpiries: 0,
    sackRecoveries: 0,
    outOfOrderBytes: 0,
    zeroWindowProbes: 0,
    challengeAcks: 0,
    dropped: 0
  }

  // Send sequence space (RFC 9293 §3.3.1).
  iss: number
  sndUna: number
  sndNxt: number
  /** Highest sequence sent + 1 (snd.nxt can go back on an RTO). */
  sndMax: number
  /** Send window in bytes (already scaled). */
  sndWnd = 0
  sndWl1 = 0
  sndWl2 = 0
  /** Largest window the peer ever offered (sender SWS avoidance, RFC 9293 §3.8.6.2.1). */
  maxSndWnd = 0
  /** Peer's window shift, 0 without scaling. */
  sndWndShift = 0
  /** Our window shift, 0 without scaling. */
  rcvWndShift: number
  /** Payload bytes per segment we send, after options. */
  sndMss: number
  // Receive sequence space.
  irs = 0
  rcvNxt = 0
  /** Right edge we last advertised (never shrink it, RFC 9293 §3.8.6.2.2). */
  rcvAdvertised = 0

  readonly sendBuffer: RingBuffer
  readonly recvBuffer: RingBuffer
  readonly assembler = new Assembler(32)
  readonly rtt: RttEstimator
  readonly cc: CongestionControl
  readonly scoreboard = new SackScoreboard()

  tsEnabled = false
  sackEnabled = false
  /** Both sides sent the window scale option (RFC 7323 §2.2). */
  wsNegotiated = false
  tsRecent = 0
  /** rcv.nxt as of the last ACK sent (RFC 7323 §4.3). */
  lastAckSent = 0
  /** Added to `now` for our TSval, so TSvals do not reveal uptime. */
  readonly tsOffset: number

  /** The user closed its sending side: a FIN follows the queued data. */
  finQueued = false
  /** Our FIN has been sent (at `finSeq`). */
  finSent = false
  finSeq = 0
  /** The peer's FIN arrived and was consumed into the sequence space. */
  finReceived = false
  /** Sequence number of a FIN seen out of order, waiting for the data before it. */
  private pendingFin: number | undefined = undefined

  // Timers: absolute times or Infinity.
  rtoAt = Infinity
  delackAt = Infinity
  persistAt = Infinity
  keepaliveAt = Infinity
  timeWaitAt = Infinity
  private retransmitCount = 0
  private persistBackoff = 0
  private keepaliveProbes = 0
  lastActivity: number

  // ACK generation.
  private ackNow = false
  private segmentsSinceAck = 0
  private challengeTokens = 10
  private challengeRefill: number
  /** A window update is owed after the user read (receiver SWS avoidance). */
  private windowUpdateOwed = false

  // Loss recovery.
  private dupAcks = 0
  private recover = 0
  private highRxt = 0
  /** RTT timing without timestamps (Karn): the sequence timed and when. */
  private rtSeq: number | undefined = undefined
  private rtTime = 0
  /** A segment we must (re)send at snd.una right away: fast retransmit or zero-window probe. */
  private retransmitHead = false
  private probeNow = false
  private forceSend = false
  private swsHeld = false

  private readonly out: SegmentOut = {
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    options: makeOptions(),
    dataOffset: 0,
    dataLength: 0
  }

  constructor(
    readonly config: ConnectionConfig,
    iss: number,
    now: number,
    tsOffset = 0
  ) {
    this.state = "Closed"
    this.iss = iss >>> 0
    this.sndUna = this.iss
    this.sndNxt = this.iss
    this.sndMax = this.iss
    this.sendBuffer = new RingBuffer(config.sendBufferSize)
    this.recvBuffer = new RingBuffer(config.recvBufferSize)
    this.rcvWndShift = config.windowScaling ? windowShiftFor(config.recvBufferSize) : 0
    this.sndMss = Math.min(536, config.pathMss)
    this.rtt = new RttEstimator({
      initialRtoMillis: config.initialRtoMillis,
      minRtoMillis: config.minRtoMillis,
      maxRtoMillis: config.maxRtoMillis
    })
    this.cc = makeCongestionControl(config.congestion, this.sndMss)
    this.tsOffset = tsOffset >>> 0
    this.lastActivity = now
    this.challengeRefill = now
  }

  // ---------------------------------------------------------------------------
  // Opening

  /** Active open (RFC 9293 §3.10.1): the first `dispatch` sends the SYN. */
  connect(now: number): void {
    this.state = "SynSent"
    this.sndNxt = this.iss
    this.sndMax = this.iss
    this.rtoAt = now + this.rtt.rto
  }

  /**
   * Passive open from a listener that received `syn` (RFC 9293 §3.10.7.2):
   * the first `dispatch` sends the SYN-ACK.
   */
  acceptSyn(syn: SegmentIn, now: number): void {
    this.state = "SynReceived"
    this.irs = syn.seq
    this.rcvNxt = seqAdd(syn.seq, 1)
    this.rcvAdvertised = this.rcvNxt
    this.negotiate(syn.options)
    this.sndWnd = syn.window // windows in SYNs are never scaled (RFC 7323 §2.2)
    this.maxSndWnd = this.sndWnd
    this.sndWl1 = syn.seq
    this.sndWl2 = syn.ack
    if (this.tsEnabled) this.tsRecent = syn.options.tsVal
    this.rtoAt = now + this.rtt.rto
  }

  /**
   * Passive open completed by a SYN cookie (RFC 4987 §3.6): `ack` is the ACK
   * of our cookie SYN-ACK; the MSS, and when timestamps carried them the
   * window scale and SACK-permitted, come from the cookie.
   */
  acceptCookie(
    ack: SegmentIn,
    mss: number,
    windowScale: number | undefined,
    sackPermitted: boolean,
    now: number
  ): void {
    const o = makeOptions()
    o.mss = mss
    o.windowScale = windowScale ?? -1
    o.sackPermitted = sackPermitted
    o.timestamp = ack.options.timestamp
    this.irs = seqAdd(ack.seq, -1 | 0)
    this.rcvNxt = ack.seq
    this.rcvAdvertised = this.rcvNxt
    this.negotiate(o)
    // Our cookie SYN-ACK was sent unscaled with a window of min(buffer, 65535).
    this.sndUna = this.iss
    this.sndNxt = seqAdd(this.iss, 1)
    this.sndMax = this.sndNxt
    this.sndWl1 = ack.seq
    this.sndWl2 = ack.ack
    this.sndWnd = ack.window << this.sndWndShift
    this.maxSndWnd = this.sndWnd
    if (this.tsEnabled) this.tsRecent = ack.options.tsVal
    this.state = "SynReceived"
    this.rtoAt = now + this.rtt.rto
  }

  /** Takes the peer's SYN options: MSS, window scale, SACK, timestamps. */
  private negotiate(o: TcpOptions): void {
    const c = this.config
    // RFC 9293 §3.7.1: without an MSS option assume 536.
    const peerMss = o.mss > 0 ? o.mss : 536
    this.tsEnabled = c.timestamps && o.timestamp
    this.sackEnabled = c.sack && o.sackPermitted
    this.wsNegotiated = c.windowScaling && o.windowScale >= 0
    if (this.wsNegotiated) {
      this.sndWndShift = Math.min(o.windowScale, MAX_WINDOW_SCALE)
    } else {
      this.sndWndShift = 0
      this.rcvWndShift = 0
    }
    this.sndMss = Math.max(64, Math.min(peerMss, c.pathMss) - (this.tsEnabled ? 12 : 0))
    this.cc.setMss(this.sndMss)
  }

  // ---------------------------------------------------------------------------
  // User calls

  /** Queues bytes to send; returns how many fit (0 when the send side is closed). */
  send(src: Uint8Array, offset: number, length: number): number {
    if (this.finQueued || !this.canSend) return 0
    return this.sendBuffer.enqueue(src, offset, length)
  }

  /** Reads received bytes; returns how many. */
  recv(dst: Uint8Array, offset: number, length: number): number {
    const before = this.recvBuffer.free
    const n = this.recvBuffer.dequeue(dst, offset, length)
    if (n > 0) this.onRead(before)
    return n
  }

  /** Discards up to `n` received bytes (for a caller that copied them via `recvBuffer`). */
  consume(n: number): number {
    const before = this.recvBuffer.free
    const k = this.recvBuffer.discard(n)
    if (k > 0) this.onRead(before)
    return k
  }

  private onRead(freeBefore: number): void {
    // RFC 9293 §3.8.6.2.2: advertise a larger window only once it grew by
    // min(MSS, half the buffer), so a slow reader does not cause tiny windows.
    void freeBefore
    const grown = this.recvBuffer.free - seqDiff(this.rcvAdvertised, this.rcvNxt)
    if (grown >= Math.min(this.config.mss, this.config.recvBufferSize >> 1)) this.windowUpdateOwed = true
  }

  /** Closes the sending side (RFC 9293 §3.10.4): a FIN follows the queued data. */
  close(now: number): void {
    switch (this.state) {
      case "SynSent":
      case "Listen":
      case "Closed":
        this.enterClosed(undefined)
        return
      case "SynReceived":
      case "Established":
      case "CloseWait":
        this.finQueued = true
        this.lastActivity = now
        return
      default:
        return
    }
  }

  /** Aborts: the next `dispatch` sends a RST (when synchronized) and the connection closes. */
  abort(): void {
    this.abortRequested = this.isSynchronized || this.state === "SynReceived"
    this.enterClosed("Aborted")
  }
  /** A RST is owed to the peer after `abort()`. */
  abortRequested = false

  // ---------------------------------------------------------------------------
  // Status

  /** True in the states where data may be queued. */
  get canSend(): boolean {
    return this.state === "Established" || this.state === "CloseWait" || this.state === "SynReceived" ||
      this.state === "SynSent"
  }
  /** Bytes ready to read. */
  get readable(): number {
    return this.recvBuffer.length
  }
  /** True when the peer closed its side and everything before the FIN was read. */
  get atEof(): boolean {
    return this.finReceived && this.recvBuffer.length === 0
  }
  /** Free room in the send buffer. */
  get writable(): number {
    return this.sendBuffer.free
  }
  get isSynchronized(): boolean {
    return this.state !== "Closed" && this.state !== "Listen" && this.state !== "SynSent" &&
      this.state !== "SynReceived"
  }
  /** Sequence space in flight (RFC 5681 FlightSize). */
  get bytesInFlight(): number {
    return seqDiff(this.sndNxt, this.sndUna)
  }

  /** The earliest time `onTimer` has work; Infinity when none. */
  pollAt(): number {
    let t = this.rtoAt
    if (this.delackAt < t) t = this.delackAt
    if (this.persistAt < t) t = this.persistAt
    if (this.keepaliveAt < t) t = this.keepaliveAt
    if (this.timeWaitAt < t) t = this.timeWaitAt
    return t
  }

  /** True when `dispatch` would send something now. */
  get wantsDispatch(): boolean {
    return this.ackNow || this.windowUpdateOwed || this.retransmitHead || this.probeNow || this.abortRequested ||
      (this.isSynchronized && this.sendBuffer.length > seqDiff(this.sndNxt, this.sndUna)) ||
      (this.finQueued && !this.finSent) || this.state === "SynSent" && this.sndNxt === this.iss ||
      this.state === "SynReceived" && this.sndNxt === this.iss
  }

  // ---------------------------------------------------------------------------
  // Input (RFC 9293 §3.10.7.3 and .4)

  /** Processes one segment for this connection. */
  input(seg: SegmentIn, now: number): void {
    this.stats.segmentsIn++
    if (this.state === "SynSent") return this.inputSynSent(seg, now)
    if (this.state === "Closed" || this.state === "Listen") return

    const flags = seg.flags
    const len = seg.payloadLength + (flags & Flags.SYN ? 1 : 0) + (flags & Flags.FIN ? 1 : 0)
    const o = seg.options

    // RFC 7323 §5.3: PAWS — a timestamp older than ts.recent is a stale duplicate.
    if (this.tsEnabled && o.timestamp && !(flags & Flags.RST) && seqLt(o.tsVal, this.tsRecent)) {
      this.stats.dropped++
      this.ackNow = true
      return
    }

    // SYN-RECEIVED and the peer's SYN again: in a simultaneous open it comes
    // back as a SYN-ACK acknowledging our SYN (RFC 9293 §3.10.7.3 figure 8);
    // otherwise our SYN-ACK was lost and it is a retransmitted SYN.
    if (this.state === "SynReceived" && flags & Flags.SYN && seg.seq === this.irs) {
      if (flags & Flags.ACK && seqGt(seg.ack, this.sndUna) && seqLe(seg.ack, this.sndMax)) {
        this.establish(now)
        this.sndUna = seg.ack
        this.sndWnd = seg.window // a SYN-ACK's window is never scaled (RFC 7323 §2.2)
        this.sndWl1 = seg.seq
        this.sndWl2 = seg.ack
        this.rtoAt = Infinity
        this.ackNow = true
      } else {
        this.sndNxt = this.iss
      }
      return
    }

    // First: is the segment acceptable (RFC 9293 §3.10.7.4, the four cases)?
    const wnd = this.recvWindow()
    let acceptable: boolean
    if (len === 0) {
      acceptable = wnd === 0 ? seg.seq === this.rcvNxt : seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, seqAdd(this.rcvNxt, wnd))
    } else if (wnd === 0) {
      acceptable = false
    } else {
      const end = seqAdd(seg.seq, len - 1)
      const right = seqAdd(this.rcvNxt, wnd)
      acceptable = (seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, right)) ||
        (seqGe(end, this.rcvNxt) && seqLt(end, right))
    }
    // Zero-length segments at rcv.nxt are always fine (pure ACKs, window probes answered below).
    if (!acceptable && len === 0 && seg.seq === this.rcvNxt) acceptable = true
    if (!acceptable) {
      if (!(flags & Flags.RST)) {
        this.ackNow = true
        if (this.state === "TimeWait" && flags & Flags.FIN) this.timeWaitAt = now + this.config.timeWaitMillis
      }
      this.stats.dropped++
      return
    }

    // Second: RST (RFC 5961 §3.2: exact match resets, in-window gets a challenge ACK).
    if (flags & Flags.RST) {
      if (seg.seq !== this.rcvNxt) {
        this.challengeAck(now)
        return
      }
      if (this.state === "SynReceived" && this.passive) {
        // RFC 9293 §3.10.7.4: a passive open returns to LISTEN; the layer forgets it.
        this.enterClosed(undefined)
        return
      }
      this.enterClosed(this.state === "SynReceived" ? "Refused" : "Reset")
      return
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4: challenge ACK).
    if (flags & Flags.SYN && this.state !== "SynReceived") {
      this.challengeAck(now)
      return
    }

    // Fifth: the ACK field.
    if (!(flags & Flags.ACK)) {
      this.stats.dropped++
      return
    }
    if (this.state === "SynReceived") {
      if (seqGt(seg.ack, this.sndUna) && seqLe(seg.ack, this.sndMax)) {
        if (!this.tsEnabled && this.retransmitCount === 0) this.rtt.sample(now - this.rtTime)
        this.establish(now)
      } else {
        // RFC 9293: an unacceptable ACK in SYN-RECEIVED gets a RST (the layer sends it).
        this.rstForUnacceptableAck = seg.ack
        return
      }
    }
    if (!this.processAck(seg, now)) return

    if (this.tsEnabled && o.timestamp && seqLe(seg.seq, this.lastAckSent)) {
      // RFC 7323 §4.3: remember the newest timestamp of in-window segments.
      if (seqGe(o.tsVal, this.tsRecent)) this.tsRecent = o.tsVal
    }

    // Seventh: segment text.
    if (seg.payloadLength > 0) {
      if (this.state === "Established" || this.state === "FinWait1" || this.state === "FinWait2") {
        this.receiveData(seg, now)
      } else {
        this.stats.dropped++
      }
    }

    // Eighth: FIN.
    if (flags & Flags.FIN) {
      const finSeq = seqAdd(seg.seq, seg.payloadLength)
      if (this.state === "TimeWait") {
        this.ackNow = true
        this.timeWaitAt = now + this.config.timeWaitMillis
      } else if (!this.finReceived) {
        if (finSeq === this.rcvNxt) this.receiveFin(now)
        else if (seqGt(finSeq, this.rcvNxt)) this.pendingFin = finSeq
      }
    }
    this.lastActivity = now
    if (this.config.keepalive) {
      this.keepaliveProbes = 0
      this.keepaliveAt = now + this.config.keepalive.idleMillis
    }
  }
  /** Set by `input` when SYN-RECEIVED got an unacceptable ACK: the layer answers with `<SEQ=ack><CTL=RST>`. */
  rstForUnacceptableAck: number | undefined = undefined
  /** True when this connection came from a listener (a RST returns it to LISTEN). */
  passive = false

  private inputSynSent(seg: SegmentIn, now: number): void {
    const flags = seg.flags
    if (flags & Flags.ACK) {
      // RFC 9293 §3.10.7.3: an ACK outside (iss, snd.nxt] gets a RST, unless it is one.
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax)) {
        if (!(flags & Flags.RST)) this.rstForUnacceptableAck = seg.ack
        return
      }
    }
    if (flags & Flags.RST) {
      // Only with an acceptable ACK (RFC 5961 §3.2 keeps this for SYN-SENT).
      if (flags & Flags.ACK) this.enterClosed("Refused")
      return
    }
    if (!(flags & Flags.SYN)) return
    this.irs = seg.seq
    this.rcvNxt = seqAdd(seg.seq, 1)
    this.rcvAdvertised = this.rcvNxt
    this.negotiate(seg.options)
    if (this.tsEnabled) this.tsRecent = seg.options.tsVal
    this.sndWnd = seg.window
    this.maxSndWnd = this.sndWnd
    this.sndWl1 = seg.seq
    this.sndWl2 = seg.ack
    if (flags & Flags.ACK) {
      this.sndUna = seg.ack
      this.takeRttSample(seg, now, true)
      this.establish(now)
      this.ackNow = true
      if (seg.payloadLength > 0) this.receiveData(seg, now)
    } else {
      // Simultaneous open (RFC 9293 §3.10.7.3, fourth): send SYN-ACK, wait for its ACK.
      this.state = "SynReceived"
      this.sndNxt = this.iss
      this.rtoAt = now + this.rtt.rto
    }
  }

  private establish(now: number): void {
    this.state = "Established"
    this.events |= Event.Established | Event.Writable
    this.retransmitCount = 0
    this.rtt.resetBackoff()
    this.lastActivity = now
    if (this.config.keepalive) this.keepaliveAt = now + this.config.keepalive.idleMillis
  }

  /** RFC 5961 §7: challenge ACKs, rate-limited per connection. */
  private challengeAck(now: number): void {
    this.challengeTokens = Math.min(10, this.challengeTokens + (now - this.challengeRefill) / 100)
    this.challengeRefill = now
    if (this.challengeTokens >= 1) {
      this.challengeTokens -= 1
      this.stats.challengeAcks++
      this.ackNow = true
    }
  }

  /** Handles the ACK field; false when the segment must be dropped. */
  private processAck(seg: SegmentIn, now: number): boolean {
    const ack = seg.ack
    // RFC 5961 §5.2: accept only ACKs in [snd.una − MAX.SND.WND, snd.nxt].
    if (seqGt(ack, this.sndMax)) {
      this.ackNow = true
      this.stats.dropped++
      return false
    }
    if (seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd | 0))) {
      this.challengeAck(now)
      return false
    }

    const acked = seqDiff(ack, this.sndUna)
    if (this.sackEnabled && seg.options.sackCount > 0) {
      // Blocks beyond snd.max are bogus; the scoreboard ignores those at or below snd.una.
      const o = seg.options
      let n = 0
      for (let i = 0; i < o.sackCount; i++) {
        const b = o.sackBlocks[i]!
        if (seqLe(b.end, this.sndMax) && seqLt(b.start, b.end)) {
          if (n !== i) {
            o.sackBlocks[n]!.start = b.start
            o.sackBlocks[n]!.end = b.end
          }
          n++
        }
      }
      this.scoreboard.update(seqMax(ack, this.sndUna), o.sackBlocks, n)
    }

    if (acked > 0) {
      let dataAcked = acked
      if (this.sndUna === this.iss) dataAcked-- // our SYN is acknowledged
      if (this.finSent && seqGt(ack, this.finSeq)) dataAcked-- // our FIN is acknowledged
      if (this.sendBuffer.length > 0 || dataAcked > 0) this.sendBuffer.discard(Math.min(dataAcked, this.sendBuffer.length))
      this.takeRttSample(seg, now, false)
      this.sndUna = ack
      if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna
      this.retransmitCount = 0
      this.rtt.resetBackoff()
      this.persistBackoff = 0
      // Loss recovery (RFC 6582 / RFC 6675).
      if (this.cc.inRecovery) {
        if (seqGe(ack, this.recover)) {
          this.cc.onExitRecovery(now)
          this.dupAcks = 0
        } else {
          this.cc.onPartialAck(acked)
          if (!this.sackEnabled) this.retransmitHead = true
        }
      } else {
        this.dupAcks = 0
        this.cc.onAck(acked, now, this.rtt.srtt, this.bytesInFlight)
      }
      if (seqLt(this.highRxt, this.sndUna)) this.highRxt = this.sndUna
      // RFC 6298 §5.2/5.3: stop the timer when all is acked, else restart it.
      this.rtoAt = this.sndUna === this.sndMax ? Infinity : now + this.rtt.rto
      this.events |= Event.Writable
    } else if (
      acked === 0 && seg.payloadLength === 0 && !(seg.flags & (Flags.SYN | Flags.FIN)) &&
      this.sndUna !== this.sndMax && this.windowOf(seg) === this.sndWnd
    ) {
      // RFC 5681 §2 duplicate ACK.
      this.onDuplicateAck(now)
    }

    // Window update (RFC 9293 §3.10.7.4: only from newer segments).
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      const wnd = this.windowOf(seg)
      if (wnd > 0 && this.sndWnd === 0) {
        this.persistAt = Infinity
        this.persistBackoff = 0
      }
      this.sndWnd = wnd
      if (wnd > this.maxSndWnd) this.maxSndWnd = wnd
      this.sndWl1 = seg.seq
      this.sndWl2 = ack
    }

    // State changes on our FIN being acknowledged.
    if (this.finSent && seqGt(this.sndUna, this.finSeq)) {
      switch (this.state) {
        case "FinWait1":
          this.state = "FinWait2"
          break
        case "Closing":
          this.enterTimeWait(now)
          break
        case "LastAck":
          this.enterClosed(undefined)
          return false
      }
    }
    return true
  }

  private windowOf(seg: SegmentIn): number {
    return seg.window << this.sndWndShift
  }

  private onDuplicateAck(now: number): void {
    this.dupAcks++
    if (this.cc.inRecovery) {
      if (!this.sackEnabled) this.cc.onDupAck()
      return
    }
    const lost = this.sackEnabled && this.scoreboard.isLost(this.sndUna, this.sndMss)
    if (this.dupAcks === DUP_THRESH || lost) {
      // RFC 6582 §3.2 step 2: only if the ACK covers more than `recover`.
      if (seqGt(this.sndUna, this.recover) || this.recover === 0 || this.stats.fastRetransmits === 0) {
        this.recover = this.sndMax
        this.highRxt = this.sndUna
        this.cc.onEnterRecovery(now, this.bytesInFlight, this.recover)
        this.retransmitHead = true
        this.stats.fastRetransmits++
        if (this.sackEnabled) this.stats.sackRecoveries++
        this.rtSeq = undefined // Karn: no sample from a retransmitted range
      }
    }
  }

  private takeRttSample(seg: SegmentIn, now: number, syn: boolean): void {
    const o = seg.options
    if (this.tsEnabled && o.timestamp && o.tsEcr !== 0) {
      // RFC 7323 §4.1: RTT from the echoed timestamp.
      const rtt = ((now + this.tsOffset) >>> 0) - o.tsEcr
      if (rtt >= 0 && rtt < 0x7fffffff) this.rtt.sample(rtt)
      return
    }
    if (this.rtSeq !== undefined && seqGt(seg.ack, this.rtSeq)) {
      this.rtt.sample(now - this.rtTime)
      this.rtSeq = undefined
    } else if (syn && this.retransmitCount === 0) {
      this.rtt.sample(now - this.rtTime)
    }
  }

  private receiveData(seg: SegmentIn, now: number): void {
    let seq = seg.seq
    let off = seg.payloadOffset
    let len = seg.payloadLength
    // Trim what we already have (RFC 9293 §3.10.7.4, seventh).
    const before = seqDiff(this.rcvNxt, seq)
    if (before > 0) {
      seq = this.rcvNxt
      off += before
      len -= before
    }
    if (len <= 0) {
      this.ackNow = true
      return
    }
    const at = seqDiff(seq, this.rcvNxt)
    const room = this.recvBuffer.free
    if (at >= room) {
      this.stats.dropped++
      this.ackNow = true
      return
    }
    if (at + len > room) len = room - at
    if (at === 0 && this.assembler.isEmpty) {
      const n = this.recvBuffer.enqueue(seg.payload, off, len)
      this.rcvNxt = seqAdd(this.rcvNxt, n)
      this.events |= Event.Readable
      // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: ACK at least every second full segment.
      this.segmentsSinceAck++
      if (this.segmentsSinceAck >= 2) this.ackNow = true
      else if (this.delackAt === Infinity) this.delackAt = now + this.config.delayedAckMillis
    } else {
      if (!this.assembler.add(at, len)) {
        this.stats.dropped++
        this.ackNow = true
        return
      }
      this.recvBuffer.writeUnallocated(at, seg.payload, off, len)
      if (at > 0) this.stats.outOfOrderBytes += len
      const n = this.assembler.removeFront()
      if (n > 0) {
        this.recvBuffer.enqueueUnallocated(n)
        this.rcvNxt = seqAdd(this.rcvNxt, n)
        this.events |= Event.Readable
      }
      // RFC 5681 §4.2: ACK out-of-order segments and hole fills at once.
      this.ackNow = true
    }
    if (this.pendingFin !== undefined && this.pendingFin === this.rcvNxt) this.receiveFin(now)
  }

  private receiveFin(now: number): void {
    this.finReceived = true
    this.pendingFin = undefined
    this.rcvNxt = seqAdd(this.rcvNxt, 1)
    this.ackNow = true
    this.events |= Event.Readable
    switch (this.state) {
      case "SynReceived":
      case "Established":
        this.state = "CloseWait"
        break
      case "FinWait1":
        // Our FIN not yet acknowledged: simultaneous close.
        this.state = "Closing"
        break
      case "FinWait2":
        this.enterTimeWait(now)
        break
    }
  }

  private enterTimeWait(now: number): void {
    this.state = "TimeWait"
    // Everything we sent is acknowledged: the send buffer's memory can go (the
    // receive buffer follows once the user has read what is left).
    this.sendBuffer.release()
    this.recvBuffer.release()
    this.rtoAt = Infinity
    this.persistAt = Infinity
    this.keepaliveAt = Infinity
    this.delackAt = Infinity
    this.timeWaitAt = now + this.config.timeWaitMillis
    this.events |= Event.Closed
  }

  private enterClosed(error: ConnectionError | undefined): void {
    if (this.state === "Closed" && this.error !== undefined) return
    this.state = "Closed"
    if (error !== undefined && this.error === undefined) this.error = error
    this.rtoAt = Infinity
    this.delackAt = Infinity
    this.persistAt = Infinity
    this.keepaliveAt = Infinity
    this.timeWaitAt = Infinity
    this.events |= Event.Closed | Event.Readable | Event.Writable
  }

  /** Our receive window in bytes (free buffer room). */
  recvWindow(): number {
    return this.recvBuffer.free
  }

  // ---------------------------------------------------------------------------
  // ICMP errors (RFC 1122 §4.2.3.9, RFC 1191, RFC 5927)

  /**
   * "Fragmentation needed" said the path carries at most `mtu` bytes (RFC
   * 1191 §6.3): shrink the segment size and resend what is in flight with
   * it. Believed only for a quoted sequence number in flight (RFC 5927 §4.1).
   * Returns true when the segment size changed.
   */
  onPathMtu(mtu: number, quotedSeq: number): boolean {
    if (!(seqGe(quotedSeq, this.sndUna) && seqLt(quotedSeq, this.sndMax))) return false
    if (mtu < 68) return false // RFC 791's minimum; ignore nonsense
    const mss = Math.max(8, mtu - 40 - (this.tsEnabled ? 12 : 0))
    if (mss >= this.sndMss) return false
    this.sndMss = mss
    this.cc.setMss(mss)
    // RFC 1191 §6.5: retransmit at once with the smaller size, without a congestion signal.
    this.sndNxt = this.sndUna
    this.rtSeq = undefined
    return true
  }

  /**
   * Port or protocol unreachable for our SYN: the connection attempt fails
   * (a hard error while opening, as Linux treats it); ignored otherwise.
   */
  onUnreachable(quotedSeq: number): void {
    if (this.state === "SynSent" && quotedSeq === this.iss) this.enterClosed("Refused")
  }

  // ---------------------------------------------------------------------------
  // Timers

  /** Runs the timers that are due at `now`. */
  onTimer(now: number): void {
    if (now >= this.timeWaitAt) {
      this.timeWaitAt = Infinity
      this.enterClosed(undefined)
      return
    }
    if (now >= this.delackAt) {
      this.delackAt = Infinity
      this.ackNow = true
    }
    if (now >= this.rtoAt) this.onRetransmitTimeout(now)
    if (now >= this.persistAt) {
      // Zero-window probe (RFC 9293 §3.8.6.1), backed off like the RTO; with
      // a small non-zero window, the SWS override: send what fits.
      if (this.sndWnd > 0) this.forceSend = true
      else {
        this.probeNow = true
        this.stats.zeroWindowProbes++
      }
      this.persistBackoff = Math.min(this.persistBackoff + 1, 10)
      this.persistAt = now + Math.min(this.rtt.rto * 2 ** this.persistBackoff, this.config.maxRtoMillis)
    }
    if (now >= this.keepaliveAt && this.config.keepalive) {
      const k = this.config.keepalive
      if (this.keepaliveProbes >= k.probes) {
        this.enterClosed("TimedOut")
        return
      }
      this.keepaliveProbes++
      this.keepaliveAt = now + k.intervalMillis
      this.keepaliveDue = true
    }
  }
  private keepaliveDue = false

  private onRetransmitTimeout(now: number): void {
    this.stats.rtoExpiries++
    const limit = this.state === "SynSent" || this.state === "SynReceived" ?
      this.config.maxSynRetransmits :
      this.config.maxRetransmits
    if (this.retransmitCount >= limit) {
      this.enterClosed("TimedOut")
      return
    }
    this.retransmitCount++
    // RFC 6298 §5.5–5.6: back off, and go back to snd.una.
    this.rtt.backoff()
    if (this.isSynchronized || this.state === "SynReceived") {
      this.cc.onRetransmitTimeout(now, this.bytesInFlight)
    }
    this.sndNxt = this.sndUna
    this.highRxt = this.sndUna
    this.dupAcks = 0
    this.rtSeq = undefined
    if (this.sackEnabled) this.scoreboard.clear()
    // RFC 6298 §5.7: after a SYN timeout the RTO used for data starts at 3 s (we keep backoff instead).
    this.rtoAt = now + this.rtt.rto
  }

  // ---------------------------------------------------------------------------
  // Output

  /**
   * Emits every segment due now through `emit` (the segment object is reused:
   * copy what you need before returning). Returns how many were emitted.
   */
  dispatch(now: number, emit: (seg: SegmentOut) => void): number {
    let count = 0
    const out = this.out
    const put = () => {
      count++
      this.stats.segmentsOut++
      emit(out)
    }

    if (this.abortRequested) {
      this.abortRequested = false
      // snd.max, not snd.nxt: after an RTO snd.nxt went back, but the peer's
      // rcv.nxt may be past it, and RFC 5961 §3.2 wants it exactly.
      this.prepare(now, this.sndMax, Flags.RST, 0, 0, false)
      out.flags = Flags.RST
      out.ack = 0
      put()
      return count
    }
    if (this.state === "Closed" || this.state === "Listen") return 0

    // SYN or SYN-ACK.
    if ((this.state === "SynSent" || this.state === "SynReceived") && this.sndNxt === this.iss) {
      const synAck = this.state === "SynReceived"
      this.prepare(now, this.iss, synAck ? Flags.SYN | Flags.ACK : Flags.SYN, 0, 0, true)
      if (this.retransmitCount === 0) this.rtTime = now
      else this.stats.retransmits++
      this.sndNxt = seqAdd(this.iss, 1)
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt
      if (this.rtoAt === Infinity) this.rtoAt = now + this.rtt.rto
      put()
      return count
    }
    if (this.state === "SynSent" || this.state === "SynReceived") {
      if (this.ackNow && this.state === "SynReceived") {
        // Nothing but a retransmitted SYN-ACK makes sense before the handshake ends.
        this.ackNow = false
      }
      return count
    }

    // Keepalive probe (RFC 9293 §3.8.4): seq = snd.una − 1, no data.
    if (this.keepaliveDue) {
      this.keepaliveDue = false
      this.prepare(now, seqAdd(this.sndUna, -1 | 0), Flags.ACK, 0, 0, false)
      put()
    }

    const canData = this.state === "Established" || this.state === "CloseWait" || this.state === "FinWait1" ||
      this.state === "Closing" || this.state === "LastAck"

    if (canData) {
      // Fast retransmit / partial-ACK retransmit of the head (RFC 6582) or SACK holes (RFC 6675).
      if (this.retransmitHead) {
        this.retransmitHead = false
        if (this.sackEnabled && this.cc.inRecovery) {
          count += this.sackRetransmit(now, put)
        } else {
          count += this.sendSegmentAt(now, this.sndUna, this.sndMss, put, true) ? 1 : 0
        }
      } else if (this.sackEnabled && this.cc.inRecovery) {
        count += this.sackRetransmit(now, put)
      }
      // New data (and our FIN) within the windows.
      count += this.sendNewData(now, put)
      // Zero-window probe: an old sequence number forces the peer to answer
      // with its current window (as Linux's tcp_xmit_probe_skb does).
      if (this.probeNow) {
        this.probeNow = false
        if (this.sndWnd === 0) {
          this.prepare(now, seqAdd(this.sndUna, -1 | 0), Flags.ACK, 0, 0, false)
          put()
        }
      }
      // Persist timer: a zero window, or a small one the sender refuses (SWS), with nothing in flight.
      if (
        (this.sndWnd === 0 || this.swsHeld) && this.persistAt === Infinity && this.sendBuffer.length > 0 &&
        this.sndUna === this.sndNxt
      ) {
        this.persistAt = now + this.rtt.rto
      }
      this.swsHeld = false
    }

    // A bare ACK (or window update) when owed and nothing above carried it.
    // Its sequence number is snd.max (as BSD's tcp_output and Linux's
    // tcp_acceptable_seq do): after an RTO snd.nxt went back to snd.una and
    // may lie below the peer's rcv.nxt, where the peer would find the ACK
    // unacceptable and drop it unread; two such peers deadlock.
    if (count === 0 && (this.ackNow || this.windowUpdateOwed)) {
      this.prepare(now, this.sndMax, Flags.ACK, 0, 0, false)
      put()
    }
    return count
  }

  /** Sends new data from snd.nxt while the send and congestion windows allow; then a FIN. */
  private sendNewData(now: number, put: () => void): number {
    let count = 0
    const buffered = this.sendBuffer.length
    for (;;) {
      const offset = seqDiff(this.sndNxt, this.sndUna)
      const unsent = buffered - offset
      const inFlight = this.sackEnabled && this.cc.inRecovery ?
        this.scoreboard.pipe(this.sndUna, this.sndNxt, this.highRxt, this.sndMss) :
        offset
      const window = Math.min(this.sndWnd, this.cc.cwnd) - inFlight
      const finReady = this.finQueued && !this.finSent
      if (unsent <= 0) {
        if (finReady) {
          // FIN after all data (it may go alone).
          this.prepare(now, this.sndNxt, Flags.FIN | Flags.ACK, offset, 0, false)
          this.finSent = true
          this.finSeq = this.sndNxt
          this.sndNxt = seqAdd(this.sndNxt, 1)
          if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt
          this.state = this.state === "CloseWait" ? "LastAck" : this.state === "Established" ? "FinWait1" : this.state
          if (this.rtoAt === Infinity) this.rtoAt = now + this.rtt.rto
          put()
          count++
        } else if (this.finSent && this.sndNxt === this.finSeq) {
          // Retransmitting a FIN after going back to snd.una.
          this.prepare(now, this.finSeq, Flags.FIN | Flags.ACK, offset, 0, false)
          this.sndNxt = seqAdd(this.finSeq, 1)
          this.stats.retransmits++
          put()
          count++
        }
        return count
      }
      if (window <= 0) return count
      const mss = this.dataRoom()
      // TSO: several whole segments at once when no SACK blocks shrink them (Linux's tcp_tso_autosize, simplified).
      const tso = this.config.tsoMaxBytes ?? 0
      let size = Math.min(unsent, tso > mss && mss === this.sndMss ? tso : mss, window)
      if (size > mss && size < unsent) size -= size % mss
      // Nagle (RFC 9293 §3.7.4) and sender SWS avoidance (§3.8.6.2.1): hold a
      // small segment while data is unacknowledged, unless it is all we have
      // and no-delay is set.
      if (this.forceSend) {
        // The SWS override timer fired (RFC 9293 §3.8.6.2.1): send what fits.
        this.forceSend = false
      } else if (size < mss && size < unsent) {
        // The window limits us: send only if it is at least half the largest window seen.
        if (size < (this.maxSndWnd >> 1)) {
          if (offset === 0) this.swsHeld = true
          return count
        }
      } else if (size < mss && !this.config.noDelay && offset > 0 && !finReady) {
        return count
      }
      if (size <= 0) return count
      const isRetransmit = seqLt(this.sndNxt, this.sndMax)
      if (this.sackEnabled && isRetransmit && this.scoreboard.isSacked(this.sndNxt)) {
        // Skip what the peer already holds (after an RTO with SACK info).
        this.sndNxt = seqAdd(this.sndNxt, 1)
        continue
      }
      const lastData = size === unsent
      const withFin = lastData && finReady && !isRetransmit
      this.prepare(now, this.sndNxt, Flags.ACK | (lastData ? Flags.PSH : 0) | (withFin ? Flags.FIN : 0), offset, size, false)
      if (isRetransmit) this.stats.retransmits++
      else if (this.rtSeq === undefined && !this.tsEnabled) {
        this.rtSeq = this.sndNxt
        this.rtTime = now
      }
      this.sndNxt = seqAdd(this.sndNxt, size)
      if (withFin) {
        this.finSent = true
        this.finSeq = this.sndNxt
        this.sndNxt = seqAdd(this.sndNxt, 1)
        this.state = this.state === "CloseWait" ? "LastAck" : this.state === "Established" ? "FinWait1" : this.state
      }
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt
      if (this.rtoAt === Infinity) this.rtoAt = now + this.rtt.rto
      put()
      count++
      if (withFin) return count
    }
  }

  /** RFC 6675 §5: retransmit lost holes while pipe < cwnd. */
  private sackRetransmit(now: number, put: () => void): number {
    let count = 0
    for (let guard = 0; guard < 64; guard++) {
      const pipe = this.scoreboard.pipe(this.sndUna, this.sndNxt, this.highRxt, this.sndMss)
      if (this.cc.cwnd - pipe < this.sndMss && count > 0) break
      const hole = this.scoreboard.nextSegmentToRetransmit(this.sndUna, this.sndNxt, this.highRxt, this.sndMss)
      if (hole === undefined) {
        if (count === 0 && seqGe(this.highRxt, this.sndUna) && this.highRxt === this.sndUna) {
          // Nothing marked lost yet: retransmit the head once (RFC 6675 §5 step 4.3 fallback).
          if (this.sendSegmentAt(now, this.sndUna, this.sndMss, put, true)) count++
        }
        break
      }
      const len = Math.min(seqDiff(hole.end, hole.start), this.sndMss)
      if (!this.sendSegmentAt(now, hole.start, len, put, true)) break
      count++
    }
    return count
  }

  /**
   * Payload bytes the next segment may carry: the MSS less the SACK blocks
   * `prepare` will add, so header + options + data stay within the path MTU
   * (Linux's tcp_current_mss does the same).
   */
  private dataRoom(): number {
    if (!this.sackEnabled || this.assembler.isEmpty) return this.sndMss
    const blocks = Math.min(this.assembler.rangeCount, this.tsEnabled ? 3 : 4)
    return Math.max(8, this.sndMss - (4 + 8 * blocks))
  }

  /** Sends `len` bytes of already-sent data at `seq` again. */
  private sendSegmentAt(now: number, seq: number, len: number, put: () => void, retransmit: boolean): boolean {
    const offset = seqDiff(seq, this.sndUna)
    const available = this.sendBuffer.length - offset
    if (available <= 0) {
      // Only the FIN is outstanding.
      if (this.finSent && seq === this.finSeq) {
        this.prepare(now, seq, Flags.FIN | Flags.ACK, offset, 0, false)
        if (retransmit) this.stats.retransmits++
        put()
        return true
      }
      return false
    }
    const size = Math.min(len, available, this.dataRoom())
    const end = seqAdd(seq, size)
    const withFin = this.finSent && end === this.finSeq
    this.prepare(now, seq, Flags.ACK | (withFin ? Flags.FIN : 0), offset, size, false)
    if (retransmit) {
      this.stats.retransmits++
      if (seqGt(end, this.highRxt)) this.highRxt = end
    }
    if (this.rtoAt === Infinity) this.rtoAt = now + this.rtt.rto
    put()
    return true
  }

  /** Fills the reused output segment; ACK fields and options follow the connection's state. */
  private prepare(now: number, seq: number, flags: number, dataOffset: number, dataLength: number, syn: boolean): void {
    const out = this.out
    const o = out.options
    out.seq = seq
    out.flags = flags
    out.dataOffset = dataOffset
    out.dataLength = dataLength
    o.mss = 0
    o.windowScale = -1
    o.sackPermitted = false
    o.sackCount = 0
    if (syn) {
      o.mss = this.config.mss
      const c = this.config
      // RFC 7323 §2.2: offer in a SYN; in a SYN-ACK only if the peer offered.
      const offerScale = c.windowScaling && (this.state === "SynSent" || this.wsNegotiated)
      o.windowScale = offerScale ? this.rcvWndShift : -1
      o.sackPermitted = c.sack && (this.state === "SynSent" || this.sackEnabled)
      o.timestamp = c.timestamps && (this.state === "SynSent" || this.tsEnabled)
    } else {
      o.timestamp = this.tsEnabled
    }
    if (o.timestamp) {
      o.tsVal = (now + this.tsOffset) >>> 0
      o.tsEcr = this.state === "SynSent" ? 0 : this.tsRecent
    }
    if (flags & Flags.ACK) {
      out.ack = this.rcvNxt
      this.lastAckSent = this.rcvNxt
      this.ackNow = false
      this.segmentsSinceAck = 0
      this.delackAt = Infinity
      this.windowUpdateOwed = false
      // SACK blocks for what we hold out of order (RFC 2018 §4).
      if (this.sackEnabled && !syn && !this.assembler.isEmpty) {
        const n = this.assembler.sackBlocks(o.sackBlocks, o.timestamp ? 3 : 4)
        for (let i = 0; i < n; i++) {
          const b = o.sackBlocks[i]!
          b.start = seqAdd(this.rcvNxt, b.start)
          b.end = seqAdd(this.rcvNxt, b.end)
        }
        o.sackCount = n
      }
    } else {
      out.ack = 0
    }
    // Window: free room, scaled (SYNs carry it unscaled, RFC 7323 §2.2), never shrinking the right edge.
    let wnd = this.recvWindow()
    const edge = seqDiff(this.rcvAdvertised, this.rcvNxt)
    if (edge > wnd && !syn) wnd = edge
    if (syn) {
      out.window = Math.min(wnd, 0xffff)
    } else {
      const scaled = Math.min(wnd >> this.rcvWndShift, 0xffff)
      out.window = scaled
      const right = seqAdd(this.rcvNxt, scaled << this.rcvWndShift)
      if (seqGt(right, this.rcvAdvertised)) this.rcvAdvertised = right
    }
    if (flags & Flags.RST) out.window = 0
  }

}
