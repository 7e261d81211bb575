#!/usr/bin/env node
/**
 * The `isla` command. Exit codes: 0 success, 1 the operation failed (one
 * clear line on stderr), 2 bad usage.
 */
import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Logger, LogLevel } from "effect"
import { demo } from "./demo.js"
import { dhcp } from "./dhcp.js"
import { ping } from "./ping.js"
import { resolve } from "./resolve.js"
import { fetch } from "./fetch.js"
import { up } from "./up.js"

const VERSION = "0.1.0"

const isla = Command.make("isla").pipe(
  Command.withDescription("Isla: a userspace TCP/IP stack on a TAP device"),
  Command.withSubcommands([up, ping, fetch, dhcp, resolve, demo])
)

const cli = Command.run(isla, { name: "isla", version: VERSION })

const levelOf = (argv: ReadonlyArray<string>): LogLevel.LogLevel => {
  const i = argv.indexOf("--log-level")
  const v = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith("--log-level="))?.slice(12)
  switch (v) {
    case "error":
      return LogLevel.Error
    case "warn":
      return LogLevel.Warning
    case "debug":
      return LogLevel.Debug
    default:
      return LogLevel.Info
  }
}

const describe = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message !== "" ?
    e.message :
    String(e)

const logger = Logger.replace(
  Logger.defaultLogger,
  Logger.withConsoleError(Logger.logfmtLogger)
)

const program = cli(process.argv).pipe(
  Logger.withMinimumLogLevel(levelOf(process.argv)),
  Effect.provide(Layer.merge(NodeContext.layer, logger))
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return onExit(0)
    const failure = Cause.failureOption(exit.cause)
    if (failure._tag === "Some" && ValidationError.isValidationError(failure.value)) {
      process.stderr.write(`usage: isla <command> [options]; run 'isla --help' or 'isla <command> --help'\n`)
      return onExit(2)
    }
    const error = failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
    process.stderr.write(`isla: ${describe(error)}\n`)
    onExit(1)
  }
})
