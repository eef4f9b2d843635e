// Node's socket.io (the version pinned by interop/package-lock.json, installed with
// `npm ci --prefix interop`) with the benchmark's handlers, the same as every peer's (see
// bench/server): echo / echo-bin (data, ack), broadcast (data, ack), join (room, ack),
// room (room, data, ack). Options are socket.io's defaults.
//
// node bench/peers/node/server.cjs [port]  listens on 127.0.0.1, prints "LISTENING <port>".
"use strict";

const http = require("node:http");
const path = require("node:path");
const { Server } = require(path.join(__dirname, "..", "..", "..", "interop", "node_modules", "socket.io"));

const httpServer = http.createServer();
const io = new Server(httpServer);

io.on("connection", (socket) => {
  const echo = (data, ack) => {
    if (typeof ack === "function") ack(data);
  };
  socket.on("echo", echo);
  socket.on("echo-bin", echo);
  socket.on("broadcast", (data, ack) => {
    socket.broadcast.emit("bcast", data);
    if (typeof ack === "function") ack();
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("room", (room, data, ack) => {
    socket.to(room).emit("bcast", data);
    if (typeof ack === "function") ack();
  });
});

const port = Number(process.argv[2] || 0);
httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});
