/**
 * `isla demo`: a self-contained tour. It makes its own network namespace,
 * runs `isla up` on a TAP inside it (with a small web root), drives the stack
 * from the kernel side with ping, curl and nc, prints what happened, and
 * removes everything, also when a step fails or on Ctrl-C.
 */
import { Command as Cli } from "@effect/cli"
import { Command, FileSystem, Path } from "@effect/platform"
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import { Data, Duration, Effect, Option, Stream } from "effect"
import * as fs from "node:fs"

class DemoFailed extends Data.TaggedError("DemoFailed")<{ readonly message: string }> {}

const STACK_IP = "192.168.1.2"
const HOST_IP = "192.168.1.1"

interface Outcome {
  readonly ok: boolean
  readonly detail: string
}

/** Runs a command with a timeout; output and exit code, never failing. */
const run = (args: ReadonlyArray<string>, timeout: Duration.DurationInput = "20 seconds", input?: string) =>
  Effect.scoped(
    Effect.gen(function*() {
      let cmd = Command.make(args[0]!, ...args.slice(1))
      if (input !== undefined) cmd = Command.feed(cmd, input)
      const proc = yield* Command.start(cmd)
      const [stdout, stderr, code] = yield* Effect.all(
        [
          proc.stdout.pipe(Stream.decodeText(), Stream.mkString),
          proc.stderr.pipe(Stream.decodeText(), Stream.mkString),
          proc.exitCode
        ],
        { concurrency: 3 }
      )
      return { stdout, stderr, code: Number(code) }
    })
  ).pipe(
    Effect.timeout(timeout),
    Effect.catchAll((e) => Effect.succeed({ stdout: "", stderr: String(e), code: -1 }))
  )

const which = (tool: string) =>
  [process.env["PATH"] ?? "", "/usr/sbin", "/sbin"].join(":").split(":").some((d) => d !== "" && fs.existsSync(`${d}/${tool}`))

const program = Effect.gen(function*() {
  if (process.getuid?.() !== 0) {
    return yield* new DemoFailed({ message: "isla demo needs root (it creates a network namespace and a TAP device)" })
  }
  if (!fs.existsSync("/dev/net/tun")) return yield* new DemoFailed({ message: "/dev/net/tun is missing (load the tun module)" })
  const packages: Record<string, string> = { ip: "iproute2", ping: "iputils-ping", curl: "curl", nc: "netcat-openbsd" }
  const missing = Object.keys(packages).filter((t) => !which(t))
  if (missing.length > 0) {
    return yield* new DemoFailed({
      message: `missing ${missing.join(", ")}: apt-get install -y ${missing.map((t) => packages[t]).join(" ")}`
    })
  }
  const files = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const ns = `isla-demo-${process.pid}`
  const say = (line: string) => Effect.sync(() => process.stdout.write(line + "\n"))

  // The namespace and the web root, removed whatever happens.
  yield* Effect.acquireRelease(
    run(["ip", "netns", "add", ns]).pipe(
      Effect.flatMap((r) => r.code === 0 ? Effect.void : Effect.fail(new DemoFailed({ message: `ip netns add: ${r.stderr.trim()}` })))
    ),
    () => run(["ip", "netns", "del", ns])
  )
  // The kernel's side of the TAP skips DAD, so its link-local address is usable at once (namespaced sysctl).
  yield* run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0"])
  const root = yield* files.makeTempDirectoryScoped({ prefix: "isla-demo-" })
  yield* files.writeFileString(path.join(root, "index.html"), "<!doctype html><title>Isla demo</title><h1>Hello from Isla</h1>\n")
  yield* files.writeFileString(path.join(root, "hello.txt"), "hello, world: served by a TCP/IP stack in TypeScript\n")

  yield* say(`isla demo: namespace ${ns}, TAP isla0, the stack at ${STACK_IP}, the kernel at ${HOST_IP}`)
  const self = process.argv[1]!
  const stack = yield* Command.start(
    Command.make(
      "ip", "netns", "exec", ns, process.execPath, self, "up",
      "--tap", "isla0", "--ip", `${STACK_IP}/24`, "--host-ip", `${HOST_IP}/24`, "--http", root
    ).pipe(Command.stderr("pipe"))
  )
  yield* Effect.addFinalizer(() =>
    stack.kill("SIGTERM").pipe(
      Effect.zipRight(stack.exitCode.pipe(Effect.timeout("5 seconds"))),
      Effect.catchAll(() => stack.kill("SIGKILL")),
      Effect.ignore
    )
  )
  const ready = yield* stack.stdout.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.find((l) => l.startsWith("ready ")),
    Stream.runHead,
    Effect.timeout("20 seconds"),
    Effect.catchAll(() => Effect.succeed(Option.none<string>()))
  )
  if (Option.isNone(ready)) return yield* new DemoFailed({ message: "the stack did not start (no ready line in 20 s)" })
  yield* say(`  ${ready.value}`)

  const inNs = (...args: Array<string>) => ["ip", "netns", "exec", ns, ...args]
  const url = (p: string) => `http://${STACK_IP}${p}`
  const linkLocal = /ipv6=([0-9a-f:]+)/.exec(ready.value)?.[1] ?? "fe80::ff:fe00:2"
  const steps: Array<[string, Effect.Effect<Outcome, never, CommandExecutor>]> = [
    ["ping (ICMP echo, 3 requests)", run(inNs("ping", "-c", "3", "-i", "0.2", "-W", "2", STACK_IP)).pipe(Effect.map((r) => {
      const m = /(\d+) received.*\n.*= [\d.]+\/([\d.]+)\//s.exec(r.stdout)
      return { ok: r.code === 0, detail: m ? `${m[1]}/3 replies, avg ${m[2]} ms` : r.stdout.split("\n").slice(-3).join(" ") }
    }))],
    ["ping -s 4000 (fragmented both ways)", run(inNs("ping", "-c", "2", "-i", "0.2", "-s", "4000", "-W", "2", STACK_IP)).pipe(
      Effect.map((r) => ({ ok: r.code === 0, detail: /(\d+) received/.exec(r.stdout)?.[0] ?? "no reply" }))
    )],
    ["ping -6 link-local (ICMPv6 echo, NDP)", run(inNs("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", `${linkLocal}%isla0`)).pipe(Effect.map((r) => {
      const m = /(\d+) received.*\n.*= [\d.]+\/([\d.]+)\//s.exec(r.stdout)
      return { ok: r.code === 0, detail: m ? `${m[1]}/3 replies from ${linkLocal}, avg ${m[2]} ms` : (r.stdout + r.stderr).trim().split("\n").pop() ?? "" }
    }))],
    ["curl over IPv6 (TCP/HTTP on link-local)", run(inNs("curl", "-g", "-s", "-w", " %{http_code}", `http://[${linkLocal}%25isla0]/hello.txt`)).pipe(
      Effect.map((r) => ({ ok: r.code === 0 && r.stdout.startsWith("hello, world") && r.stdout.endsWith(" 200"), detail: JSON.stringify(r.stdout.slice(0, 12)) + ` ${r.stdout.slice(-3)}` }))
    )],
    ["curl GET / (HTTP/1.1)", run(inNs("curl", "-s", "-w", "\\n%{http_code} %{size_download} bytes", url("/"))).pipe(
      Effect.map((r) => ({ ok: r.code === 0 && r.stdout.includes("Hello from Isla") && r.stdout.endsWith(" bytes") && r.stdout.includes("\n200 "), detail: r.stdout.split("\n").pop() ?? "" }))
    )],
    ["curl -I /hello.txt (HEAD)", run(inNs("curl", "-s", "-I", url("/hello.txt"))).pipe(
      Effect.map((r) => ({ ok: r.stdout.startsWith("HTTP/1.1 200"), detail: r.stdout.split("\r\n").filter((l) => /^(HTTP|Content-Type|Content-Length)/i.test(l)).join("; ") }))
    )],
    ["curl /missing (404)", run(inNs("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url("/missing"))).pipe(
      Effect.map((r) => ({ ok: r.stdout === "404", detail: `status ${r.stdout}` }))
    )],
    ["curl -r 0-4 /hello.txt (byte range)", run(inNs("curl", "-s", "-r", "0-4", "-w", " %{http_code}", url("/hello.txt"))).pipe(
      Effect.map((r) => ({ ok: r.stdout === "hello 206", detail: JSON.stringify(r.stdout) }))
    )],
    ["nc to TCP echo (port 7)", run(inNs("nc", "-N", "-w", "3", STACK_IP, "7"), "10 seconds", "echo over Isla's TCP\n").pipe(
      Effect.map((r) => ({ ok: r.stdout === "echo over Isla's TCP\n", detail: JSON.stringify(r.stdout.trim()) }))
    )],
    ["nc -u to UDP echo (port 7)", run(inNs("nc", "-u", "-w", "1", STACK_IP, "7"), "10 seconds", "udp datagram\n").pipe(
      Effect.map((r) => ({ ok: r.stdout.startsWith("udp datagram"), detail: JSON.stringify(r.stdout.trim()) }))
    )],
    ["nc to a closed port (RST, refused)", run(inNs("nc", "-z", "-v", "-w", "2", STACK_IP, "5555")).pipe(
      Effect.map((r) => ({ ok: r.code !== 0 && /refused/i.test(r.stderr), detail: r.stderr.trim().split("\n").pop() ?? "" }))
    )],
    ["curl /metrics (Prometheus)", run(inNs("curl", "-s", url("/metrics"))).pipe(
      Effect.map((r) => {
        const rx = /^isla_frames_received_total (\d+)/m.exec(r.stdout)?.[1]
        const tx = /^isla_frames_sent_total (\d+)/m.exec(r.stdout)?.[1]
        return { ok: rx !== undefined && tx !== undefined, detail: `frames received ${rx}, sent ${tx}` }
      })
    )]
  ]
  let failed = 0
  for (const [name, step] of steps) {
    const o = yield* step
    if (!o.ok) failed++
    yield* say(`  ${o.ok ? "ok  " : "FAIL"} ${name.padEnd(40)} ${o.detail}`)
  }
  yield* say(failed === 0 ? "isla demo: every step passed; cleaning up" : `isla demo: ${failed} step(s) failed; cleaning up`)
  if (failed > 0) return yield* new DemoFailed({ message: `${failed} demo step(s) failed` })
}).pipe(Effect.scoped)

/** `isla demo`. */
export const demo = Cli.make("demo", {}, () => program).pipe(
  Cli.withDescription("a self-contained tour: own namespace and TAP, the stack driven by ping, curl and nc")
)
