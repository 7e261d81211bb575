/**
 * The TCP layer: demultiplexes segments to connections (pure `TcpConnection`
 * state machines) and listeners, answers closed ports with RST (RFC 9293
 * §3.10.7.1), bounds SYN backlogs and falls back to SYN cookies when one is
 * full, runs every connection's timers from one heap, and turns what the
 * connections emit into IPv4 datagrams. Users get `Tcp.listen`, `Tcp.serve`
 * and `Tcp.connect`, with a connection's bytes as a Stream and a Sink.
 */
import { Context, Effect, Layer, Queue, Random, Schedule, Stream, type Option, type Scope, type Sink } from "effect"
import type { IpAddress } from "../protocols/address.js"
import * as Checksum from "../protocols/checksum.js"
import type * as Ip from "../protocols/ipv4.js"
import { formatIpv6 } from "../protocols/ipv6/address.js"
import * as Ip6 from "../protocols/ipv6/header.js"
import {
  defaultConfig,
  Event,
  makeSegmentIn,
  TcpConnection,
  type ConnectionConfig,
  type SegmentOut,
  type State
} from "../protocols/tcp/connection.js"
import { IsnGenerator, ipv4Tuple, ipv6Tuple } from "../protocols/tcp/isn.js"
import * as Segment from "../protocols/tcp/segment.js"
import { seqAdd } from "../protocols/tcp/seq.js"
import { decodeTimestamp, encodeTimestamp, mssIndex, MSS_TABLE, SynCookies } from "../protocols/tcp/syn-cookie.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { TimerHeap } from "../runtime/TimerHeap.js"
import { Ipv4 } from "./Ipv4.js"
import { Ipv6 } from "./Ipv6.js"
import { TcpDemux } from "./internal/tcp-demux.js"
import { failure, makeEntry, makeSocket, type Entry, type Listener, type SocketDeps } from "./internal/tcp-socket.js"
import { TcpError } from "./internal/tcp-error.js"

/** A TCP endpoint. */
export interface Endpoint {
  /** An IPv4 address (number) or an IPv6 address (16 bytes). */
  readonly address: IpAddress
  readonly port: number
}

export { TcpError }

/** Options of a connection (and of the connections a listener accepts). */
export interface SocketOptions {
  /** Disable Nagle's algorithm. */
  readonly noDelay?: boolean
  readonly sendBufferSize?: number
  readonly recvBufferSize?: number
  readonly congestion?: "cubic" | "newreno"
  readonly keepalive?: { readonly idleMillis: number; readonly intervalMillis: number; readonly probes: number }
}

/** Options of `connect`. */
export interface ConnectOptions extends SocketOptions {
  /** Bind this local port instead of an ephemeral one (0: ephemeral); a simultaneous open needs both ends known. */
  readonly localPort?: number
}

/** Options of `listen`. */
export interface ListenOptions extends SocketOptions {
  /** Established connections waiting to be accepted (default 128). */
  readonly backlog?: number
  /** Half-open (SYN-RECEIVED) connections before SYN cookies take over (default 256). */
  readonly synBacklog?: number
}

/** Figures of one connection, like `ss -ti`. */
export interface TcpInfo {
  readonly state: State
  readonly cwnd: number
  readonly ssthresh: number
  readonly srttMillis: number | undefined
  readonly rtoMillis: number
  readonly bytesInFlight: number
  readonly sndMss: number
  readonly sndWindow: number
  readonly rcvWindow: number
  readonly retransmits: number
  readonly windowScale: { readonly send: number; readonly receive: number } | undefined
  readonly sack: boolean
  readonly timestamps: boolean
  /** Fast retransmits (entries into loss recovery on duplicate ACKs or SACK). */
  readonly fastRetransmits: number
  /** Retransmission timer expiries. */
  readonly rtoExpiries: number
  /** Zero-window probes sent. */
  readonly zeroWindowProbes: number
  /** Payload bytes received out of order (held for reassembly). */
  readonly outOfOrderBytes: number
  /** Challenge ACKs sent (RFC 5961). */
  readonly challengeAcks: number
  /** Segments received and sent. */
  readonly segmentsIn: number
  readonly segmentsOut: number
}

/** An open TCP connection. */
export interface TcpSocket {
  readonly local: Endpoint
  readonly remote: Endpoint
  /** The next chunk of received bytes; None once the peer closed its side and all was read. */
  readonly read: Effect.Effect<Option.Option<Uint8Array>, TcpError>
  /** Received bytes until the peer closes its side. */
  readonly stream: Stream.Stream<Uint8Array, TcpError>
  /** Queues bytes to send; completes once they are all in the send buffer (waits for room). */
  readonly write: (data: Uint8Array) => Effect.Effect<void, TcpError>
  /** Writes every chunk; does not close. */
  readonly sink: Sink.Sink<void, Uint8Array, never, TcpError>
  /** Half-close: sends FIN after the queued bytes; reading goes on. */
  readonly closeWrite: Effect.Effect<void>
  /** Closes both directions gracefully (FIN); unread input is discarded from now on. */
  readonly close: Effect.Effect<void>
  /** Resets the connection (RST). */
  readonly abort: Effect.Effect<void>
  /** Current figures. */
  readonly info: () => TcpInfo
}

/** Cumulative figures of the TCP layer. */
export interface TcpTotals {
  readonly connections: number
  readonly segmentsIn: number
  readonly segmentsOut: number
  readonly retransmits: number
  readonly fastRetransmits: number
  readonly rtoExpiries: number
  readonly sackRecoveries: number
  readonly outOfOrderBytes: number
  readonly zeroWindowProbes: number
  readonly challengeAcks: number
}

/** The TCP layer's service. */
export interface TcpService {
  /** Listens on `port`; the Stream yields accepted connections. The listener closes with the scope. */
  readonly listen: (
    port: number,
    options?: ListenOptions
  ) => Effect.Effect<Stream.Stream<TcpSocket>, TcpError, Scope.Scope>
  /** Opens a connection; it is closed gracefully with the scope. */
  readonly connect: (to: Endpoint, options?: ConnectOptions) => Effect.Effect<TcpSocket, TcpError, Scope.Scope>
  /** Connections by state, for metrics. */
  readonly connectionsByState: () => Record<string, number>
  /** Figures summed over every connection since the layer started (closed ones included). */
  readonly totals: () => TcpTotals
  readonly counters: LayerCounters
}

/** The TCP layer. */
export class Tcp extends Context.Tag("isla/Tcp")<Tcp, TcpService>() {}

/** Listens on `port` (see `TcpService.listen`). */
export const listen = (port: number, options?: ListenOptions) => Effect.flatMap(Tcp, (t) => t.listen(port, options))

/** Connects to `to` (see `TcpService.connect`). */
export const connect = (to: Endpoint, options?: ConnectOptions) => Effect.flatMap(Tcp, (t) => t.connect(to, options))

/**
 * Serves `port`: each accepted connection runs `handler` in its own fiber
 * and is closed when the handler ends. Runs until the scope closes.
 */
export const serve = <E, R>(
  port: number,
  handler: (socket: TcpSocket) => Effect.Effect<void, E, R>,
  options?: ListenOptions
): Effect.Effect<void, TcpError, Tcp | R | Scope.Scope> =>
  Effect.gen(function*() {
    const connections = yield* listen(port, options)
    yield* connections.pipe(
      Stream.runForEach((socket) =>
        Effect.forkScoped(
          handler(socket).pipe(
            Effect.catchAllCause(() => socket.abort),
            Effect.ensuring(socket.close)
          )
        )
      ),
      Effect.forkScoped
    )
  })

/** Limits of the TCP layer. */
export interface TcpLayerOptions {
  /** Connections at most (all states). Default 20,000. */
  readonly maxConnections?: number
  /** Connection defaults (buffers, timers). */
  readonly connection?: Partial<ConnectionConfig>
}

const DONT_FRAGMENT = { dontFragment: true } as const

/** Builds the TCP layer and wires it to IPv4. */
export const make = (layerOptions: TcpLayerOptions = {}) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const ipv4 = yield* Ipv4
    const ipv6 = yield* Ipv6
    const link = loop.link
    const counters = loop.counters.layer("tcp")
    const maxConnections = layerOptions.maxConnections ?? 20_000
    const pathMss = ipv4.maxPayload - Segment.HEADER_LEN
    // TSO over IPv4 when the link segments for us: up to 64 KiB of data per packet (60 bytes kept for the header).
    const tsoMaxBytes = ipv4.tsoMaxPayload > 0 ? ipv4.tsoMaxPayload - 60 : 0
    const tsoMaxBytes6 = ipv6.tsoMaxPayload > 0 ? ipv6.tsoMaxPayload - 60 : 0
    const baseConfig: ConnectionConfig = {
      ...defaultConfig,
      mss: pathMss,
      pathMss,
      tsoMaxBytes,
      ...layerOptions.connection
    }
    // Secrets for ISNs and cookies from Effect's Random: deterministic under a seeded Random in tests.
    const makeSecret = Effect.gen(function*() {
      const s = new Uint8Array(16)
      for (let i = 0; i < 16; i++) s[i] = yield* Random.nextIntBetween(0, 256)
      return s
    })
    const isnGen = new IsnGenerator(yield* makeSecret)
    const cookies = new SynCookies(yield* makeSecret)
    const tuple = new Uint8Array(12)
    const tuple6 = new Uint8Array(36)
    /** The MSS of IPv6 paths towards `remote` (RFC 8200 §5: at least 1280 - 60). */
    const pathMss6 = (remote: Uint8Array) => ipv6.unsafeMaxPayload(remote) - Segment.HEADER_LEN
    const config6 = (c: ConnectionConfig, remote: Uint8Array): ConnectionConfig => {
      const mss = pathMss6(remote)
      return { ...c, mss: Math.min(c.mss, mss), pathMss: mss, tsoMaxBytes: tsoMaxBytes6 }
    }

    const demux = new TcpDemux()
    const listeners = new Map<number, Listener>()
    const timers = new TimerHeap<Entry>()
    let nextEphemeral = 32768 + (Math.floor(loop.time() * 7) % 28000)

    const segIn = makeSegmentIn()
    const view = new Segment.Packet(new Uint8Array(0), 0, 0)
    const scratch = new Uint8Array(0x10000 + 64)
    const rstOptions = Segment.makeOptions()

    /** Sends one segment of `e`'s connection. */
    const emit = (e: Entry, seg: SegmentOut): void => {
      const opts = seg.options
      const hl = Segment.emitHeaderLength(opts)
      if (seg.dataLength > e.conn.sndMss) return emitLarge(e, seg, hl)
      // The payload straight from the send buffer to its place after the header (no closure per segment).
      if (seg.dataLength > 0) e.conn.sendBuffer.peek(seg.dataOffset, scratch, hl, seg.dataLength)
      Segment.emitHeader(
        scratch,
        0,
        e.localPort,
        e.remotePort,
        seg.seq,
        seg.ack,
        seg.flags,
        seg.window,
        opts,
        seg.dataLength,
        e.pseudo
      )
      const r = sendIp(e.localAddr, e.remoteAddr, hl + seg.dataLength)
      if (r === "Sent" || r === "Queued") counters.tx++
      else counters.drop(`tx_${r}`)
    }

    /**
     * A segment of several MSS (TSO): one packet for the link to cut, its
     * checksum field holding the pseudo-header sum over the whole length (the
     * link completes each segment's); or, when the link cannot (or the next
     * hop is not resolved yet), MSS-sized segments cut here, PSH and FIN on
     * the last one only.
     */
    /** NEEDS_CSUM: the checksum field holds the pseudo-header sum over `total` bytes, folded, not complemented. */
    const writePartialChecksum = (pseudo: number, total: number) => {
      let sum = pseudo + (total >>> 16) + (total & 0xffff)
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
      scratch[Segment.field.CHECKSUM] = sum >>> 8
      scratch[Segment.field.CHECKSUM + 1] = sum & 0xff
    }

    const emitLarge = (e: Entry, seg: SegmentOut, hl: number): void => {
      const len = seg.dataLength
      const mss = e.conn.sndMss
      const total = hl + len
      e.conn.sendBuffer.peek(seg.dataOffset, scratch, hl, len)
      Segment.emitHeader(scratch, 0, e.localPort, e.remotePort, seg.seq, seg.ack, seg.flags, seg.window, seg.options, len)
      writePartialChecksum(e.pseudo, total)
      const r = typeof e.remoteAddr === "number" ?
        ipv4.unsafeSendTso(e.remoteAddr, scratch, 0, total, hl, mss) :
        ipv6.unsafeSendTso(e.remoteAddr, e.localAddr as Uint8Array, scratch, 0, total, hl, mss)
      if (r !== "Unsupported") {
        if (r === "Sent") counters.tx++
        else counters.drop(`tx_${r}`)
        return
      }
      const middle = seg.flags & ~(Segment.Flags.PSH | Segment.Flags.FIN)
      for (let at = 0; at < len; at += mss) {
        const n = Math.min(mss, len - at)
        e.conn.sendBuffer.peek(seg.dataOffset + at, scratch, hl, n)
        Segment.emitHeader(
          scratch,
          0,
          e.localPort,
          e.remotePort,
          (seg.seq + at) >>> 0,
          seg.ack,
          at + n >= len ? seg.flags : middle,
          seg.window,
          seg.options,
          n,
          e.pseudo
        )
        const r = sendIp(e.localAddr, e.remoteAddr, hl + n)
        if (r === "Sent" || r === "Queued") counters.tx++
        else counters.drop(`tx_${r}`)
      }
    }

    // One options object for every IPv6 send, its source set per segment (no allocation per segment).
    const opts6: { src: Uint8Array } = { src: new Uint8Array(16) }
    const sendFrom = (src: Uint8Array) => {
      opts6.src = src
      return opts6
    }

    /** Sends the segment in `scratch[0 .. length)` over the address's family. */
    const sendIp = (local: IpAddress, remote: IpAddress, length: number) =>
      typeof remote === "number" ?
        // DF on every segment: path MTU discovery (RFC 1191) instead of fragmentation.
        ipv4.unsafeSend(remote, Segment.PROTOCOL, scratch, 0, length, DONT_FRAGMENT) :
        // IPv6 routers never fragment (RFC 8200 §5); the MSS follows the path MTU (RFC 8201).
        ipv6.unsafeSend(remote, Segment.PROTOCOL, scratch, 0, length, sendFrom(local as Uint8Array))

    /** The pseudo-header's partial sum without the length (added per segment). */
    const pseudoOf = (local: IpAddress, remote: IpAddress) =>
      typeof local === "number" ?
        Checksum.pseudoHeaderV4(local, remote as number, Segment.PROTOCOL, 0) :
        Ip6.pseudoHeaderV6(local, remote as Uint8Array, Segment.PROTOCOL, 0)

    /** A bare RST (or RST-ACK) to an address with no connection. */
    const sendRst = (
      localAddr: IpAddress,
      localPort: number,
      remoteAddr: IpAddress,
      remotePort: number,
      seq: number,
      ack: number,
      withAck: boolean
    ) => {
      const pseudo = pseudoOf(localAddr, remoteAddr)
      Segment.emitHeader(
        scratch,
        0,
        localPort,
        remotePort,
        seq,
        withAck ? ack : 0,
        withAck ? Segment.Flags.RST | Segment.Flags.ACK : Segment.Flags.RST,
        0,
        undefined,
        0,
        pseudo
      )
      const r = sendIp(localAddr, remoteAddr, Segment.HEADER_LEN)
      if (r === "Sent" || r === "Queued") counters.tx++
    }

    const schedule = (e: Entry) => {
      const at = e.conn.pollAt()
      if (at < e.timerAt) {
        e.timerAt = at
        timers.push(at, e)
        loop.unsafeWake()
      }
    }

    /** After input, a timer or a user call: send what is due, wake users, reap. */
    const settle = (e: Entry, now: number) => {
      const c = e.conn
      if (c.rstForUnacceptableAck !== undefined) {
        sendRst(e.localAddr, e.localPort, e.remoteAddr, e.remotePort, c.rstForUnacceptableAck, 0, false)
        c.rstForUnacceptableAck = undefined
      }
      c.dispatch(now, e.emit)
      if (e.discardInput && c.readable > 0) {
        c.consume(c.readable)
        c.dispatch(now, e.emit)
      }
      if (c.state === "TimeWait") {
        if (c.readable === 0) c.recvBuffer.release()
        // The user closed it: the entry no longer needs the socket (its Streams, Sinks, closures);
        // a TIME-WAIT connection then holds a few hundred bytes, not kilobytes.
        if (e.discardInput && e.readWaiter === undefined && e.writeWaiter === undefined) e.socket = undefined
      }
      const ev = c.events
      if (ev !== 0) {
        c.events = 0
        if (ev & Event.Established) {
          if (e.listener) {
            const l = e.listener
            e.listener.halfOpen--
            e.listener = undefined
            if (!Queue.unsafeOffer(l.queue, socketOf(e))) {
              counters.drop("accept_queue_full")
              c.abort()
              c.dispatch(now, e.emit)
            }
          }
          wake(e, "open")
        }
        if (ev & (Event.Readable | Event.Closed)) wake(e, "read")
        if (ev & (Event.Writable | Event.Closed)) wake(e, "write")
        if (ev & Event.Closed) wake(e, "open")
      }
      if (c.state === "Closed") {
        demux.remove(e)
        if (e.listener) {
          e.listener.halfOpen--
          e.listener = undefined
        }
        return
      }
      schedule(e)
    }

    const wake = (e: Entry, which: "read" | "write" | "open") => {
      const w = which === "read" ? e.readWaiter : which === "write" ? e.writeWaiter : e.openWaiter
      if (w === undefined) return
      if (which === "read") e.readWaiter = undefined
      else if (which === "write") e.writeWaiter = undefined
      else e.openWaiter = undefined
      w()
    }

    const newEntry = (
      conn: TcpConnection,
      localAddr: IpAddress,
      localPort: number,
      remoteAddr: IpAddress,
      remotePort: number
    ) =>
      makeEntry(conn, localAddr, localPort, remoteAddr, remotePort, pseudoOf(localAddr, remoteAddr), emit)

    /** The 4-tuple's bytes for ISNs and cookies (RFC 6528). */
    const tupleOf = (localAddr: IpAddress, localPort: number, remoteAddr: IpAddress, remotePort: number) =>
      typeof localAddr === "number" ?
        ipv4Tuple(tuple, localAddr, localPort, remoteAddr as number, remotePort) :
        ipv6Tuple(tuple6, localAddr, localPort, remoteAddr as Uint8Array, remotePort)

    const isnFor = (localAddr: IpAddress, localPort: number, remoteAddr: IpAddress, remotePort: number, now: number) =>
      isnGen.isn(tupleOf(localAddr, localPort, remoteAddr, remotePort), now * 1000)

    /**
     * A listener got a segment for no connection: SYN, cookie ACK, or RST.
     * `src`/`dst` are the segment's addresses (copies for IPv6: they may be kept).
     */
    const onListener = (l: Listener, src: IpAddress, dst: IpAddress, now: number) => {
      const flags = segIn.flags
      const sport = view.srcPort
      const dport = view.dstPort
      if (flags & Segment.Flags.RST) return
      if (flags & Segment.Flags.SYN && !(flags & Segment.Flags.ACK)) {
        if (l.halfOpen < l.synBacklog && demux.count < maxConnections) {
          const iss = isnFor(dst, dport, src, sport, now)
          const cfg = typeof src === "number" ? l.config : config6(l.config, src)
          const conn = new TcpConnection(cfg, iss, now, iss ^ 0x5a5a5a5a)
          conn.passive = true
          conn.acceptSyn(segIn, now)
          const e = newEntry(conn, dst, dport, src, sport)
          e.listener = l
          l.halfOpen++
          demux.insert(e)
          settle(e, now)
          return
        }
        // RFC 4987 §3.6: the backlog is full, answer statelessly with a cookie.
        counters.drop("syn_backlog_full")
        const o = segIn.options
        const mss = o.mss > 0 ? o.mss : 536
        const ourMss = typeof src === "number" ? pathMss : pathMss6(src)
        const iss = cookies.make(tupleOf(dst, dport, src, sport), segIn.seq, Math.min(mss, ourMss), Math.floor(now / 1000))
        const out = rstOptions
        Segment.resetOptions(out)
        out.mss = MSS_TABLE[mssIndex(Math.min(mss, ourMss))]!
        if (o.timestamp) {
          out.timestamp = true
          out.tsVal = encodeTimestamp(now >>> 0, {
            windowScale: o.windowScale >= 0 ? o.windowScale : undefined,
            sackPermitted: o.sackPermitted
          })
          out.tsEcr = o.tsVal
          out.sackPermitted = o.sackPermitted
          if (o.windowScale >= 0) out.windowScale = Math.min(14, windowShift(l.config.recvBufferSize))
        }
        const pseudo = pseudoOf(dst, src)
        const hl = Segment.emitHeader(
          scratch,
          0,
          dport,
          sport,
          iss,
          seqAdd(segIn.seq, 1),
          Segment.Flags.SYN | Segment.Flags.ACK,
          Math.min(l.config.recvBufferSize, 0xffff),
          out,
          0,
          pseudo
        )
        if (sendIp(dst, src, hl) === "Sent") counters.tx++
        return
      }
      if (flags & Segment.Flags.ACK && !(flags & Segment.Flags.SYN)) {
        // Maybe the ACK of a cookie SYN-ACK.
        const mss = cookies.check(
          tupleOf(dst, dport, src, sport),
          seqAdd(segIn.seq, -1 | 0),
          seqAdd(segIn.ack, -1 | 0),
          Math.floor(now / 1000)
        )
        if (mss !== undefined && demux.count < maxConnections) {
          const o = segIn.options
          const decoded = o.timestamp ? decodeTimestamp(o.tsEcr) : undefined
          const cfg = typeof src === "number" ? l.config : config6(l.config, src)
          const conn = new TcpConnection(cfg, seqAdd(segIn.ack, -1 | 0), now, 0)
          conn.passive = true
          conn.acceptCookie(segIn, mss, decoded?.windowScale, decoded?.sackPermitted ?? false, now)
          const e = newEntry(conn, dst, dport, src, sport)
          e.listener = l
          l.halfOpen++
          demux.insert(e)
          conn.input(segIn, now)
          settle(e, now)
          return
        }
      }
      counters.drop("no_connection")
      rstFor(src, dst)
    }

    /** RFC 9293 §3.10.7.1: the reply to a segment for a closed port (never to a broadcast or multicast). */
    const rstFor = (src: IpAddress, dst: IpAddress) => {
      const flags = segIn.flags
      if (flags & Segment.Flags.RST) return
      if (typeof dst === "number" ? ipv4.unsafeIsBroadcast(dst) : dst[0] === 0xff) return
      if (flags & Segment.Flags.ACK) {
        sendRst(dst, view.dstPort, src, view.srcPort, segIn.ack, 0, false)
      } else {
        const len = segIn.payloadLength + (flags & Segment.Flags.SYN ? 1 : 0) + (flags & Segment.Flags.FIN ? 1 : 0)
        sendRst(dst, view.dstPort, src, view.srcPort, 0, seqAdd(segIn.seq, len), true)
      }
    }

    /** Fills `segIn` from the segment `view` wraps; false when its options are malformed. */
    const readSegment = (p: Segment.Packet, buffer: Uint8Array): boolean => {
      const badOpt = Segment.parseOptions(p, segIn.options)
      if (badOpt !== undefined) {
        counters.drop(badOpt.reason)
        return false
      }
      segIn.seq = p.seq
      segIn.ack = p.ack
      segIn.flags = p.flags
      segIn.window = p.window
      segIn.payload = buffer
      segIn.payloadOffset = p.payloadOffset
      segIn.payloadLength = p.payloadLength
      return true
    }

    /** A segment for a known connection. */
    const onConnection = (e: Entry, now: number) => {
      e.conn.input(segIn, now)
      // In-order data: answer once at the end of the burst (one ACK, one wake-up
      // for many segments). Out-of-order data and control segments are answered
      // at once, so duplicate ACKs are never coalesced (RFC 5681 §4.2).
      if (
        segIn.payloadLength > 0 && e.conn.assembler.isEmpty && e.conn.rstForUnacceptableAck === undefined &&
        (segIn.flags & (Segment.Flags.SYN | Segment.Flags.FIN | Segment.Flags.RST)) === 0
      ) {
        if (!e.deferred) {
          e.deferred = true
          deferred.push(e)
        }
        return
      }
      settle(e, now)
    }

    const input6 = (buffer: Uint8Array, offset: number, length: number, header: Ip6.Packet): void => {
      counters.rx++
      const p = view.wrap(buffer, offset, length)
      const bad = p.check()
      if (bad !== undefined) return counters.drop(bad.reason)
      const hb = header.buffer
      const so = header.srcOffset
      const dOff = header.dstOffset
      if (!link.rxChecksumValid && !p.verifyChecksum(Ip6.pseudoHeaderV6(hb, hb, Segment.PROTOCOL, length, so, dOff))) {
        return counters.drop("bad_checksum")
      }
      if (!readSegment(p, buffer)) return
      const now = loop.time()
      const e = demux.lookup6(p.dstPort, hb, dOff, hb, so, p.srcPort)
      if (e !== undefined && e.conn.state !== "Closed") return onConnection(e, now)
      const l = listeners.get(p.dstPort)
      if (l !== undefined && ipv6.unsafeIsOurs(hb, dOff)) return onListener(l, header.src, header.dst, now)
      counters.drop("no_connection")
      rstFor(header.src, header.dst)
    }

    const input = (buffer: Uint8Array, offset: number, length: number, header: Ip.Packet): void => {
      counters.rx++
      const p = view.wrap(buffer, offset, length)
      const bad = p.check()
      if (bad !== undefined) return counters.drop(bad.reason)
      const src = header.src
      const dst = header.dst
      // A checksum the link vouches for (TAP offload) is not computed again.
      if (!link.rxChecksumValid && !p.verifyChecksum(Checksum.pseudoHeaderV4(src, dst, Segment.PROTOCOL, length))) {
        return counters.drop("bad_checksum")
      }
      if (!readSegment(p, buffer)) return
      const now = loop.time()
      const e = demux.lookup4(p.dstPort, src, p.srcPort)
      if (e !== undefined && e.conn.state !== "Closed") return onConnection(e, now)
      const l = listeners.get(p.dstPort)
      if (l !== undefined && dst === ipv4.config.address) return onListener(l, src, dst, now)
      counters.drop("no_connection")
      rstFor(src, dst)
    }

    const deferred: Array<Entry> = []
    yield* loop.addBurstHook(() => {
      if (deferred.length === 0) return
      const now = loop.time()
      for (let i = 0; i < deferred.length; i++) {
        const e = deferred[i]!
        e.deferred = false
        settle(e, now)
      }
      deferred.length = 0
    })

    yield* ipv4.register(Segment.PROTOCOL, input)
    // ICMP errors about our segments: path MTU (RFC 1191) and unreachable while connecting.
    yield* ipv4.registerErrorHandler(Segment.PROTOCOL, (type, code, mtu, quote, q, qlen) => {
      const ihl = (quote[q]! & 0x0f) * 4
      if (qlen < ihl + 8) return
      const t = q + ihl
      const remote = ((quote[q + 16]! << 24) | (quote[q + 17]! << 16) | (quote[q + 18]! << 8) | quote[q + 19]!) >>> 0
      const localPort = (quote[t]! << 8) | quote[t + 1]!
      const remotePort = (quote[t + 2]! << 8) | quote[t + 3]!
      const seq = ((quote[t + 4]! << 24) | (quote[t + 5]! << 16) | (quote[t + 6]! << 8) | quote[t + 7]!) >>> 0
      const e = demux.lookup4(localPort, remote, remotePort)
      if (e === undefined) return
      const now = loop.time()
      if (type === 3 && code === 4) {
        if (e.conn.onPathMtu(mtu, seq)) counters.drop("pmtu_reduced")
      } else if (type === 3 && (code === 2 || code === 3)) {
        e.conn.onUnreachable(seq)
      }
      settle(e, now)
    })
    yield* ipv6.register(Segment.PROTOCOL, input6)
    // ICMPv6 errors about our segments: Packet Too Big (RFC 8201) and port unreachable while connecting.
    yield* ipv6.registerErrorHandler(Segment.PROTOCOL, (type, code, mtu, quote, q, qlen) => {
      if (qlen < Ip6.HEADER_LEN + 8 || quote[q + 6] !== Segment.PROTOCOL) return
      const t = q + Ip6.HEADER_LEN
      const localPort = (quote[t]! << 8) | quote[t + 1]!
      const remotePort = (quote[t + 2]! << 8) | quote[t + 3]!
      const seq = ((quote[t + 4]! << 24) | (quote[t + 5]! << 16) | (quote[t + 6]! << 8) | quote[t + 7]!) >>> 0
      const e = demux.lookup6(localPort, quote, q + 8, quote, q + 24, remotePort)
      if (e === undefined) return
      const now = loop.time()
      if (type === 2) {
        // onPathMtu takes off 40 bytes of IPv4 + TCP headers; IPv6's header is 20 bytes longer.
        if (e.conn.onPathMtu(Math.max(1280, mtu) - 20, seq)) counters.drop("pmtu_reduced")
      } else if (type === 1 && code === 4) {
        e.conn.onUnreachable(seq)
      }
      settle(e, now)
    })
    yield* loop.addTimer({
      pollAt: () => timers.peek(),
      poll: (now) => {
        for (;;) {
          const due = timers.popDue(now)
          if (due === undefined) return
          const e = due.item
          if (e.timerAt !== due.deadline) continue // stale: rescheduled since
          e.timerAt = Infinity
          if (e.conn.state === "Closed") continue
          e.conn.onTimer(now)
          settle(e, now)
        }
      }
    })

    // Shutdown (SPEC §3): FIN on every open connection, at most 2 s for them to
    // finish while the poll loop still runs, then RST for what is left.
    const open = () => {
      const list: Array<Entry> = []
      demux.forEach((e) => {
        if (e.conn.state !== "Closed" && e.conn.state !== "TimeWait") list.push(e)
      })
      return list
    }
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const now = loop.time()
        for (const e of open()) {
          e.discardInput = true
          e.conn.close(now)
          settle(e, now)
        }
        yield* Effect.suspend(() => open().length === 0 ? Effect.void : Effect.fail("open")).pipe(
          Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 100 }),
          Effect.ignore
        )
        for (const e of open()) {
          e.conn.abort()
          settle(e, loop.time())
        }
      })
    )

    const configFor = (o: SocketOptions | undefined): ConnectionConfig => ({
      ...baseConfig,
      ...(o?.noDelay !== undefined ? { noDelay: o.noDelay } : {}),
      ...(o?.sendBufferSize !== undefined ? { sendBufferSize: o.sendBufferSize } : {}),
      ...(o?.recvBufferSize !== undefined ? { recvBufferSize: o.recvBufferSize } : {}),
      ...(o?.congestion !== undefined ? { congestion: o.congestion } : {}),
      ...(o?.keepalive !== undefined ? { keepalive: o.keepalive } : {})
    })

    const socketDeps: SocketDeps = { settle, time: () => loop.time() }
    /** The user-facing socket of an entry (made once). */
    const socketOf = (e: Entry): TcpSocket => {
      if (e.socket === undefined) e.socket = makeSocket(e, socketDeps)
      return e.socket
    }

    const checkPort = (port: number) =>
      Number.isInteger(port) && port >= 0 && port <= 65535 ?
        Effect.void :
        Effect.fail(new TcpError({ reason: "InvalidPort", message: `invalid port ${port}` }))

    const service: TcpService = {
      listen: (port, options) =>
        Effect.gen(function*() {
          yield* checkPort(port)
          if (port === 0) return yield* new TcpError({ reason: "InvalidPort", message: "listen needs a port" })
          const queue = yield* Queue.dropping<TcpSocket>(options?.backlog ?? 128)
          const listener: Listener = {
            port,
            queue,
            synBacklog: options?.synBacklog ?? 256,
            config: configFor(options),
            halfOpen: 0
          }
          yield* Effect.acquireRelease(
            Effect.suspend(() => {
              if (listeners.has(port)) {
                return Effect.fail(new TcpError({ reason: "PortInUse", message: `TCP port ${port} is in use` }))
              }
              listeners.set(port, listener)
              return Effect.void
            }),
            () =>
              Effect.suspend(() => {
                listeners.delete(port)
                // Connections not yet accepted go with the listener.
                return Queue.takeAll(queue).pipe(
                  Effect.flatMap((pending) => Effect.forEach(pending, (s) => s.abort, { discard: true })),
                  Effect.zipRight(Queue.shutdown(queue))
                )
              })
          )
          return Stream.fromQueue(queue)
        }),

      connect: (to, options) =>
        Effect.gen(function*() {
          yield* checkPort(to.port)
          const remote = to.address
          let local: IpAddress
          if (typeof remote === "number") {
            local = ipv4.unsafeSourceFor(remote)
            if (local === 0) return yield* new TcpError({ reason: "NoRoute", message: "no IPv4 address configured" })
          } else {
            if (!ipv6.enabled) return yield* new TcpError({ reason: "NoRoute", message: "IPv6 is disabled" })
            const src = ipv6.unsafeSourceFor(remote)
            if (src === undefined) {
              return yield* new TcpError({ reason: "NoRoute", message: `no IPv6 source address for ${formatIpv6(remote)}` })
            }
            local = src
          }
          if (demux.count >= maxConnections) {
            return yield* new TcpError({ reason: "TooManyConnections", message: "connection table full" })
          }
          let port = 0
          const bind = options?.localPort
          if (bind !== undefined && bind !== 0) {
            yield* checkPort(bind)
            if (listeners.has(bind) || demux.lookup(bind, local, remote, to.port) !== undefined) {
              return yield* new TcpError({ reason: "PortInUse", message: `TCP port ${bind} is in use` })
            }
            port = bind
          }
          for (let i = 0; port === 0 && i < 28232; i++) {
            const p = nextEphemeral
            nextEphemeral = nextEphemeral >= 60999 ? 32768 : nextEphemeral + 1
            if (!listeners.has(p) && demux.lookup(p, local, remote, to.port) === undefined) {
              port = p
              break
            }
          }
          if (port === 0) return yield* new TcpError({ reason: "NoFreePort", message: "no free local port" })
          const now = loop.time()
          const iss = isnFor(local, port, remote, to.port, now)
          const cfg = typeof remote === "number" ? configFor(options) : config6(configFor(options), remote)
          const conn = new TcpConnection(cfg, iss, now, iss ^ 0x5a5a5a5a)
          const e = newEntry(conn, local, port, remote, to.port)
          demux.insert(e)
          conn.connect(now)
          settle(e, now)
          const socket = socketOf(e)
          yield* Effect.addFinalizer(() => socket.close)
          yield* Effect.async<void>((resume) => {
            if (conn.state !== "SynSent" && conn.state !== "SynReceived") return resume(Effect.void)
            e.openWaiter = () => resume(Effect.void)
            return Effect.sync(() => {
              e.openWaiter = undefined
              if (conn.state === "SynSent" || conn.state === "SynReceived") {
                conn.abort()
                settle(e, loop.time())
              }
            })
          })
          if (conn.state === "Closed") return yield* failure(e)
          return socket
        }),

      connectionsByState: () => demux.byState(),
      totals: () => demux.totals(),
      counters
    }
    return service
  })

const windowShift = (size: number): number => {
  let s = 0
  while (s < 14 && size >> s > 0xffff) s++
  return s
}

/** The TCP layer as a Layer. */
export const layer = (options?: TcpLayerOptions): Layer.Layer<Tcp, never, PollLoop | Ipv4 | Ipv6> =>
  Layer.scoped(Tcp, make(options))
