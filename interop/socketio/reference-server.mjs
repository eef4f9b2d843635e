// Reference ("oracle") Socket.IO server implementing the interop contract with
// the official npm `socket.io` package. It exists only to develop and validate
// client.mjs: every scenario must pass against it before it is used to judge
// the Rust server. The contract is described in interop/socketio/README.md.
//
// Usage:
//   node interop/socketio/reference-server.mjs [--port 0] [--ping-interval MS]
//        [--ping-timeout MS] [--parser json|msgpack]
//
// Prints `LISTENING <port>` once the HTTP server accepts connections, then one
// JSON line per server-side event (connection, disconnecting, disconnect with
// its reason, connect rejections, ...). Those lines are for debugging only.

import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      "ping-interval": { type: "string", default: "25000" },
      "ping-timeout": { type: "string", default: "20000" },
      parser: { type: "string", default: "json" },
    },
    strict: true,
  }));
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(2);
}

function intArg(name) {
  const raw = args[name];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`invalid --${name}: ${raw}`);
    process.exit(2);
  }
  return n;
}

if (args.parser !== "json" && args.parser !== "msgpack") {
  console.error(`--parser must be "json" or "msgpack", got "${args.parser}"`);
  process.exit(2);
}

const PATH = "/socket.io/";

const options = {
  path: PATH,
  pingInterval: intArg("ping-interval"),
  pingTimeout: intArg("ping-timeout"),
  // No CORS headers at all (the default when `cors` is not given).
  // The Rust server does not serve the browser bundle, so neither does this one.
  serveClient: false,
};
if (args.parser === "msgpack") options.parser = msgpackParser;
const port = intArg("port");

function log(event, fields = {}) {
  console.log(JSON.stringify({ side: "server", event, ...fields }));
}

// Every server-side `disconnect`, in order: { nsp, reason }.
const disconnectReasons = [];
// Every server-side `disconnecting`, in order:
// { nsp, reason, roomsDuringDisconnecting } (rooms sorted; they must still
// include the socket's own id at that point).
const disconnectingLog = [];

function lastIsFunction(list) {
  return list.length > 0 && typeof list[list.length - 1] === "function";
}

// Connection handler shared by `/`, `/custom`, `/private` and the dynamic
// `/dyn-<digits>` namespaces. `socket.nsp` is the namespace the socket joined
// (for dynamic namespaces: the child, e.g. `/dyn-42`).
function onConnection(socket) {
  const nsp = socket.nsp;
  const nspName = nsp.name;
  let received = 0;
  log("connection", { nsp: nspName, id: socket.id, transport: socket.conn.transport.name });

  // onAny listeners run before the event's own listener, so `count` includes
  // itself.
  socket.onAny(() => {
    received++;
  });

  socket.on("echo", (...eventArgs) => {
    if (lastIsFunction(eventArgs)) {
      const ack = eventArgs.pop();
      ack(...eventArgs);
      return;
    }
    socket.emit("echo", ...eventArgs);
  });

  socket.on("request-ack", (...eventArgs) => {
    socket.timeout(5000).emit("need-ack", ...eventArgs, (err, ...reply) => {
      socket.emit("ack-result", { err: err ? err.message : null, reply });
    });
  });

  socket.on("join", async (rooms, ack) => {
    await socket.join(rooms);
    if (typeof ack === "function") ack(Array.from(socket.rooms).sort());
  });

  socket.on("leave", async (room, ack) => {
    await socket.leave(room);
    if (typeof ack === "function") ack(Array.from(socket.rooms).sort());
  });

  socket.on("to-room", (room, ...rest) => {
    nsp.to(room).emit("room-msg", ...rest);
  });

  socket.on("except-room", (room, ...rest) => {
    nsp.except(room).emit("except-msg", ...rest);
  });

  socket.on("broadcast", (...rest) => {
    socket.broadcast.emit("broadcast-msg", ...rest);
  });

  socket.on("room-broadcast", (room, ...rest) => {
    socket.to(room).emit("room-broadcast-msg", ...rest);
  });

  socket.on("volatile", (n) => {
    socket.volatile.emit("volatile-msg", n);
  });

  socket.on("broadcast-ack", (ack) => {
    nsp.timeout(3000).emit("ping-all", (err, responses) => {
      if (typeof ack === "function") ack({ err: err ? err.message : null, responses: responses.sort() });
    });
  });

  socket.on("disconnect-me", () => {
    socket.disconnect();
  });

  socket.on("close-me", () => {
    socket.disconnect(true);
  });

  socket.on("reasons", (ack) => {
    if (typeof ack === "function") ack(disconnectReasons);
  });

  socket.on("disconnecting-log", (ack) => {
    if (typeof ack === "function") ack(disconnectingLog);
  });

  socket.on("sockets-in", async (room, ack) => {
    const sockets = await nsp.in(room).fetchSockets();
    if (typeof ack === "function") ack(sockets.map((s) => s.id).sort());
  });

  // An ordinary event that happens to be called "error".
  socket.on("error", (...eventArgs) => {
    socket.emit("got-error-event", ...eventArgs);
  });

  socket.on("count", (ack) => {
    if (typeof ack === "function") ack(received);
  });

  socket.on("disconnecting", (reason) => {
    const rooms = Array.from(socket.rooms).sort();
    disconnectingLog.push({ nsp: nspName, reason, roomsDuringDisconnecting: rooms });
    log("disconnecting", { nsp: nspName, id: socket.id, reason, rooms, hasOwnId: socket.rooms.has(socket.id) });
  });

  socket.on("disconnect", (reason) => {
    disconnectReasons.push({ nsp: nspName, reason });
    log("disconnect", { nsp: nspName, id: socket.id, reason });
  });

  socket.emit("welcome", {
    id: socket.id,
    nsp: nspName,
    auth: socket.handshake.auth,
    query: socket.handshake.query,
  });
}

const httpServer = http.createServer((req, res) => {
  // socket.io handles its own path; anything else is a 404.
  res.writeHead(404).end();
});

const io = new Server(httpServer, options);

io.of("/").on("connection", onConnection);
io.of("/custom").on("connection", onConnection);

const privateNsp = io.of("/private");
privateNsp.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") {
    next();
    return;
  }
  const err = new Error("not authorized");
  err.data = { reason: "bad token" };
  log("private-rejected", { auth: socket.handshake.auth });
  next(err);
});
privateNsp.on("connection", onConnection);

io.of(/^\/dyn-\d+$/).on("connection", onConnection);

io.on("new_namespace", (namespace) => {
  log("new_namespace", { nsp: namespace.name });
});

io.engine.on("connection_error", (err) => {
  log("connection_error", { code: err.code, message: err.message });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`LISTENING ${httpServer.address().port}`);
});

function shutdown() {
  io.close(() => process.exit(0));
  // Lingering keep-alive or upgraded sockets must not block shutdown.
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
