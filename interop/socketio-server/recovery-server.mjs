// A Socket.IO server (npm `socket.io` 4.8.4) with connection state recovery, for the Rust
// client's tests (crates/socketio/tests/client_interop.rs). Not a reference for anything else.
//
// Usage:
//   node interop/socketio-server/recovery-server.mjs [--port 0] [--parser json|msgpack]
//        [--ping-interval MS] [--ping-timeout MS] [--no-recovery]
//
// Prints `LISTENING <port>` once accepting on 127.0.0.1. `--port` with a fixed number lets a
// test restart the server on the same port (sessions kept for recovery are lost then).
//
// Namespaces `/` and `/dyn-<digits>`; every socket gets these handlers:
//   connection         emit("welcome", {id, nsp, recovered, auth}) (auth as received: with
//                      recovery it holds the client's pid and offset on a reconnection)
//   echo (...args)     ack(...args) if the last argument is an ack, else emit("echo", ...args)
//   join (room, ack)   join, then ack(sorted rooms)
//   to-room (room, ...args)    nsp.to(room).emit("room-msg", ...args)
//   sockets-in (room, ack)     ack(sorted ids of the sockets in the room)
//   flaky (tag, dropFirst, ack)  records `tag` in the process-wide `seen` list; the first
//                      `dropFirst` receipts of that tag are left unanswered, later ones get
//                      ack(tag, receipts so far)
//   seen (ack)         ack(seen): every `flaky` tag received, in arrival order
//   reasons (ack)      ack([{nsp, reason}]) of every server-side disconnect so far

import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      parser: { type: "string", default: "json" },
      "ping-interval": { type: "string", default: "25000" },
      "ping-timeout": { type: "string", default: "20000" },
      "no-recovery": { type: "boolean", default: false },
    },
    strict: true,
  }));
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(2);
}

function intArg(name) {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`invalid --${name}: ${args[name]}`);
    process.exit(2);
  }
  return n;
}

const options = {
  path: "/socket.io/",
  serveClient: false,
  pingInterval: intArg("ping-interval"),
  pingTimeout: intArg("ping-timeout"),
};
if (!args["no-recovery"]) {
  options.connectionStateRecovery = { maxDisconnectionDuration: 120000, skipMiddlewares: true };
}
if (args.parser === "msgpack") options.parser = msgpackParser;
else if (args.parser !== "json") {
  console.error(`--parser must be "json" or "msgpack"`);
  process.exit(2);
}

const seen = [];
const receipts = new Map();
const reasons = [];

function onConnection(socket) {
  const nsp = socket.nsp;
  socket.emit("welcome", {
    id: socket.id,
    nsp: nsp.name,
    recovered: socket.recovered,
    auth: socket.handshake.auth,
  });
  socket.on("echo", (...list) => {
    if (list.length > 0 && typeof list[list.length - 1] === "function") {
      const ack = list.pop();
      ack(...list);
      return;
    }
    socket.emit("echo", ...list);
  });
  socket.on("join", async (room, ack) => {
    await socket.join(room);
    if (typeof ack === "function") ack(Array.from(socket.rooms).sort());
  });
  socket.on("to-room", (room, ...rest) => {
    nsp.to(room).emit("room-msg", ...rest);
  });
  socket.on("sockets-in", async (room, ack) => {
    const sockets = await nsp.in(room).fetchSockets();
    if (typeof ack === "function") ack(sockets.map((s) => s.id).sort());
  });
  socket.on("flaky", (tag, dropFirst, ack) => {
    seen.push(tag);
    const n = (receipts.get(tag) || 0) + 1;
    receipts.set(tag, n);
    if (n > dropFirst && typeof ack === "function") ack(tag, n);
  });
  socket.on("seen", (ack) => {
    if (typeof ack === "function") ack(seen);
  });
  socket.on("reasons", (ack) => {
    if (typeof ack === "function") ack(reasons);
  });
  socket.on("disconnect", (reason) => {
    reasons.push({ nsp: nsp.name, reason });
  });
}

const httpServer = http.createServer((req, res) => res.writeHead(404).end());
const io = new Server(httpServer, options);
io.of("/").on("connection", onConnection);
io.of(/^\/dyn-\d+$/).on("connection", onConnection);

httpServer.listen(intArg("port"), "127.0.0.1", () => {
  console.log(`LISTENING ${httpServer.address().port}`);
});

function shutdown() {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
