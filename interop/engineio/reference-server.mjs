// Reference ("oracle") Engine.IO server implementing the echo contract with
// the official npm `engine.io` package. It exists only to develop and validate
// client.mjs: every scenario must pass against it before it is used to judge
// the Rust server.
//
// Usage:
//   node interop/engineio/reference-server.mjs [--port 0] [--ping-interval MS]
//        [--ping-timeout MS] [--path /engine.io/] [--max-payload BYTES]
//
// Prints `LISTENING <port>` once the HTTP server accepts connections, then one
// JSON line per server-side event (connection, close with its reason, ...).
// Echo contract:
//   * every message is sent back unchanged (text as text, binary as binary);
//   * the text message `server-close` makes the server close the session
//     instead of echoing it.

import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "engine.io";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "ping-interval": { type: "string" },
    "ping-timeout": { type: "string" },
    "max-payload": { type: "string" },
    path: { type: "string", default: "/engine.io/" },
  },
  strict: true,
});

function intArg(name) {
  const raw = args[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`invalid --${name}: ${raw}`);
    process.exit(2);
  }
  return n;
}

const options = { path: args.path };
const pingInterval = intArg("ping-interval");
const pingTimeout = intArg("ping-timeout");
const maxPayload = intArg("max-payload");
if (pingInterval !== undefined) options.pingInterval = pingInterval;
if (pingTimeout !== undefined) options.pingTimeout = pingTimeout;
if (maxPayload !== undefined) options.maxHttpBufferSize = maxPayload;

function log(event, fields = {}) {
  console.log(JSON.stringify({ side: "server", event, ...fields }));
}

const httpServer = http.createServer((req, res) => {
  // engine.io handles its own path; anything else is a 404.
  res.writeHead(404).end();
});

const engine = new Server(options);
engine.attach(httpServer, { path: args.path });

engine.on("connection_error", (err) => {
  log("connection_error", { code: err.code, message: err.message });
});

engine.on("connection", (socket) => {
  log("connection", { sid: socket.id, transport: socket.transport.name });

  socket.on("upgrade", (transport) => {
    log("upgrade", { sid: socket.id, transport: transport.name });
  });

  socket.on("message", (data) => {
    if (data === "server-close") {
      log("server-close", { sid: socket.id, transport: socket.transport.name });
      socket.close();
      return;
    }
    socket.send(data);
  });

  socket.on("close", (reason, description) => {
    log("close", {
      sid: socket.id,
      reason,
      description: description ? String(description.message ?? description) : undefined,
    });
  });

  // Kept for debugging only; not part of the contract.
  socket.on("error", (err) => log("error", { sid: socket.id, message: String(err) }));
});

httpServer.listen(Number(args.port), "127.0.0.1", () => {
  const { port } = httpServer.address();
  console.log(`LISTENING ${port}`);
});

function shutdown() {
  engine.close();
  httpServer.close(() => process.exit(0));
  // Lingering keep-alive or upgraded sockets must not block shutdown.
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
