/**
 * Host-side configuration of the TAP through the `ip` command (SPEC §3
 * `--host-ip`): an address added for the life of the scope. Runs once at
 * start, never in the data path.
 */
import { Command } from "@effect/platform"
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import { Data, Effect, Stream, type Scope } from "effect"
import { formatIpv4Cidr, type Ipv4Cidr } from "../protocols/address.js"

/** `ip` failed. */
export class HostInterfaceError extends Data.TaggedError("HostInterfaceError")<{
  readonly reason: "CommandFailed"
  readonly message: string
}> {}

const ip = (...args: Array<string>) =>
  Effect.gen(function*() {
    const cmd = Command.make("ip", ...args).pipe(Command.stdout("pipe"), Command.stderr("pipe"))
    const proc = yield* Command.start(cmd)
    const [code, err] = yield* Effect.all([
      proc.exitCode,
      proc.stderr.pipe(Stream.decodeText(), Stream.mkString)
    ], { concurrency: 2 })
    if (code !== 0) {
      return yield* new HostInterfaceError({
        reason: "CommandFailed",
        message: `ip ${args.join(" ")}: ${err.trim() || `exit ${code}`}`
      })
    }
  }).pipe(
    Effect.scoped,
    Effect.catchTag("SystemError", "BadArgument", (e) =>
      new HostInterfaceError({ reason: "CommandFailed", message: `ip ${args.join(" ")}: ${e.message}` })
    )
  )

/**
 * Adds `cidr` to `device` on the host side; removes it when the scope closes
 * unless the device goes away by itself (`removeOnClose` false).
 */
export const addAddress = (
  device: string,
  cidr: Ipv4Cidr,
  removeOnClose: boolean
): Effect.Effect<void, HostInterfaceError, CommandExecutor | Scope.Scope> =>
  Effect.acquireRelease(
    ip("addr", "add", formatIpv4Cidr(cidr), "dev", device),
    () => removeOnClose ? Effect.ignore(ip("addr", "del", formatIpv4Cidr(cidr), "dev", device)) : Effect.void
  )
