/** DHCPv4 (RFC 2131, RFC 2132): the message wire format and the client state machine. */
export * as Message from "./message.js"
export * from "./client.js"
