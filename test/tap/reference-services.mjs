#!/usr/bin/env node
/**
 * Reference services for the `linux` TAP test target: the kernel plays the
 * device under test, and this script binds the same services as `isla up`
 * (echo RFC 862 on UDP+TCP 7, discard RFC 863 on UDP+TCP 9, chargen-style
 * source RFC 864 on TCP 19). Prints one `ready key=value ...` line when every
 * socket is bound and exits 0 on SIGTERM/SIGINT.
 *
 * Usage: node reference-services.mjs [--ifname veth-d] [--ip 10.77.0.2/24]
 */
import dgram from "node:dgram"
import net from "node:net"
import os from "node:os"

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback
}
const ifname = option("--ifname", "veth-d")
const cidr = option("--ip", "10.77.0.2/24")

const log = (message) => process.stderr.write(`reference-services: ${message}\n`)

const udpSockets = []
const tcpServers = []
const tcpConnections = new Set()

const bindUdp = (port, onMessage) =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4")
    socket.once("error", reject)
    socket.on("message", (message, rinfo) => onMessage(socket, message, rinfo))
    socket.bind(port, "0.0.0.0", () => {
      socket.off("error", reject)
      socket.on("error", (error) => log(`udp/${port}: ${error.message}`))
      udpSockets.push(socket)
      resolve()
    })
  })

const listenTcp = (port, onConnection) =>
  new Promise((resolve, reject) => {
    const server = net.createServer((connection) => {
      tcpConnections.add(connection)
      connection.on("close", () => tcpConnections.delete(connection))
      connection.on("error", () => connection.destroy())
      onConnection(connection)
    })
    server.once("error", reject)
    server.listen(port, "0.0.0.0", () => {
      server.off("error", reject)
      tcpServers.push(server)
      resolve()
    })
  })

// RFC 864: rotating 72-character lines of the 95 printable ASCII characters.
const chargenBlock = (() => {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("")
  let text = ""
  for (let line = 0; line < 95; line++) {
    text += (printable + printable).slice(line, line + 72) + "\r\n"
  }
  return Buffer.from(text)
})()

const source = (connection) => {
  connection.on("data", () => {}) // RFC 864: input is discarded.
  const pump = () => {
    while (!connection.destroyed && connection.write(chargenBlock)) {
      // keep writing until the socket's buffer is full
    }
  }
  connection.on("drain", pump)
  pump()
}

const main = async () => {
  await bindUdp(7, (socket, message, rinfo) => socket.send(message, rinfo.port, rinfo.address))
  await bindUdp(9, () => {})
  await listenTcp(7, (connection) => connection.pipe(connection))
  await listenTcp(9, (connection) => connection.resume())
  await listenTcp(19, source)

  const addresses = os.networkInterfaces()[ifname] ?? []
  const mac = addresses[0]?.mac ?? "00:00:00:00:00:00"
  process.stdout.write(`ready tap=${ifname} mac=${mac} ipv4=${cidr} services=udp/7,udp/9,tcp/7,tcp/9,tcp/19\n`)
}

let stopping = false
const stop = (signal) => {
  if (stopping) return
  stopping = true
  log(`${signal}: shutting down`)
  for (const socket of udpSockets) socket.close()
  for (const connection of tcpConnections) connection.destroy()
  for (const server of tcpServers) server.close()
  // Everything above is closed synchronously enough; do not wait on stragglers.
  setTimeout(() => process.exit(0), 50).unref()
}
process.on("SIGTERM", () => stop("SIGTERM"))
process.on("SIGINT", () => stop("SIGINT"))

main().catch((error) => {
  log(`failed to start: ${error?.stack ?? error}`)
  process.exit(1)
})
