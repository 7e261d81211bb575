/**
 * A connection's entry in the TCP layer (state machine, 4-tuple, timer, waiting
 * users) and the user-facing `TcpSocket` over it, whose Effects `settle` it.
 */
import { Effect, Option, type Queue, Sink, Stream } from "effect"
import { formatIpHost, type IpAddress } from "../../protocols/address.js"
import type { ConnectionConfig, ConnectionError, SegmentOut, TcpConnection } from "../../protocols/tcp/connection.js"
import type { TcpSocket } from "../Tcp.js"
import { TcpError } from "./tcp-error.js"
import { hash6 } from "./tcp-demux.js"

/** A connection known to the layer. */
export interface Entry {
  readonly conn: TcpConnection
  readonly localAddr: IpAddress
  readonly localPort: number
  readonly remoteAddr: IpAddress
  readonly remotePort: number
  readonly pseudo: number
  /** The IPv6 demux bucket (`hash6` of the 4-tuple); undefined for IPv4. */
  readonly key6: number | undefined
  listener: Listener | undefined
  timerAt: number
  readWaiter: (() => void) | undefined
  writeWaiter: (() => void) | undefined
  openWaiter: (() => void) | undefined
  /** The user closed the socket: unread input is thrown away. */
  discardInput: boolean
  socket: TcpSocket | undefined
  /** Waiting in `deferred` for the end of the receive burst. */
  deferred: boolean
  /** `emit` bound to this entry once, for `dispatch` (no closure per call). */
  emit: (seg: SegmentOut) => void
}

/** A listening port. */
export interface Listener {
  readonly port: number
  readonly queue: Queue.Queue<TcpSocket>
  readonly synBacklog: number
  readonly config: ConnectionConfig
  halfOpen: number
}

/** A new entry for `conn`: no listener, timer or socket yet; `emit` sends its segments. */
export const makeEntry = (
  conn: TcpConnection,
  localAddr: IpAddress,
  localPort: number,
  remoteAddr: IpAddress,
  remotePort: number,
  pseudo: number,
  emit: (e: Entry, seg: SegmentOut) => void
): Entry => {
  const e: Entry = {
    conn,
    localAddr,
    localPort,
    remoteAddr,
    remotePort,
    pseudo,
    key6: typeof remoteAddr === "number" ?
      undefined :
      hash6(localPort, localAddr as Uint8Array, 0, remoteAddr, 0, remotePort),
    listener: undefined,
    timerAt: Infinity,
    readWaiter: undefined,
    writeWaiter: undefined,
    openWaiter: undefined,
    discardInput: false,
    socket: undefined,
    deferred: false,
    emit: () => {}
  }
  e.emit = (seg) => emit(e, seg)
  return e
}

/** What a socket needs from the layer. */
export interface SocketDeps {
  /** Sends what is due, wakes users and reaps (the layer's `settle`). */
  readonly settle: (e: Entry, now: number) => void
  /** The poll loop's clock. */
  readonly time: () => number
}

const errorReason = (e: ConnectionError | undefined): TcpError["reason"] => {
  switch (e) {
    case "Refused":
      return "ConnectionRefused"
    case "Reset":
      return "ConnectionReset"
    case "TimedOut":
      return "ConnectionTimedOut"
    case "Aborted":
      return "ConnectionAborted"
    default:
      return "ConnectionClosed"
  }
}

/** Why `e`'s connection closed, as a TcpError. */
export const failure = (e: Entry) =>
  new TcpError({
    reason: errorReason(e.conn.error),
    message: `connection to ${formatIpHost(e.remoteAddr)}:${e.remotePort}: ${e.conn.error ?? "closed"}`
  })

/** Builds the user-facing socket of `e` (the caller keeps it in `e.socket`). */
export const makeSocket = (e: Entry, deps: SocketDeps): TcpSocket => {
  const { settle, time } = deps
  const c = e.conn
  const read: Effect.Effect<Option.Option<Uint8Array>, TcpError> = Effect.suspend(() => {
    const n = c.readable
    if (n > 0) {
      const chunk = new Uint8Array(Math.min(n, 65536))
      c.recv(chunk, 0, chunk.length)
      settle(e, time())
      return Effect.succeed(Option.some(chunk))
    }
    if (c.finReceived) return Effect.succeed(Option.none())
    if (c.state === "Closed") {
      return c.error === undefined ? Effect.succeed(Option.none()) : Effect.fail(failure(e))
    }
    return Effect.async<void>((resume) => {
      e.readWaiter = () => resume(Effect.void)
      return Effect.sync(() => {
        e.readWaiter = undefined
      })
    }).pipe(Effect.zipRight(read))
  })
  const write = (data: Uint8Array): Effect.Effect<void, TcpError> =>
    Effect.suspend(() => {
      let offset = 0
      const step: Effect.Effect<void, TcpError> = Effect.suspend(() => {
        if (c.state === "Closed" || !c.canSend || c.finQueued) {
          return Effect.fail(
            c.error !== undefined ?
              failure(e) :
              new TcpError({ reason: "ConnectionClosed", message: "the connection is closed for writing" })
          )
        }
        offset += c.send(data, offset, data.length - offset)
        settle(e, time())
        if (offset >= data.length) return Effect.void
        return Effect.async<void>((resume) => {
          e.writeWaiter = () => resume(Effect.void)
          return Effect.sync(() => {
            e.writeWaiter = undefined
          })
        }).pipe(Effect.zipRight(step))
      })
      return step
    })
  return {
    local: { address: e.localAddr, port: e.localPort },
    remote: { address: e.remoteAddr, port: e.remotePort },
    read,
    stream: Stream.repeatEffectOption(
      read.pipe(
        Effect.mapError(Option.some),
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed }))
      )
    ),
    write,
    sink: Sink.forEach(write),
    closeWrite: Effect.sync(() => {
      c.close(time())
      settle(e, time())
    }),
    close: Effect.sync(() => {
      e.discardInput = true
      if (c.state !== "Closed") {
        c.close(time())
        settle(e, time())
      }
    }),
    abort: Effect.sync(() => {
      if (c.state !== "Closed") {
        c.abort()
        settle(e, time())
      }
    }),
    info: () => ({
      state: c.state,
      cwnd: c.cc.cwnd,
      ssthresh: c.cc.ssthresh,
      srttMillis: c.rtt.srtt,
      rtoMillis: c.rtt.rto,
      bytesInFlight: c.bytesInFlight,
      sndMss: c.sndMss,
      sndWindow: c.sndWnd,
      rcvWindow: c.recvWindow(),
      retransmits: c.stats.retransmits,
      windowScale: c.wsNegotiated ? { send: c.sndWndShift, receive: c.rcvWndShift } : undefined,
      sack: c.sackEnabled,
      timestamps: c.tsEnabled,
      fastRetransmits: c.stats.fastRetransmits,
      rtoExpiries: c.stats.rtoExpiries,
      zeroWindowProbes: c.stats.zeroWindowProbes,
      outOfOrderBytes: c.stats.outOfOrderBytes,
      challengeAcks: c.stats.challengeAcks,
      segmentsIn: c.stats.segmentsIn,
      segmentsOut: c.stats.segmentsOut
    })
  }
}
