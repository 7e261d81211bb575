/**
 * `isla demo` runs green: it makes and removes its own namespace and TAP and
 * every step of the tour passes (this is the README's first command).
 */
import { expect } from "vitest"
import { cliPath, describeExec, describeIslaOnly, describeTap, itIslaOnly, run } from "./harness.js"

describeTap("isla demo", { tools: ["ping", "curl", "nc"] }, () => {
  describeIslaOnly("the tour", () => {
    itIslaOnly("passes every step and leaves no namespace behind", async () => {
      const r = await run("node", [cliPath, "demo"], { timeout: 60_000 })
      expect(r.code, describeExec(r)).toBe(0)
      expect(r.stdout).toMatch(/every step passed/)
      expect(r.stdout).not.toMatch(/FAIL/)
      // SPEC §3: the ready line carries the link-local address once it passed DAD.
      expect(r.stdout).toMatch(/ready tap=isla0 mac=02:00:00:00:00:02 ipv4=192\.168\.1\.2\/24 ipv6=fe80::ff:fe00:2\/64/)
      for (const step of ["ping", "ping -6 link-local", "curl over IPv6", "curl GET", "HEAD", "404", "byte range", "TCP echo", "UDP echo", "refused", "metrics"]) {
        expect(r.stdout).toContain(step)
      }
      const ns = /namespace (isla-demo-\d+)/.exec(r.stdout)?.[1]
      expect(ns).toBeDefined()
      const list = await run("ip", ["netns", "list"])
      expect(list.stdout).not.toContain(ns!)
    }, 90_000)
  })
})
