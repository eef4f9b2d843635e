// Cluster scenario runner for the Redis adapters: official `socket.io-client` clients, one
// per server, drive a cluster of servers sharing Redis: our Rust nodes (given with
// --server) and, with --node-server, a Node `socket.io` 4.8.4 server using
// `@socket.io/redis-adapter` 8.3.0 started in this process. The `emitter` scenario also
// drives the servers through `@socket.io/redis-emitter` 5.1.0. With --sharded, the Node
// server uses `createShardedAdapter` on the Redis Cluster given by --cluster-node.
//
// Usage:
//   node interop/redis/cluster.mjs --server http://127.0.0.1:PORT [--server ...]
//        [--node-server] [--redis redis://127.0.0.1:6379] [--key socket.io]
//        [--encoding msgpack|json] [--requests-timeout MS] [--specific-response]
//        [--scenario cluster|emitter]
//        [--timeout MS] [--sharded --cluster-node redis://127.0.0.1:PORT ...
//         [--subscription-mode static|dynamic|dynamic-private]]
//
// Every server implements the same control events (see `control()` below and
// crates/socketio-redis/tests/support/mod.rs): a client asks its own server to broadcast,
// fetch, join, emit server-side… and the scenario checks what every client and server saw,
// so each operation is made from every server in turn and crosses to every other.
//
// Output: one JSON line per step (debugging aid), then `RESULT ok` (exit 0) or
// `RESULT {"error": …}` (exit 1). No assertion looks at how long something took: negative
// checks ("c2 did not get it") rely on the order of messages from one publisher, and
// cross-server visibility (a join made on another server) is polled a bounded number of
// times. The watchdog only turns a hang into a failure.

import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createClient, createCluster } from "redis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { Emitter } from "@socket.io/redis-emitter";

const { values: args } = parseArgs({
  options: {
    server: { type: "string", multiple: true, default: [] },
    "node-server": { type: "boolean", default: false },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    key: { type: "string", default: "socket.io" },
    encoding: { type: "string", default: "msgpack" },
    "requests-timeout": { type: "string", default: "2000" },
    scenario: { type: "string", default: "cluster" },
    timeout: { type: "string", default: "120000" },
    sharded: { type: "boolean", default: false },
    "cluster-node": { type: "string", multiple: true, default: [] },
    "subscription-mode": { type: "string", default: "dynamic" },
    "specific-response": { type: "boolean", default: false },
  },
});

const JSON_PARSER = {
  encode: (msg) => JSON.stringify(msg),
  decode: (msg) => JSON.parse(msg.toString()),
};
const parser = args.encoding === "json" ? JSON_PARSER : undefined;
const binary = args.encoding !== "json";

function log(step, detail = {}) {
  console.log(JSON.stringify({ step, ...detail }));
}

function fail(message) {
  throw new Error(message);
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

const cleanups = [];
const watchdog = setTimeout(() => {
  console.log(`RESULT ${JSON.stringify({ error: "watchdog: the scenario hung" })}`);
  process.exit(1);
}, Number(args.timeout));

// ---------------------------------------------------------------------------
// The control events, as the Rust test nodes implement them

function control(io, name) {
  const notes = [];
  io.on("note", (...a) => notes.push(a));
  io.on("ping-servers", (arg, cb) => cb(`pong:${name}:${arg}`));
  const op = (o) => {
    let x = io.to(o.to ?? []);
    if (o.except?.length) x = x.except(o.except);
    return x;
  };
  io.on("connection", (socket) => {
    socket.on("whoami", (cb) => cb(name));
    socket.on("join", (rooms, cb) => {
      socket.join(rooms);
      cb([...socket.rooms].sort());
    });
    socket.on("leave", (room, cb) => {
      socket.leave(room);
      cb();
    });
    socket.on("set-data", (data, cb) => {
      socket.data = data;
      cb();
    });
    socket.on("sync-subscriptions", (cb) => cb());
    socket.on("emit", (o, cb) => {
      op(o).emit(o.event, ...(o.args ?? []));
      cb(true);
    });
    socket.on("emit-ack", (o, cb) => {
      op(o)
        .timeout(o.timeout ?? 5000)
        .emit(o.event, ...(o.args ?? []), (err, responses) =>
          cb({ err: err ? err.message : null, responses }),
        );
    });
    socket.on("fetch", async (o, cb) => {
      try {
        const list = await op(o).fetchSockets();
        cb({
          err: null,
          sockets: list
            .map((s) => ({
              id: s.id,
              rooms: [...s.rooms].sort(),
              data: s.data ?? null,
              auth: s.handshake.auth,
              hasTime: typeof s.handshake.time === "string",
            }))
            .sort((a, b) => (a.id < b.id ? -1 : 1)),
        });
      } catch (e) {
        cb({ err: e.message, sockets: [] });
      }
    });
    socket.on("remote", async (o, cb) => {
      const list = await io.fetchSockets();
      const t = list.find((s) => s.id === o.id);
      if (t) {
        if (o.op === "emit") t.emit(o.event, ...(o.args ?? []));
        if (o.op === "join") t.join(o.room);
        if (o.op === "leave") t.leave(o.room);
        if (o.op === "disconnect") t.disconnect(!!o.close);
      }
      cb(!!t);
    });
    socket.on("sockets-join", (o, cb) => {
      op(o).socketsJoin(o.rooms);
      cb();
    });
    socket.on("sockets-leave", (o, cb) => {
      op(o).socketsLeave(o.rooms);
      cb();
    });
    socket.on("disconnect-sockets", (o, cb) => {
      cb();
      op(o).disconnectSockets(!!o.close);
    });
    socket.on("server-side-emit", (o, cb) => {
      io.serverSideEmit(o.event, ...(o.args ?? []));
      cb();
    });
    socket.on("server-side-emit-ack", async (o, cb) => {
      try {
        const responses = await io.serverSideEmitWithAck(o.event, ...(o.args ?? []));
        cb({ err: null, responses });
      } catch (e) {
        cb({ err: e.message, responses: e.responses ?? [] });
      }
    });
    socket.on("server-count", async (cb) => cb(await io.of("/").adapter.serverCount()));
    socket.on("server-notes", (cb) => cb(notes));
  });
}

async function startNodeServer(name) {
  const pub = args.sharded
    ? createCluster({ rootNodes: args["cluster-node"].map((url) => ({ url })) })
    : createClient({ url: args.redis });
  const sub = pub.duplicate();
  pub.on("error", (e) => log("node-server-redis-error", { error: e.message }));
  sub.on("error", (e) => log("node-server-redis-error", { error: e.message }));
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = createServer();
  const adapter = args.sharded
    ? createShardedAdapter(pub, sub, {
        channelPrefix: args.key,
        subscriptionMode: args["subscription-mode"],
      })
    : createAdapter(pub, sub, {
        key: args.key,
        requestsTimeout: Number(args["requests-timeout"]),
        publishOnSpecificResponseChannel: args["specific-response"],
        ...(parser ? { parser } : {}),
      });
  const io = new Server(httpServer, { adapter });
  control(io, name);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    io.close();
    await Promise.allSettled([pub.quit(), sub.quit()]);
  });
  return `http://127.0.0.1:${httpServer.address().port}`;
}

// ---------------------------------------------------------------------------
// Clients

async function client(url, name) {
  const s = connect(url, {
    transports: ["websocket"],
    auth: { name },
    reconnection: false,
    forceNew: true,
  });
  s.name = name;
  s.events = [];
  s.waiters = [];
  s.onAny((ev, ...a) => {
    s.events.push([ev, ...a.filter((x) => typeof x !== "function")]);
    for (const w of s.waiters.splice(0)) w();
  });
  s.on("disconnect", (reason) => {
    s.events.push(["disconnect", reason]);
    for (const w of s.waiters.splice(0)) w();
  });
  s.on("ask", (arg, cb) => cb(`answer:${name}:${arg}`));
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", reject);
  });
  cleanups.push(async () => s.disconnect());
  return s;
}

const call = (s, ev, ...a) => s.timeout(20000).emitWithAck(ev, ...a);

/// Waits until `s` received an event matching `pred`; returns the events up to it (and
/// removes them from its log).
async function until(s, pred, what) {
  for (;;) {
    const i = s.events.findIndex(pred);
    if (i >= 0) return s.events.splice(0, i + 1);
    await new Promise((resolve) => s.waiters.push(resolve));
  }
}

/// Retries `check` (which throws while not yet true) a bounded number of times.
async function eventually(check, what) {
  let last;
  for (let i = 0; i < 200; i++) {
    try {
      return await check();
    } catch (e) {
      last = e;
      await sleep(50);
    }
  }
  fail(`${what}: ${last?.message}`);
}

function isBuffer(x, bytes) {
  return Buffer.isBuffer(x) && JSON.stringify([...x]) === JSON.stringify(bytes);
}

// ---------------------------------------------------------------------------
// Scenarios

async function setup() {
  const urls = [...args.server];
  const names = urls.map((_, i) => `rust-${i}`);
  if (args["node-server"]) {
    urls.push(await startNodeServer("node"));
    names.push("node");
  }
  const n = urls.length;
  if (n < 2) fail("a cluster needs two servers at least");
  const clients = [];
  for (let i = 0; i < n; i++) {
    const c = await client(urls[i], `c${i}`);
    same(await call(c, "whoami"), names[i], "whoami");
    clients.push(c);
  }
  for (const c of clients) {
    await eventually(async () => same(await call(c, "server-count"), n, "server count"), "servers");
  }
  for (let i = 0; i < n; i++) {
    const rooms = await call(clients[i], "join", ["all", `r-${i}`]);
    same(rooms, [clients[i].id, "all", `r-${i}`].sort(), "rooms after join");
    await call(clients[i], "set-data", { name: `c${i}` });
  }
  await syncSubscriptions(clients);
  log("setup", { servers: names, clients: clients.map((c) => c.id) });
  return { clients, names, n };
}

/// Rust nodes answer once their Redis subscriptions (room channels included) are active.
async function syncSubscriptions(clients) {
  for (const c of clients) await call(c, "sync-subscriptions");
}

async function marker(origin, clients, tag) {
  await call(origin, "emit", { event: "sync", args: [tag] });
  const seen = [];
  for (const c of clients) {
    const events = await until(c, (e) => e[0] === "sync" && e[1] === tag);
    seen.push(events.slice(0, -1));
  }
  return seen;
}

async function clusterScenario() {
  const { clients, names, n } = await setup();
  for (let i = 0; i < n; i++) {
    const ci = clients[i];
    const j = (i + 1) % n;
    const k = (i + 2) % n;

    // 1. a broadcast to everyone, with binary
    await call(ci, "emit", { event: "hello", args: [i, Buffer.from([i, 255])] });
    for (const c of clients) {
      const events = await until(c, (e) => e[0] === "hello" && e[1] === i);
      const ev = events[events.length - 1];
      if (binary && !isBuffer(ev[2], [i, 255])) fail(`${c.name}: binary lost: ${JSON.stringify(ev)}`);
    }
    log("broadcast", { from: names[i] });

    // 2. one room, then all but one room; nobody else hears them
    for (let t = 0; t < n; t++) {
      if (t === i) continue;
      await call(ci, "emit", { to: [`r-${t}`], event: "room", args: [i, t] });
      await call(ci, "emit", { to: ["all"], except: [`r-${t}`], event: "except", args: [i, t] });
      // Each client gets what it should, then a marker from the same server tells that
      // nothing else came. (Sharded pub/sub orders messages per shard only, and a room
      // channel may live on another shard than the namespace channel: hence waiting for the
      // expected event first rather than relying on the marker alone.)
      const got = [];
      for (let c = 0; c < n; c++) {
        const want = c === t ? "room" : "except";
        got.push(await until(clients[c], (e) => e[0] === want && e[1] === i && e[2] === t));
      }
      const seen = await marker(ci, clients, `m-${i}-${t}`);
      seen.forEach((events, c) => {
        const names_ = [...got[c], ...events].map((e) => e[0]).sort();
        const want = c === t ? ["room"] : ["except"];
        same(names_, want, `c${c} after room/except from ${names[i]} about r-${t}`);
      });
    }
    log("rooms", { from: names[i] });

    // 3. a broadcast with acknowledgements: every client answers
    const acks = await call(ci, "emit-ack", { event: "ask", args: [`q${i}`], timeout: 5000 });
    same(acks.err, null, "emit-ack error");
    same(
      [...acks.responses].sort(),
      clients.map((c) => `answer:${c.name}:q${i}`).sort(),
      `acks from ${names[i]}`,
    );
    // to one room of another server
    const one = await call(ci, "emit-ack", { to: [`r-${j}`], event: "ask", args: ["one"] });
    same(one, { err: null, responses: [`answer:c${j}:one`] }, "ack from one room");
    log("acks", { from: names[i] });

    // 4. fetchSockets: every socket with its rooms, data and handshake
    const all = await call(ci, "fetch", {});
    same(all.err, null, "fetch error");
    same(all.sockets.map((s) => s.id), clients.map((c) => c.id).sort(), "fetched ids");
    for (const s of all.sockets) {
      const c = clients.find((x) => x.id === s.id);
      const idx = clients.indexOf(c);
      same(s.rooms, [c.id, "all", `r-${idx}`].sort(), `rooms of ${c.name}`);
      same(s.data, { name: c.name }, `data of ${c.name}`);
      same(s.auth, { name: c.name }, `handshake.auth of ${c.name}`);
      same(s.hasTime, true, `handshake.time of ${c.name}`);
    }
    const inRoom = await call(ci, "fetch", { to: [`r-${j}`] });
    same(inRoom.sockets.map((s) => s.id), [clients[j].id], "fetch one room");
    log("fetchSockets", { from: names[i] });

    // 5. a remote socket: emit, join, leave, through the adapter
    same(await call(ci, "remote", { id: clients[j].id, op: "emit", event: "direct", args: [i] }), true, "remote found");
    await until(clients[j], (e) => e[0] === "direct" && e[1] === i);
    await call(ci, "remote", { id: clients[j].id, op: "join", room: `x-${i}` });
    await eventually(async () => {
      const r = await call(clients[k], "fetch", { to: [`x-${i}`] });
      same(r.sockets.map((s) => s.id), [clients[j].id], "remote join");
    }, "remote join");
    await syncSubscriptions(clients);
    await call(clients[k], "emit", { to: [`x-${i}`], event: "in-x", args: [i] });
    await until(clients[j], (e) => e[0] === "in-x" && e[1] === i);
    await call(ci, "remote", { id: clients[j].id, op: "leave", room: `x-${i}` });
    await eventually(async () => {
      const r = await call(clients[k], "fetch", { to: [`x-${i}`] });
      same(r.sockets, [], "remote leave");
    }, "remote leave");
    log("remote socket", { from: names[i] });

    // 6. socketsJoin / socketsLeave
    await call(ci, "sockets-join", { to: [`r-${j}`, `r-${i}`], rooms: [`sj-${i}`] });
    await eventually(async () => {
      const r = await call(clients[k], "fetch", { to: [`sj-${i}`] });
      same(r.sockets.map((s) => s.id), [clients[i].id, clients[j].id].sort(), "socketsJoin");
    }, "socketsJoin");
    await call(ci, "sockets-leave", { to: [`sj-${i}`], except: [`r-${i}`], rooms: [`sj-${i}`] });
    await eventually(async () => {
      const r = await call(clients[k], "fetch", { to: [`sj-${i}`] });
      same(r.sockets.map((s) => s.id), [clients[i].id], "socketsLeave");
    }, "socketsLeave");
    await call(ci, "leave", `sj-${i}`);
    log("socketsJoin/Leave", { from: names[i] });

    // 7. serverSideEmit, with and without acknowledgements
    await call(ci, "server-side-emit", { event: "note", args: [`n${i}`, { from: names[i] }] });
    for (let t = 0; t < n; t++) {
      if (t === i) continue;
      await eventually(async () => {
        const notes = await call(clients[t], "server-notes");
        if (!notes.some((x) => JSON.stringify(x) === JSON.stringify([`n${i}`, { from: names[i] }])))
          fail(`${names[t]} has not heard n${i}: ${JSON.stringify(notes)}`);
      }, "serverSideEmit");
    }
    const own = await call(ci, "server-notes");
    if (own.some((x) => x[0] === `n${i}`)) fail(`${names[i]} heard its own server-side emit`);
    const pongs = await call(ci, "server-side-emit-ack", { event: "ping-servers", args: [`p${i}`] });
    same(pongs.err, null, "serverSideEmitWithAck error");
    same(
      [...pongs.responses].sort(),
      names.filter((_, t) => t !== i).map((nm) => `pong:${nm}:p${i}`).sort(),
      `serverSideEmitWithAck from ${names[i]}`,
    );
    log("serverSideEmit", { from: names[i] });
  }

  // 8. a server-side emit nobody answers times out with what arrived (nothing)
  const silent = await call(clients[0], "server-side-emit-ack", { event: "nobody-listens", args: [] });
  if (!silent.err) fail("serverSideEmitWithAck without listeners did not time out");
  same(silent.responses, [], "responses of an unanswered serverSideEmitWithAck");
  // an acknowledgement a client never sends: the broadcast times out with the others' answers
  const partial = await call(clients[0], "emit-ack", { event: "hello-no-ack", args: [], timeout: 500 });
  if (!partial.err) fail("a broadcast nobody acknowledges did not time out");
  log("timeouts");

  // 9. disconnectSockets across servers, last
  const last = n - 1;
  await call(clients[0], "disconnect-sockets", { to: [`r-${last}`] });
  const ev = await until(clients[last], (e) => e[0] === "disconnect");
  same(ev[ev.length - 1], ["disconnect", "io server disconnect"], "disconnectSockets");
  await call(clients[last - 1], "disconnect-sockets", { to: ["r-0"], close: true });
  await until(clients[0], (e) => e[0] === "disconnect");
  log("disconnectSockets");
}

async function emitterScenario() {
  const { clients, n } = await setup();
  const redis = createClient({ url: args.redis });
  redis.on("error", (e) => log("emitter-redis-error", { error: e.message }));
  await redis.connect();
  cleanups.push(async () => redis.quit());
  const emitter = new Emitter(redis, { key: args.key, ...(parser ? { parser } : {}) });
  const sync = async (tag) => {
    emitter.emit("sync", tag);
    const seen = [];
    for (const c of clients) {
      const events = await until(c, (e) => e[0] === "sync" && e[1] === tag);
      seen.push(events.slice(0, -1));
    }
    return seen;
  };

  // to every socket, with binary
  emitter.emit("from-emitter", "all", Buffer.from([1, 2, 3]));
  for (const c of clients) {
    const events = await until(c, (e) => e[0] === "from-emitter");
    const ev = events[events.length - 1];
    if (binary && !isBuffer(ev[2], [1, 2, 3])) fail(`${c.name}: emitter binary lost`);
  }
  // to one room of each server, and to all but one room
  for (let j = 0; j < n; j++) {
    emitter.to(`r-${j}`).emit("room", j);
    emitter.except(`r-${j}`).emit("except", j);
    const got = [];
    for (let c = 0; c < n; c++) {
      const want = c === j ? "room" : "except";
      got.push(await until(clients[c], (e) => e[0] === want && e[1] === j));
    }
    const seen = await sync(`e-${j}`);
    seen.forEach((events, c) => {
      same([...got[c], ...events].map((e) => e[0]).sort(), c === j ? ["room"] : ["except"], `c${c} after emitter room r-${j}`);
    });
  }
  // volatile
  emitter.volatile.to(`r-0`).emit("volatile", 1);
  await until(clients[0], (e) => e[0] === "volatile");
  log("emitter broadcasts");

  // socketsJoin / socketsLeave / serverSideEmit / disconnectSockets
  const j = n - 1;
  emitter.in(`r-${j}`).socketsJoin("em-room");
  await eventually(async () => {
    const r = await call(clients[0], "fetch", { to: ["em-room"] });
    same(r.sockets.map((s) => s.id), [clients[j].id], "emitter socketsJoin");
  }, "emitter socketsJoin");
  await syncSubscriptions(clients);
  emitter.to("em-room").emit("in-em-room");
  await until(clients[j], (e) => e[0] === "in-em-room");
  emitter.in("em-room").socketsLeave("em-room");
  await eventually(async () => {
    const r = await call(clients[0], "fetch", { to: ["em-room"] });
    same(r.sockets, [], "emitter socketsLeave");
  }, "emitter socketsLeave");
  emitter.serverSideEmit("note", "from-emitter");
  for (const c of clients) {
    await eventually(async () => {
      const notes = await call(c, "server-notes");
      if (!notes.some((x) => x[0] === "from-emitter")) fail("note not heard");
    }, "emitter serverSideEmit");
  }
  emitter.in(`r-${j}`).disconnectSockets();
  await until(clients[j], (e) => e[0] === "disconnect");
  log("emitter requests");
}

const SCENARIOS = { cluster: clusterScenario, emitter: emitterScenario };

try {
  const scenario = SCENARIOS[args.scenario] ?? fail(`unknown scenario ${args.scenario}`);
  await scenario();
  console.log("RESULT ok");
  process.exitCode = 0;
} catch (e) {
  console.log(`RESULT ${JSON.stringify({ error: e.message })}`);
  console.error(e.stack);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  for (const c of cleanups.reverse()) await c().catch(() => {});
  setTimeout(() => process.exit(process.exitCode), 200).unref();
}
