// The Node peer of `crates/socketio-redis/examples/cluster.rs` for the cross-node benchmark:
// a socket.io 4.8.4 server with @socket.io/redis-adapter 8.3.0 and the same events (every
// client joins `bench`; `bench-emit` is broadcast to `bench` as `tick`).
//
//   node interop/redis/bench-peer.mjs [--port 0] [--redis redis://127.0.0.1:6379] [--key socket.io]
//
// Prints `LISTENING <port>` once it serves; runs until killed.

import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { createClient } from "redis";
import { createAdapter } from "@socket.io/redis-adapter";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    key: { type: "string", default: "socket.io" },
  },
});

const pub = createClient({ url: args.redis });
const sub = pub.duplicate();
pub.on("error", (e) => console.error(`redis: ${e.message}`));
sub.on("error", (e) => console.error(`redis: ${e.message}`));
await Promise.all([pub.connect(), sub.connect()]);
const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key: args.key }) });
io.on("connection", (socket) => {
  socket.join("bench");
  socket.on("chat message", (text) => io.emit("chat message", text));
  socket.on("bench-emit", (value) => io.to("bench").emit("tick", value));
});
httpServer.listen(Number(args.port), "127.0.0.1", () => {
  console.log(`LISTENING ${httpServer.address().port}`);
});
