#!/usr/bin/env node
/**
 * Isla as a TCP client over a TAP of its own, for the TAP tests of the active
 * open: opens the TAP, runs `Stack.layer` over it, `Tcp.connect`s to an echo
 * server (a kernel socket in the same namespace), writes N random bytes while
 * reading, half-closes, reads until the peer closes, and prints one JSON line
 * `{"sent":SHA256,"received":SHA256,"sentBytes":N,"receivedBytes":M,...}`.
 * Exits 0 when the connection ran to its end (the test compares the hashes),
 * 1 on a failure (one line on stderr). Uses only the built library (dist/).
 *
 * Usage (inside a namespace made for it, as root):
 *   node tcp-client.mjs --tap isla1 --ip 10.77.0.130/25 [--host-ip 10.77.0.129/25]
 *                       --to 10.77.0.129:7007 [--bytes 1048576] [--mac 02:..]
 *                       [--timeout 30000]
 */
import { execFileSync } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { Effect, Layer, Option } from "effect"
import { Link, Stack, Tap, Tcp, Wire } from "../../dist/index.js"

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  if (i >= 0 && i + 1 < args.length) return args[i + 1]
  if (fallback === undefined) usage(`missing ${name}`)
  return fallback
}
function usage(why) {
  process.stderr.write(`tcp-client: ${why}\nusage: node tcp-client.mjs --tap NAME --ip CIDR [--host-ip CIDR] --to IP:PORT [--bytes N] [--mac MAC] [--timeout MS]\n`)
  process.exit(2)
}

const tapName = option("--tap")
const cidr = Wire.Address.parseIpv4Cidr(option("--ip"))
if (cidr === undefined) usage("bad --ip")
const hostIp = option("--host-ip", "")
const [toHost, toPort] = option("--to").split(":")
const to = { address: Wire.Address.parseIpv4(toHost ?? ""), port: Number(toPort) }
if (to.address === undefined || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) usage("bad --to")
const mac = Wire.Address.parseMac(option("--mac", "02:00:00:00:01:02"))
if (mac === undefined) usage("bad --mac")
const bytes = Number(option("--bytes", String(1024 * 1024)))
const timeoutMs = Number(option("--timeout", "30000"))

const payload = randomBytes(bytes)
const chunk = 16 * 1024

const program = Effect.gen(function*() {
  const started = Date.now()
  const link = yield* Layer.build(Tap.layer({ name: tapName }))
  if (hostIp !== "") {
    // The host side of our TAP, like `isla up --host-ip` (setup only, not the data path).
    execFileSync("ip", ["addr", "add", hostIp, "dev", tapName], { timeout: 5000, stdio: ["ignore", "ignore", "pipe"] })
  }
  const stack = yield* Layer.build(
    Stack.layer({ mac, ipv4: cidr }).pipe(Layer.provide(Layer.succeedContext(link)))
  )
  const socket = yield* Tcp.connect(to).pipe(Effect.provide(stack))
  const connectedMs = Date.now() - started
  const info = socket.info()

  // Read while writing: neither side's buffers hold the whole transfer.
  const reader = yield* Effect.fork(
    Effect.gen(function*() {
      const hash = createHash("sha256")
      let received = 0
      for (;;) {
        const next = yield* socket.read
        if (Option.isNone(next)) break
        hash.update(next.value)
        received += next.value.length
      }
      return { received, sha: hash.digest("hex") }
    })
  )
  for (let offset = 0; offset < payload.length; offset += chunk) {
    yield* socket.write(payload.subarray(offset, Math.min(offset + chunk, payload.length)))
  }
  yield* socket.closeWrite
  const { received, sha } = yield* reader.await.pipe(Effect.flatten)
  yield* socket.close
  return {
    local: `${Wire.Address.formatIpv4(socket.local.address)}:${socket.local.port}`,
    remote: `${Wire.Address.formatIpv4(socket.remote.address)}:${socket.remote.port}`,
    sent: createHash("sha256").update(payload).digest("hex"),
    received: sha,
    sentBytes: payload.length,
    receivedBytes: received,
    connectedMs,
    totalMs: Date.now() - started,
    options: { windowScale: info.windowScale, sack: info.sack, timestamps: info.timestamps, mss: info.sndMss }
  }
}).pipe(
  Effect.scoped,
  Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error(`no result within ${timeoutMs} ms`) })
)

Effect.runPromise(program).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)),
  (error) => {
    process.stderr.write(`tcp-client: ${error?.message ?? String(error)}\n`)
    process.exit(1)
  }
)
