/**
 * The TCP layer's error, in a module of its own so that the layer and its
 * internal parts (the user socket) share it without an import cycle.
 * `Tcp.ts` re-exports it.
 */
import { Data } from "effect"

/** Why a TCP operation failed. */
export class TcpError extends Data.TaggedError("TcpError")<{
  readonly reason:
    | "ConnectionRefused"
    | "ConnectionReset"
    | "ConnectionTimedOut"
    | "ConnectionAborted"
    | "ConnectionClosed"
    | "PortInUse"
    | "NoFreePort"
    | "InvalidPort"
    | "NoRoute"
    | "TooManyConnections"
  readonly message: string
}> {}

