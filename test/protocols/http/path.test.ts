import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { type ResolvePathOptions, resolveRequestPath } from "../../../src/protocols/http/index.js"

const resolved = (target: string, options?: ResolvePathOptions) => {
  const r = resolveRequestPath(target, options)
  if (r._tag !== "Path") throw new Error(`refused ${target}: ${r.reason}`)
  return r
}

describe("resolveRequestPath accepts", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, boolean, string]> = [
    ["/", [], true, ""],
    ["/index.html", ["index.html"], false, ""],
    ["/docs/", ["docs"], true, ""],
    ["/docs/guide/intro.html", ["docs", "guide", "intro.html"], false, ""],
    ["/a//b///c", ["a", "b", "c"], false, ""],
    ["//", [], true, ""],
    ["/a/./b/.", ["a", "b"], true, ""],
    ["/a/%2e/b", ["a", "b"], false, ""],
    ["/search?q=../../etc/passwd&x=%00", ["search"], false, "q=../../etc/passwd&x=%00"],
    ["/page#frag/../..", ["page"], false, ""],
    ["/my%20file.txt", ["my file.txt"], false, ""],
    ["/caf%C3%A9/%E2%9C%93.html", ["café", "✓.html"], false, ""],
    ["/a..b/c...", ["a..b", "c..."], false, ""],
    ["/%252e%252e/x", ["%2e%2e", "x"], false, ""],
    ["/a%3Fb", ["a?b"], false, ""],
    ["/file.tar.gz", ["file.tar.gz"], false, ""],
    ["http://example.com/a/b?c=1", ["a", "b"], false, "c=1"],
    ["HTTP://Example.COM", [], true, ""],
    ["http://example.com?x", [], true, "x"]
  ]
  for (const [target, segments, directory, query] of cases) {
    it(target, () => {
      expect(resolved(target)).toEqual({ _tag: "Path", segments, directory, query })
    })
  }

  it("absolute-form for a host we serve, port 80 optional", () => {
    const options = { hosts: ["isla.test", "192.168.1.2:8080"] }
    expect(resolved("http://ISLA.test:80/x", options).segments).toEqual(["x"])
    expect(resolved("http://isla.test/x", options).segments).toEqual(["x"])
    expect(resolved("http://192.168.1.2:8080/y", options).segments).toEqual(["y"])
  })

  it("dotfiles when allowed", () => {
    expect(resolved("/.well-known/security.txt", { allowDotfiles: true }).segments).toEqual([
      ".well-known",
      "security.txt"
    ])
    // Three dots is a name like any other on Linux, not a way up.
    expect(resolved("/.../a", { allowDotfiles: true }).segments).toEqual(["...", "a"])
    expect(resolveRequestPath("/.../a")).toMatchObject({ reason: "dotfile" })
    expect(resolveRequestPath("/../a", { allowDotfiles: true })).toMatchObject({ reason: "dot_dot" })
  })
})

describe("resolveRequestPath refuses every way out of the root", () => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ["/..", "dot_dot", 400],
    ["/../etc/passwd", "dot_dot", 400],
    ["/a/../../etc/passwd", "dot_dot", 400],
    ["/a/b/..", "dot_dot", 400],
    ["/a/../b", "dot_dot", 400],
    ["/%2e%2e/etc/passwd", "dot_dot", 400],
    ["/%2E%2E/etc/passwd", "dot_dot", 400],
    ["/%2e./etc/passwd", "dot_dot", 400],
    ["/.%2e/etc/passwd", "dot_dot", 400],
    ["//../etc/passwd", "dot_dot", 400],
    ["/a/%2e%2e", "dot_dot", 400],
    ["/..%2fetc/passwd", "encoded_slash", 400],
    ["/%2e%2e%2fetc%2fpasswd", "encoded_slash", 400],
    ["/a%2F..%2F..%2Fetc", "encoded_slash", 400],
    ["/..\\etc\\passwd", "backslash", 400],
    ["/a\\b", "backslash", 400],
    ["/..%5cetc%5cpasswd", "backslash", 400],
    ["/%5c..%5c", "backslash", 400],
    ["/%c0%ae%c0%ae/etc/passwd", "bad_encoding", 400],
    ["/%c0%af", "bad_encoding", 400],
    ["/%e0%80%ae", "bad_encoding", 400],
    ["/%ed%a0%80", "bad_encoding", 400],
    ["/%ff", "bad_encoding", 400],
    ["/%2", "bad_escape", 400],
    ["/%", "bad_escape", 400],
    ["/%zz", "bad_escape", 400],
    ["/%%32%65%%32%65/etc", "bad_escape", 400],
    ["/%u002e%u002e/etc", "bad_escape", 400],
    ["/index.html%00.png", "nul", 400],
    ["/a\x00b", "nul", 400],
    ["/a%0d%0aSet-Cookie:x", "control_char", 400],
    ["/a%09b", "control_char", 400],
    ["/a%7f", "control_char", 400],
    ["/.git/config", "dotfile", 404],
    ["/.env", "dotfile", 404],
    ["/%2egit/config", "dotfile", 404],
    ["/a/.htaccess", "dotfile", 404],
    ["*", "not_a_path", 400],
    ["example.com:443", "not_a_path", 400],
    ["etc/passwd", "bad_target", 400],
    ["../etc/passwd", "bad_target", 400],
    ["C:\\Windows\\win.ini", "bad_target", 400],
    ["file:///etc/passwd", "bad_target", 400],
    ["https://example.com/x", "bad_target", 400],
    ["http:///etc/passwd", "bad_target", 400],
    ["http://user:pw@example.com/x", "bad_target", 400],
    ["http://example.com/../etc/passwd", "dot_dot", 400],
    ["http://example.com/%2e%2e/x", "dot_dot", 400],
    ["/caf\u00e9", "bad_target", 400],
    ["/a b", "bad_target", 400],
    ["", "bad_target", 400]
  ]
  for (const [target, reason, status] of cases) {
    it(`${JSON.stringify(target)}: ${reason}`, () => {
      expect(resolveRequestPath(target)).toEqual({ _tag: "Malformed", reason, status })
    })
  }

  it("absolute-form for a host we do not serve: 421", () => {
    expect(resolveRequestPath("http://evil.example/x", { hosts: ["isla.test"] })).toEqual({
      _tag: "Malformed",
      reason: "foreign_host",
      status: 421
    })
    expect(resolveRequestPath("http://isla.test:8080/x", { hosts: ["isla.test"] })).toMatchObject({
      reason: "foreign_host"
    })
  })

  it("never returns a segment that is empty, '.', '..' or holds a separator, for any target", () => {
    const chars = "/\\.%2eEfF5cC0a?#:@x"
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 24 }), (picked) => {
        const r = resolveRequestPath("/" + picked.join(""), { allowDotfiles: true })
        if (r._tag !== "Path") return
        for (const segment of r.segments) {
          expect(segment).not.toBe("")
          expect(segment).not.toBe(".")
          expect(segment).not.toBe("..")
          expect(segment).not.toMatch(/[/\\\x00]/)
        }
      }),
      { numRuns: 2000 }
    )
  })
})
