/**
 * The DHCPv4 client of RFC 2131 §4.4 as a pure state machine: events in
 * (`start`, `onMessage`, `onProbeResult`, `onTimer`, `release`) with the time
 * as `now` (ms), `DhcpAction`s out (messages to send, an address to probe,
 * lease changes). Randomness (xids, jitter) comes from `options.random`.
 * The caller sends `Send.bytes` from UDP port 68 to port 67 of `destination`,
 * probes `ProbeAddress` with ARP (RFC 5227 §2.1) and calls `onTimer` at `pollAt()`.
 */
import { IPV4_ANY, IPV4_BROADCAST, macEquals, type Ipv4Address, type MacAddress } from "../address.js"
import * as Message from "./message.js"

/** Timers of the client, in ms; every field has a default. */
export interface DhcpTiming {
  /** Wait before the first retransmission in SELECTING, REQUESTING and REBOOTING (RFC 2131 §4.1: 4 s). */
  readonly initialRetransmitMillis?: number
  /** The doubled wait is capped here (RFC 2131 §4.1: 64 s). */
  readonly maxRetransmitMillis?: number
  /** Each wait is randomized by up to this much either way (RFC 2131 §4.1: ±1 s). */
  readonly jitterMillis?: number
  /** REQUESTs sent in REQUESTING or REBOOTING before going back to INIT (default 5: waits of 4, 8, 16, 32, 64 s). */
  readonly maxRequestTransmissions?: number
  /** Shortest wait between retransmissions in RENEWING and REBINDING (RFC 2131 §4.4.5: 60 s). */
  readonly minRenewRetransmitMillis?: number
  /** Largest random wait in INIT before the DISCOVER (RFC 2131 §4.4.1 suggests 1 to 10 s; default 0). */
  readonly initDelayMillis?: number
  /** Wait in INIT after a DHCPNAK (default 1 s). */
  readonly nakDelayMillis?: number
  /** Wait in INIT after a DHCPDECLINE (RFC 2131 §3.1 step 5: at least 10 s). */
  readonly declineDelayMillis?: number
}

/** Configuration of a `DhcpClient`. */
export interface DhcpClientOptions {
  /** The interface's MAC: `chaddr` and, by default, the client identifier. */
  readonly mac: MacAddress
  /** Uniform in [0, 1): transaction ids and jitter. */
  readonly random: () => number
  /** An address from an earlier lease: `start` goes through INIT-REBOOT with it (RFC 2131 §3.2). */
  readonly rememberedAddress?: Ipv4Address
  /** Option 12. */
  readonly hostName?: string
  /** Option 61 (default: type 1 and the MAC, RFC 2132 §9.14). */
  readonly clientIdentifier?: Uint8Array
  /** Option 51 asked for in DISCOVER and REQUEST (default: none, the server chooses). */
  readonly requestedLeaseSeconds?: number
  /** Option 55 (default: mask, router, DNS, host name, broadcast, lease, server id, T1, T2). */
  readonly parameterRequestList?: ReadonlyArray<number>
  /** Option 57 (default 1500). */
  readonly maxMessageSize?: number
  /** Ask for broadcast replies while the client has no address (default true: the stack need not accept unicast to an unconfigured address). */
  readonly broadcastFlag?: boolean
  readonly timing?: DhcpTiming
}

/** RFC 2131 figure 5's states, plus PROBING (ARP probe of an ACKed address, RFC 5227) and STOPPED (not started, or released). */
export type DhcpState =
  | "STOPPED"
  | "INIT"
  | "SELECTING"
  | "REQUESTING"
  | "PROBING"
  | "BOUND"
  | "RENEWING"
  | "REBINDING"
  | "INIT-REBOOT"
  | "REBOOTING"

/** What a lease gives the host. */
export interface DhcpLease {
  readonly address: Ipv4Address
  /** From the subnet mask (its leading one bits), or the address class when the server sent none. */
  readonly prefixLength: number
  readonly subnetMask: Ipv4Address
  /** The first router of option 3, when any. */
  readonly router?: Ipv4Address
  readonly dns: ReadonlyArray<Ipv4Address>
  /** Seconds (`Message.INFINITE_LEASE` for ever). */
  readonly leaseSeconds: number
  /** Renewal time T1, seconds from `obtainedAt`. */
  readonly t1: number
  /** Rebinding time T2, seconds from `obtainedAt`. */
  readonly t2: number
  /** The server identifier: where RENEWING and DHCPRELEASE go. */
  readonly server: Ipv4Address
  /** When the REQUEST that got this lease was first sent (ms): the lease runs from there (RFC 2131 §4.4.1). */
  readonly obtainedAt: number
}

/** Something the caller must do on behalf of the client. */
export type DhcpAction =
  /** Send `bytes` (the emitted `message`) from `source`:68 to `destination`:67; 255.255.255.255 is a link broadcast. */
  | {
    readonly _tag: "Send"
    readonly message: Message.Repr
    readonly bytes: Uint8Array
    readonly source: Ipv4Address
    readonly destination: Ipv4Address
  }
  /** ARP-probe `address` (RFC 5227 §2.1) and report with `onProbeResult`. */
  | { readonly _tag: "ProbeAddress"; readonly address: Ipv4Address }
  /** A new lease: configure its address, router and DNS servers. */
  | { readonly _tag: "Bound"; readonly lease: DhcpLease }
  /** The lease was extended (address unchanged): update timers, router and DNS servers; keep connections. */
  | { readonly _tag: "Renewed"; readonly lease: DhcpLease }
  /** The lease is lost (expired or NAKed): remove the address. */
  | { readonly _tag: "Expired"; readonly lease: DhcpLease }
  /** The probe found `address` in use: a DHCPDECLINE went out. */
  | { readonly _tag: "Declined"; readonly address: Ipv4Address }
  /** A DHCPRELEASE went out: remove the address. */
  | { readonly _tag: "Released"; readonly lease: DhcpLease }

/** What the client has sent and seen. */
export interface DhcpClientCounters {
  discovers: number
  requests: number
  declines: number
  releases: number
  retransmissions: number
  offers: number
  acks: number
  naks: number
  /** Replies dropped: another transaction or client, an unexpected type, a missing field. */
  ignored: number
  renewals: number
  expirations: number
}

/** Option 55 asked for by default. */
export const DEFAULT_PARAMETER_REQUEST_LIST: ReadonlyArray<number> = [1, 3, 6, 12, 28, 51, 54, 58, 59]

const NO_ACTIONS: ReadonlyArray<DhcpAction> = Object.freeze([])

const option = (value: number | undefined, fallback: number, min: number): number =>
  value === undefined || !Number.isFinite(value) ? fallback : Math.max(min, Math.floor(value))

/** Leading one bits of a mask (a non-contiguous mask counts up to its first zero). */
const prefixOf = (mask: Ipv4Address): number => {
  let n = 0
  while (n < 32 && ((mask >>> (31 - n)) & 1) === 1) n++
  return n
}

/** RFC 2131 §3.3 (via RFC 1122 §3.3.1.3): without option 1, the class of the address. */
const classfulPrefix = (a: Ipv4Address): number => (a >>> 31 === 0 ? 8 : a >>> 30 === 2 ? 16 : 24)

/**
 * The DHCP client of one interface. Use: `start(now)`; hand every DHCP reply
 * (UDP to port 68) to `onMessage`; answer `ProbeAddress` with `onProbeResult`;
 * call `onTimer` at `pollAt()`; `release` on shutdown. Perform the actions in order.
 */
export class DhcpClient {
  private readonly mac: MacAddress
  private readonly random: () => number
  private readonly hostName: string | undefined
  private readonly clientIdentifier: Uint8Array
  private readonly requestedLeaseSeconds: number | undefined
  private readonly parameterRequestList: ReadonlyArray<number>
  private readonly maxMessageSize: number
  private readonly broadcastFlag: boolean
  private readonly initialRetransmit: number
  private readonly maxRetransmit: number
  private readonly jitter: number
  private readonly maxRequestTransmissions: number
  private readonly minRenewRetransmit: number
  private readonly initDelay: number
  private readonly nakDelay: number
  private readonly declineDelay: number

  private _state: DhcpState = "STOPPED"
  private _xid = 0
  private _lease: DhcpLease | undefined
  /** The remembered address `start` reboots with; used once. */
  private rebootAddress: Ipv4Address | undefined
  /** The last address leased or remembered, asked for again in DISCOVER (RFC 2131 §4.4.1). */
  private previousAddress: Ipv4Address | undefined
  /** The offer being requested (REQUESTING) or the ACK being probed (PROBING). */
  private offered: Ipv4Address = IPV4_ANY
  private offeredServer: Ipv4Address = IPV4_ANY
  private pendingAck: Message.Repr | undefined
  /** Start of the acquisition, for `secs` (RFC 2131 §2). */
  private acquisitionStart = 0
  /** First transmission of the current REQUEST: a lease it gets runs from here. */
  private requestStart = 0
  /** Transmissions of the current message, and the wait before the next one. */
  private transmissions = 0
  private backoff = 0
  private deadline = Infinity
  private t1At = Infinity
  private t2At = Infinity
  private expiresAt = Infinity

  /** What the client has sent and seen. */
  readonly counters: DhcpClientCounters = {
    discovers: 0,
    requests: 0,
    declines: 0,
    releases: 0,
    retransmissions: 0,
    offers: 0,
    acks: 0,
    naks: 0,
    ignored: 0,
    renewals: 0,
    expirations: 0
  }

  constructor(options: DhcpClientOptions) {
    const t = options.timing ?? {}
    this.mac = options.mac.slice(0, 6)
    this.random = options.random
    this.hostName = options.hostName
    this.clientIdentifier = options.clientIdentifier?.slice() ?? Uint8Array.of(Message.HTYPE_ETHERNET, ...this.mac)
    this.requestedLeaseSeconds = options.requestedLeaseSeconds
    this.parameterRequestList = options.parameterRequestList ?? DEFAULT_PARAMETER_REQUEST_LIST
    this.maxMessageSize = option(options.maxMessageSize, 1500, 576)
    this.broadcastFlag = options.broadcastFlag ?? true
    this.rebootAddress = options.rememberedAddress
    this.previousAddress = options.rememberedAddress
    this.initialRetransmit = option(t.initialRetransmitMillis, 4_000, 1)
    this.maxRetransmit = option(t.maxRetransmitMillis, 64_000, this.initialRetransmit)
    this.jitter = option(t.jitterMillis, 1_000, 0)
    this.maxRequestTransmissions = option(t.maxRequestTransmissions, 5, 1)
    this.minRenewRetransmit = option(t.minRenewRetransmitMillis, 60_000, 1)
    this.initDelay = option(t.initDelayMillis, 0, 0)
    this.nakDelay = option(t.nakDelayMillis, 1_000, 0)
    this.declineDelay = option(t.declineDelayMillis, 10_000, 0)
  }

  /** The current state. */
  get state(): DhcpState {
    return this._state
  }

  /** The transaction id of the current exchange. */
  get xid(): number {
    return this._xid
  }

  /** The lease in use (BOUND, RENEWING, REBINDING), else undefined. */
  get lease(): DhcpLease | undefined {
    return this._lease
  }

  /** When the lease in use ends (ms); Infinity when none or infinite. */
  get leaseExpiresAt(): number {
    return this._lease === undefined ? Infinity : this.expiresAt
  }

  /** The earliest time `onTimer` has work; Infinity when none. */
  pollAt(): number {
    return this.deadline
  }

  /** Starts acquisition: INIT-REBOOT with a remembered address, else INIT. Ignored unless STOPPED. */
  start(now: number): ReadonlyArray<DhcpAction> {
    if (this._state !== "STOPPED") return NO_ACTIONS
    this.acquisitionStart = now
    const remembered = this.rebootAddress
    this.rebootAddress = undefined
    if (remembered !== undefined && usable(remembered)) {
      this._state = "INIT-REBOOT"
      return this.sendReboot(now, remembered)
    }
    return this.enterInit(now, this.initDelay > 0 ? Math.floor(this.random() * this.initDelay) : 0)
  }

  /** A DHCP reply (UDP to port 68), already parsed. Replies of other transactions or clients are ignored. */
  onMessage(reply: Message.Repr, now: number): ReadonlyArray<DhcpAction> {
    if (
      reply.op !== Message.Op.BootReply ||
      reply.xid !== this._xid ||
      reply.chaddr.length !== 6 ||
      !macEquals(reply.chaddr, 0, this.mac, 0)
    ) return this.ignore()
    const type = reply.messageType
    switch (this._state) {
      case "SELECTING":
        if (type !== Message.MessageType.Offer) return this.ignore()
        return this.onOffer(reply, now)
      case "REQUESTING":
      case "REBOOTING":
        if (type === Message.MessageType.Ack) return this.onAckWhileAcquiring(reply)
        if (type === Message.MessageType.Nak) {
          // RFC 2131 §4.4.1: in REQUESTING, only the selected server's NAK counts.
          if (this._state === "REQUESTING" && !this.fromServer(reply, this.offeredServer)) return this.ignore()
          this.counters.naks++
          this.previousAddress = undefined // refused: not worth asking for again
          return this.enterInit(now, this.nakDelay)
        }
        return this.ignore()
      case "RENEWING":
      case "REBINDING": {
        const lease = this._lease!
        if (type === Message.MessageType.Ack) return this.onAckWhileExtending(reply, now)
        if (type === Message.MessageType.Nak) {
          if (this._state === "RENEWING" && !this.fromServer(reply, lease.server)) return this.ignore()
          this.counters.naks++
          this.previousAddress = undefined
          return this.loseLease(now, this.nakDelay)
        }
        return this.ignore()
      }
      default:
        return this.ignore()
    }
  }

  /** The result of the ARP probe asked for by `ProbeAddress`: `conflict` when another host answered for it. */
  onProbeResult(conflict: boolean, now: number): ReadonlyArray<DhcpAction> {
    const ack = this.pendingAck
    if (this._state !== "PROBING" || ack === undefined) return NO_ACTIONS
    this.pendingAck = undefined
    const lease = this.leaseFrom(ack, this.requestStart, undefined)
    if (conflict) {
      // RFC 2131 §3.1 step 5 and §4.4.1: DHCPDECLINE, then restart after a pause.
      this.counters.declines++
      const decline = this.message(Message.MessageType.Decline, now, {
        requestedAddress: lease.address,
        serverIdentifier: lease.server
      })
      this.previousAddress = undefined
      const actions: Array<DhcpAction> = [
        this.send(decline, IPV4_ANY, IPV4_BROADCAST),
        { _tag: "Declined", address: lease.address }
      ]
      actions.push(...this.enterInit(now, this.declineDelay))
      return actions
    }
    this.bind(lease, now)
    return [{ _tag: "Bound", lease }]
  }

  /** Timers: retransmissions, T1, T2, lease expiry and the INIT delays. */
  onTimer(now: number): ReadonlyArray<DhcpAction> {
    if (now < this.deadline) return NO_ACTIONS
    switch (this._state) {
      case "INIT":
        return this.sendDiscover(now)
      case "SELECTING":
        this.counters.retransmissions++
        return this.transmitDiscover(now)
      case "REQUESTING":
      case "REBOOTING":
        if (this.transmissions >= this.maxRequestTransmissions) {
          // RFC 2131 §4.4.1: neither ACK nor NAK after the retransmissions: back to INIT.
          return this.enterInit(now, 0)
        }
        this.counters.retransmissions++
        return this.transmitRequest(now)
      case "BOUND":
      case "RENEWING":
      case "REBINDING":
        return this.leaseTimer(now)
      default:
        this.deadline = Infinity
        return NO_ACTIONS
    }
  }

  /** Gives the lease back (DHCPRELEASE unicast to the server, RFC 2131 §4.4.6) and stops. */
  release(now: number): ReadonlyArray<DhcpAction> {
    const held = this._lease ?? (this._state === "PROBING" && this.pendingAck !== undefined
      ? this.leaseFrom(this.pendingAck, this.requestStart, undefined)
      : undefined)
    this.stop()
    if (held === undefined) return NO_ACTIONS
    this.counters.releases++
    this._xid = this.newXid()
    const release = this.message(Message.MessageType.Release, now, { serverIdentifier: held.server }, held.address)
    return [this.send(release, held.address, held.server), { _tag: "Released", lease: held }]
  }

  // --- transitions ---------------------------------------------------------

  /** INIT: wait `delay`, then DISCOVER (sent now when the delay is zero). */
  private enterInit(now: number, delay: number): ReadonlyArray<DhcpAction> {
    this._state = "INIT"
    this.pendingAck = undefined
    if (delay <= 0) return this.sendDiscover(now)
    this.deadline = now + delay
    return NO_ACTIONS
  }

  private sendDiscover(now: number): ReadonlyArray<DhcpAction> {
    this._state = "SELECTING"
    this._xid = this.newXid()
    this.acquisitionStart = now
    this.transmissions = 0
    this.backoff = this.initialRetransmit
    return this.transmitDiscover(now)
  }

  private transmitDiscover(now: number): ReadonlyArray<DhcpAction> {
    this.counters.discovers++
    const m = this.message(Message.MessageType.Discover, now, {
      ...(this.previousAddress !== undefined ? { requestedAddress: this.previousAddress } : {}),
      ...this.requestOptions()
    })
    this.armBackoff(now)
    return [this.send(m, IPV4_ANY, IPV4_BROADCAST)]
  }

  private onOffer(offer: Message.Repr, now: number): ReadonlyArray<DhcpAction> {
    const server = offer.serverIdentifier
    // RFC 2131 §4.3.1: an offer carries the server identifier; the address must be a usable unicast one.
    if (server === undefined || !usable(offer.yiaddr)) return this.ignore()
    this.counters.offers++
    // The first acceptable offer is taken (RFC 2131 §4.4.1 lets the client choose).
    this._state = "REQUESTING"
    this.offered = offer.yiaddr
    this.offeredServer = server
    this.requestStart = now
    this.transmissions = 0
    this.backoff = this.initialRetransmit
    return this.transmitRequest(now)
  }

  /** INIT-REBOOT → REBOOTING: REQUEST for the remembered address, broadcast (RFC 2131 §3.2). */
  private sendReboot(now: number, address: Ipv4Address): ReadonlyArray<DhcpAction> {
    this._state = "REBOOTING"
    this._xid = this.newXid()
    this.offered = address
    this.offeredServer = IPV4_ANY
    this.requestStart = now
    this.transmissions = 0
    this.backoff = this.initialRetransmit
    return this.transmitRequest(now)
  }

  /**
   * The REQUEST of SELECTING (server id and requested address) or of
   * INIT-REBOOT (requested address only), ciaddr zero, broadcast (RFC 2131 §4.3.2).
   */
  private transmitRequest(now: number): ReadonlyArray<DhcpAction> {
    this.counters.requests++
    const m = this.message(Message.MessageType.Request, now, {
      requestedAddress: this.offered,
      ...(this._state === "REQUESTING" ? { serverIdentifier: this.offeredServer } : {}),
      ...this.requestOptions()
    })
    this.armBackoff(now)
    return [this.send(m, IPV4_ANY, IPV4_BROADCAST)]
  }

  private onAckWhileAcquiring(ack: Message.Repr): ReadonlyArray<DhcpAction> {
    if (!usable(ack.yiaddr) || ack.leaseTime === undefined) return this.ignore()
    if (this._state === "REQUESTING" && !this.fromServer(ack, this.offeredServer)) return this.ignore()
    if (this._state === "REBOOTING" && ack.serverIdentifier === undefined) return this.ignore()
    this.counters.acks++
    // RFC 5227 §2.1: probe the address before using it.
    this._state = "PROBING"
    this.pendingAck = ack
    this.deadline = Infinity
    return [{ _tag: "ProbeAddress", address: ack.yiaddr }]
  }

  private onAckWhileExtending(ack: Message.Repr, now: number): ReadonlyArray<DhcpAction> {
    const old = this._lease!
    if (ack.leaseTime === undefined || !usable(ack.yiaddr)) return this.ignore()
    if (this._state === "RENEWING" && !this.fromServer(ack, old.server)) return this.ignore()
    this.counters.acks++
    if (ack.yiaddr !== old.address) {
      // A different address is a new lease: give up the old one and probe the new one.
      const lost = this.loseLeaseQuietly()
      this._state = "PROBING"
      this.pendingAck = ack
      this.deadline = Infinity
      return [{ _tag: "Expired", lease: lost }, { _tag: "ProbeAddress", address: ack.yiaddr }]
    }
    this.counters.renewals++
    const lease = this.leaseFrom(ack, this.requestStart, old.server)
    this.bind(lease, now)
    return [{ _tag: "Renewed", lease }]
  }

  /** BOUND with timers from `lease` (RFC 2131 §4.4.5: T1 0.5 and T2 0.875 of the lease by default). */
  private bind(lease: DhcpLease, now: number): void {
    this._state = "BOUND"
    this._lease = lease
    this.previousAddress = lease.address
    if (lease.leaseSeconds === Message.INFINITE_LEASE) {
      this.t1At = this.t2At = this.expiresAt = Infinity
    } else {
      this.t1At = lease.obtainedAt + lease.t1 * 1000
      this.t2At = lease.obtainedAt + lease.t2 * 1000
      this.expiresAt = lease.obtainedAt + lease.leaseSeconds * 1000
    }
    this.deadline = this.t1At
    // A reply that took long may already be past T1 or later.
    if (now >= this.t1At) this.deadline = now
  }

  private leaseTimer(now: number): ReadonlyArray<DhcpAction> {
    if (now >= this.expiresAt) {
      this.counters.expirations++
      return this.loseLease(now, 0)
    }
    if (now >= this.t2At && this._state !== "REBINDING") {
      // RFC 2131 §4.4.5: at T2, broadcast to any server.
      this._state = "REBINDING"
      this._xid = this.newXid()
      this.requestStart = now
      return this.transmitExtend(now)
    }
    if (now >= this.t1At && this._state === "BOUND") {
      // RFC 2131 §4.4.5: at T1, unicast to the server that gave the lease.
      this._state = "RENEWING"
      this._xid = this.newXid()
      this.requestStart = now
      return this.transmitExtend(now)
    }
    if (this._state === "BOUND") {
      this.deadline = this.t1At
      return NO_ACTIONS
    }
    this.counters.retransmissions++
    return this.transmitExtend(now)
  }

  /**
   * The REQUEST of RENEWING (unicast) or REBINDING (broadcast): ciaddr set, no
   * requested address nor server id (RFC 2131 §4.3.2). The next one goes after
   * half the time left to T2 or to expiry, at least 60 s (RFC 2131 §4.4.5).
   */
  private transmitExtend(now: number): ReadonlyArray<DhcpAction> {
    const lease = this._lease!
    const renewing = this._state === "RENEWING"
    this.counters.requests++
    const m = this.message(Message.MessageType.Request, now, this.requestOptions(), lease.address)
    const limit = renewing ? this.t2At : this.expiresAt
    const wait = Math.max(this.minRenewRetransmit, (limit - now) / 2)
    this.deadline = Math.min(limit, now + wait)
    return [this.send(m, lease.address, renewing ? lease.server : IPV4_BROADCAST)]
  }

  /** Drops the lease (Expired) and goes to INIT. */
  private loseLease(now: number, delay: number): ReadonlyArray<DhcpAction> {
    const lost = this.loseLeaseQuietly()
    return [{ _tag: "Expired", lease: lost }, ...this.enterInit(now, delay)]
  }

  private loseLeaseQuietly(): DhcpLease {
    const lost = this._lease!
    this._lease = undefined
    this.t1At = this.t2At = this.expiresAt = Infinity
    return lost
  }

  private stop(): void {
    this._state = "STOPPED"
    this._lease = undefined
    this.pendingAck = undefined
    this.deadline = this.t1At = this.t2At = this.expiresAt = Infinity
  }

  // --- helpers -------------------------------------------------------------

  private ignore(): ReadonlyArray<DhcpAction> {
    this.counters.ignored++
    return NO_ACTIONS
  }

  /** True when `reply` names `server` or names none. */
  private fromServer(reply: Message.Repr, server: Ipv4Address): boolean {
    return reply.serverIdentifier === undefined || reply.serverIdentifier === server
  }

  /** RFC 2131 §4.1: waits of 4, 8, 16 … 64 s, each randomized by ±1 s. */
  private armBackoff(now: number): void {
    this.transmissions++
    const jitter = (this.random() * 2 - 1) * this.jitter
    this.deadline = now + Math.max(1, Math.round(this.backoff + jitter))
    this.backoff = Math.min(this.maxRetransmit, this.backoff * 2)
  }

  private newXid(): number {
    return Math.floor(this.random() * 0x1_0000_0000) >>> 0
  }

  /** Options of DISCOVER and REQUEST (RFC 2131 Table 5). */
  private requestOptions(): Partial<Message.Repr> {
    return {
      ...(this.requestedLeaseSeconds !== undefined ? { leaseTime: this.requestedLeaseSeconds } : {}),
      ...(this.hostName !== undefined ? { hostName: this.hostName } : {}),
      parameterRequestList: this.parameterRequestList,
      maxMessageSize: this.maxMessageSize
    }
  }

  /** A BOOTREQUEST of `type` with the client identifier and `options`. */
  private message(type: number, now: number, options: Partial<Message.Repr>, ciaddr: Ipv4Address = IPV4_ANY): Message.Repr {
    const acquiring = type === Message.MessageType.Discover ||
      (type === Message.MessageType.Request && ciaddr === IPV4_ANY)
    return {
      op: Message.Op.BootRequest,
      htype: Message.HTYPE_ETHERNET,
      hops: 0,
      xid: this._xid,
      secs: type === Message.MessageType.Discover || type === Message.MessageType.Request
        ? Math.min(0xffff, Math.max(0, Math.floor((now - (acquiring ? this.acquisitionStart : this.requestStart)) / 1000)))
        : 0,
      // RFC 2131 §4.1: the broadcast bit only while the client has no address.
      broadcast: acquiring && this.broadcastFlag,
      ciaddr,
      yiaddr: IPV4_ANY,
      siaddr: IPV4_ANY,
      giaddr: IPV4_ANY,
      chaddr: this.mac,
      messageType: type,
      clientIdentifier: this.clientIdentifier,
      ...options
    }
  }

  private send(message: Message.Repr, source: Ipv4Address, destination: Ipv4Address): DhcpAction {
    return { _tag: "Send", message, bytes: Message.emit(message), source, destination }
  }

  /** The lease an ACK grants, its T1/T2 defaulted or repaired (RFC 2131 §4.4.5). */
  private leaseFrom(ack: Message.Repr, obtainedAt: number, knownServer: Ipv4Address | undefined): DhcpLease {
    const leaseSeconds = ack.leaseTime!
    const infinite = leaseSeconds === Message.INFINITE_LEASE
    let t2 = ack.rebindingTime
    if (infinite) t2 = Message.INFINITE_LEASE
    else if (t2 === undefined || t2 >= leaseSeconds) t2 = Math.floor(leaseSeconds * 0.875)
    let t1 = ack.renewalTime
    if (infinite) t1 = Message.INFINITE_LEASE
    else if (t1 === undefined || t1 > t2) t1 = Math.min(t2, Math.floor(leaseSeconds * 0.5))
    const mask = ack.subnetMask
    const prefixLength = mask !== undefined ? prefixOf(mask) : classfulPrefix(ack.yiaddr)
    const router = ack.router?.[0]
    return {
      address: ack.yiaddr,
      prefixLength,
      subnetMask: prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0,
      ...(router !== undefined ? { router } : {}),
      dns: ack.dnsServers ?? [],
      leaseSeconds,
      t1,
      t2,
      server: ack.serverIdentifier ?? knownServer ?? this.offeredServer,
      obtainedAt
    }
  }
}

/** A unicast address a lease can hold. */
const usable = (a: Ipv4Address): boolean => a !== IPV4_ANY && a !== IPV4_BROADCAST && a >>> 28 < 0xe
