import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // TAP tests share the machine's network namespaces and CPU: run files one at a time.
    fileParallelism: false
  }
})
