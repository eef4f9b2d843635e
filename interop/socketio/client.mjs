// Socket.IO interop scenario runner built on the official `socket.io-client`.
//
// Usage:
//   node interop/socketio/client.mjs --url http://127.0.0.1:PORT --scenario NAME
//        [--transport websocket|polling|upgrade] [--parser json|msgpack]
//        [--path /socket.io/] [--nsp fresh|/NAME] [--timeout MS]
//
// Output: one JSON line per notable event (debugging aid only), then exactly
// one final line `RESULT {json}`. Exit code 0 only if every assertion of the
// scenario held, 1 otherwise (the RESULT carries the reason), 2 for bad usage.
//
// The server under test must follow the interop contract described in
// interop/socketio/README.md (reference-server.mjs is its oracle). No
// assertion here ever looks at how long something took; the watchdog only
// turns a hang into a clean failure, and negative checks ("C did not get it")
// rely on the per-socket ordering of Socket.IO, never on waiting.

import net from "node:net";
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const SCENARIOS = {
  basic: basicScenario,
  acks: acksScenario,
  "ack-timeout": ackTimeoutScenario,
  namespaces: namespacesScenario,
  rooms: roomsScenario,
  disconnects: disconnectsScenario,
  volatile: volatileScenario,
  "ping-timeout": pingTimeoutScenario,
};

// ---------------------------------------------------------------------------
// Command line

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error(
    "usage: node interop/socketio/client.mjs --url http://127.0.0.1:PORT --scenario NAME\n" +
      "         [--transport websocket|polling|upgrade] [--parser json|msgpack]\n" +
      "         [--path /socket.io/] [--nsp fresh|/NAME] [--timeout MS]\n" +
      `scenarios: ${Object.keys(SCENARIOS).join(", ")}`,
  );
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      url: { type: "string" },
      scenario: { type: "string" },
      transport: { type: "string", default: "websocket" },
      parser: { type: "string", default: "json" },
      path: { type: "string", default: "/socket.io/" },
      nsp: { type: "string", default: "fresh" },
      timeout: { type: "string", default: "20000" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }));
} catch (err) {
  usage(err.message);
}
if (args.help) usage();
if (!args.url) usage("--url is required");
if (!args.scenario) usage("--scenario is required");
if (!Object.hasOwn(SCENARIOS, args.scenario)) usage(`unknown scenario "${args.scenario}"`);
if (!["websocket", "polling", "upgrade"].includes(args.transport)) {
  usage(`--transport must be "websocket", "polling" or "upgrade", got "${args.transport}"`);
}
if (args.parser !== "json" && args.parser !== "msgpack") {
  usage(`--parser must be "json" or "msgpack", got "${args.parser}"`);
}
if (args.nsp !== "fresh" && !/^\/[^,]*$/.test(args.nsp)) usage('--nsp must be "fresh" or start with "/"');
const watchdogMs = Number(args.timeout);
if (!Number.isInteger(watchdogMs) || watchdogMs <= 0) usage("--timeout must be a positive integer");

let target;
try {
  target = new URL(args.url);
} catch {
  usage(`--url is not a valid URL: ${args.url}`);
}
if (target.protocol !== "http:") usage("--url must use http://");
if (target.hostname !== "127.0.0.1") usage("--url host must be 127.0.0.1");
if (target.pathname !== "/" || target.search !== "") usage("--url must not carry a path or query (use --path)");
const targetPort = Number(target.port || 80);
const baseUrl = `http://127.0.0.1:${targetPort}`;

// The transport the Engine.IO session starts on (and so the one seen in the
// server's handshake query, which comes from the first HTTP request).
const initialTransport = args.transport === "websocket" ? "websocket" : "polling";
// The transport every scenario must be on once a peer is ready.
const steadyTransport = args.transport === "polling" ? "polling" : "websocket";

// ---------------------------------------------------------------------------
// Output helpers

const startedAt = performance.now();
let finished = false;
// What the scenario is currently waiting for, reported if the watchdog fires.
let pendingWait = null;

function note(event, fields = {}) {
  if (finished) return;
  // `ms` is informational only, never asserted on.
  const ms = Math.round(performance.now() - startedAt);
  console.log(JSON.stringify({ ms, event, ...fields }));
}

class Failure extends Error {}

const checks = [];

function check(condition, what, detail) {
  if (!condition) {
    const suffix = detail === undefined ? "" : `: ${typeof detail === "string" ? detail : JSON.stringify(preview(detail))}`;
    throw new Failure(`assertion failed: ${what}${suffix}`);
  }
  checks.push(what);
}

function toBytes(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

// JSON-friendly, size-limited rendering of event arguments for the logs.
function preview(value, depth = 0) {
  const bytes = toBytes(value);
  if (bytes !== null) {
    const hex = bytes.subarray(0, 16).toString("hex");
    return { binary: bytes.length, hex: bytes.length > 16 ? `${hex}...` : hex };
  }
  if (typeof value === "string") return value.length > 64 ? `${value.slice(0, 64)}...(${value.length} chars)` : value;
  if (typeof value === "function") return "<function>";
  if (value === undefined) return "<undefined>";
  if (value === null || typeof value !== "object") return value;
  if (depth > 4) return "<deep>";
  if (Array.isArray(value)) {
    const out = value.slice(0, 20).map((v) => preview(v, depth + 1));
    if (value.length > 20) out.push(`...(${value.length} items)`);
    return out;
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = preview(v, depth + 1);
  return out;
}

function kindOf(value) {
  if (toBytes(value) !== null) return "binary";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

// Returns null when `actual` equals `expected` (binary compared by content,
// object keys in any order), else a description of the first difference.
function difference(expected, actual, path = "$") {
  const kind = kindOf(expected);
  if (kind !== kindOf(actual)) {
    return `${path}: expected ${kind} ${JSON.stringify(preview(expected))}, got ${kindOf(actual)} ${JSON.stringify(preview(actual))}`;
  }
  if (kind === "binary") {
    const a = toBytes(expected);
    const b = toBytes(actual);
    return a.equals(b) ? null : `${path}: binary differs: expected ${JSON.stringify(preview(a))}, got ${JSON.stringify(preview(b))}`;
  }
  if (kind === "array") {
    if (expected.length !== actual.length) {
      return `${path}: expected ${expected.length} items, got ${actual.length}: ${JSON.stringify(preview(actual))}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const d = difference(expected[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (kind === "object") {
    const ek = Object.keys(expected).sort();
    const ak = Object.keys(actual).sort();
    if (ek.join("\u0000") !== ak.join("\u0000")) {
      return `${path}: expected keys ${JSON.stringify(ek)}, got ${JSON.stringify(ak)}`;
    }
    for (const k of ek) {
      const d = difference(expected[k], actual[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return expected === actual ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(preview(actual))}`;
}

function checkEqual(actual, expected, what) {
  const d = difference(expected, actual);
  check(d === null, what, d ?? undefined);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let nspCounter = 0;
// A dynamic namespace nobody else uses, so that namespace-wide state (rooms,
// broadcasts, the server's disconnect log) cannot be disturbed by other
// scenarios running concurrently against the same server.
function freshNamespace() {
  nspCounter++;
  return `/dyn-${randomInt(100000000, 999999999)}${process.pid}${nspCounter}`;
}

// ---------------------------------------------------------------------------
// Waiting: every incoming event, connect, disconnect, ack, upgrade... calls
// wake(); waitFor() re-evaluates its predicate each time.

const waiters = new Set();
// Set when something unexpected happens (a peer disconnects or fails to
// connect when it should not); every pending wait then fails with it.
let fatal = null;

function wake() {
  for (const waiter of [...waiters]) waiter();
}

function raiseFatal(message) {
  if (fatal === null) fatal = new Failure(message);
  wake();
}

function waitFor(predicate, what) {
  pendingWait = what;
  return new Promise((resolve, reject) => {
    const evaluate = () => {
      let done;
      try {
        done = predicate();
      } catch (err) {
        waiters.delete(evaluate);
        reject(err);
        return;
      }
      if (done) {
        waiters.delete(evaluate);
        resolve();
      } else if (fatal) {
        waiters.delete(evaluate);
        reject(new Failure(`${fatal.message} (while waiting for ${what})`));
      }
    };
    waiters.add(evaluate);
    evaluate();
  });
}

// Wraps a promise (an ack, emitWithAck) so that the watchdog can say what was
// pending and a fatal event aborts the wait.
function awaitWithFatal(promise, what) {
  let settled = false;
  let value;
  let error;
  promise.then(
    (v) => {
      settled = true;
      value = { v };
      wake();
    },
    (e) => {
      settled = true;
      error = { e };
      wake();
    },
  );
  return waitFor(() => settled, what).then(() => {
    if (error) throw error.e;
    return value.v;
  });
}

// ---------------------------------------------------------------------------
// Peers: one client socket each, recording everything it receives.

const peers = [];
const knownEngines = new WeakSet();
const upgradeErrors = [];

function clientOptions(extra = {}) {
  const options = {
    path: args.path,
    transports: args.transport === "websocket" ? ["websocket"] : args.transport === "polling" ? ["polling"] : ["polling", "websocket"],
    upgrade: args.transport === "upgrade",
    ...extra,
  };
  if (args.parser === "msgpack") options.parser = msgpackParser;
  return options;
}

function watchEngine(manager) {
  const engine = manager.engine;
  if (!engine || knownEngines.has(engine)) return;
  knownEngines.add(engine);
  engine.on("upgrade", (transport) => {
    note("engine-upgrade", { engine: engine.id, to: transport.name });
    wake();
  });
  engine.on("upgradeError", (err) => {
    const message = String(err?.message ?? err);
    upgradeErrors.push(message);
    note("engine-upgradeError", { engine: engine.id, error: message });
    if (args.transport === "upgrade") raiseFatal(`engine upgradeError: ${message}`);
  });
  engine.on("close", (reason) => {
    note("engine-close", { engine: engine.id, reason });
    wake();
  });
}

class Peer {
  // `create` returns a socket.io-client Socket (from io() or manager.socket()).
  constructor(label, create, { expectConnectError = false } = {}) {
    this.label = label;
    this.log = [];
    this.connects = 0;
    this.connectErrors = [];
    this.disconnects = [];
    this.sentEvents = 0;
    this.reconnectAttempts = 0;
    // Set before any intended disconnect / connect_error.
    this.expectDown = false;
    this.expectConnectError = expectConnectError;
    // Answer to `need-ack`; scenarios replace it.
    this.needAckHandler = null;

    const socket = create();
    this.socket = socket;
    peers.push(this);

    socket.onAny((event, ...eventArgs) => {
      const data = eventArgs.filter((a) => typeof a !== "function");
      this.log.push({ event, args: data });
      note("recv", { peer: label, name: event, args: preview(data) });
      wake();
    });
    socket.on("connect", () => {
      this.connects++;
      note("connect", { peer: label, nsp: socket.nsp, id: socket.id, engine: socket.io.engine?.id, transport: this.transport });
      wake();
    });
    socket.on("connect_error", (err) => {
      const info = { message: err?.message, data: err?.data };
      this.connectErrors.push(info);
      note("connect_error", { peer: label, nsp: socket.nsp, ...preview(info) });
      if (!this.expectConnectError) raiseFatal(`peer ${label} (${socket.nsp}): unexpected connect_error ${JSON.stringify(info)}`);
      wake();
    });
    socket.on("disconnect", (reason, description) => {
      const info = { reason, description: description?.message ?? description?.description ?? undefined };
      this.disconnects.push(info);
      note("disconnect", { peer: label, nsp: socket.nsp, ...info });
      if (!this.expectDown && !finished) raiseFatal(`peer ${label} (${socket.nsp}): unexpected disconnect ${JSON.stringify(info)}`);
      wake();
    });
    // Broadcast-with-ack probe: answer with our own socket id.
    socket.on("ping-all", (ack) => {
      if (typeof ack === "function") ack(socket.id);
    });
    socket.on("need-ack", (...eventArgs) => {
      const ack = typeof eventArgs.at(-1) === "function" ? eventArgs.pop() : null;
      if (this.needAckHandler) this.needAckHandler(eventArgs, ack);
    });
    watchEngine(socket.io);
    socket.io.on("reconnect_attempt", (n) => {
      this.reconnectAttempts++;
      note("reconnect_attempt", { peer: label, attempt: n });
    });
  }

  get transport() {
    return this.socket.io.engine?.transport?.name;
  }

  get engine() {
    return this.socket.io.engine;
  }

  events(name) {
    return this.log.filter((e) => e.event === name);
  }

  // Index in the log of the first event satisfying `match`, or -1.
  indexOf(match) {
    return this.log.findIndex(match);
  }

  welcome() {
    const w = this.events("welcome")[0];
    return w ? w.args[0] : undefined;
  }

  // Connected, welcomed, and (with --transport upgrade) upgraded.
  async ready() {
    await waitFor(() => this.connects > 0 && this.welcome() !== undefined, `${this.label}: connect and welcome`);
    if (args.transport === "upgrade") {
      await waitFor(() => this.transport === "websocket", `${this.label}: upgrade to websocket`);
    }
    check(this.transport === steadyTransport, `${this.label}: transport is "${steadyTransport}"`, this.transport);
  }

  send(event, ...eventArgs) {
    this.sentEvents++;
    this.socket.emit(event, ...eventArgs);
  }

  // Emits with a trailing ack callback; resolves with the ack's arguments.
  ack(event, ...eventArgs) {
    this.sentEvents++;
    const promise = new Promise((resolve) => {
      this.socket.emit(event, ...eventArgs, (...reply) => resolve(reply));
    });
    return awaitWithFatal(promise, `${this.label}: ack for "${event}"`);
  }

  waitEvents(name, count, what) {
    return waitFor(() => this.events(name).length >= count, `${this.label}: ${what ?? `${count} "${name}" events`}`);
  }
}

function checkWelcome(peer, { nsp, auth }) {
  const w = peer.welcome();
  check(w !== null && typeof w === "object", `${peer.label}: welcome payload is an object`, w);
  check(typeof peer.socket.id === "string" && peer.socket.id.length > 0, `${peer.label}: socket.id is a non-empty string`, peer.socket.id);
  check(w.id === peer.socket.id, `${peer.label}: welcome.id equals socket.id`, { welcome: w.id, socket: peer.socket.id });
  check(w.nsp === nsp, `${peer.label}: welcome.nsp is "${nsp}"`, w.nsp);
  checkEqual(w.auth, auth, `${peer.label}: welcome.auth equals ${JSON.stringify(auth)}`);
  check(w.query !== null && typeof w.query === "object", `${peer.label}: welcome.query is an object`, w.query);
  check(w.query.EIO === "4", `${peer.label}: welcome.query.EIO is "4"`, w.query.EIO);
  check(
    w.query.transport === initialTransport,
    `${peer.label}: welcome.query.transport is the transport of the session's first request ("${initialTransport}")`,
    w.query.transport,
  );
  check(peer.socket.id !== peer.engine.id, `${peer.label}: socket id differs from the Engine.IO session id`, peer.socket.id);
}

// Repeats an ack'ed query until `accept(reply)` holds. The server may learn
// about a disconnect on another connection after our query (no cross-connection
// ordering), so this is a bounded retry loop, never a timing assertion.
async function pollUntil(peer, event, accept, what, { attempts = 500, pauseMs = 20 } = {}) {
  let last;
  for (let i = 0; i < attempts; i++) {
    [last] = await peer.ack(event);
    if (accept(last)) return last;
    await sleep(pauseMs);
  }
  throw new Failure(`gave up after ${attempts} "${event}" queries waiting for ${what}; last reply: ${JSON.stringify(preview(last))}`);
}

function bigText(size) {
  const unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
  let out = "";
  for (let i = 0; out.length < size; i++) out += `${unit}[${i}]`;
  return out.slice(0, size);
}

function bytes(...values) {
  return Buffer.from(values);
}

function patternBuffer(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

// ---------------------------------------------------------------------------
// Scenarios

async function basicScenario() {
  const a = new Peer("A", () => io(`${baseUrl}/`, clientOptions({ forceNew: true, auth: { user: "ann" }, query: { x: "1" } })));
  await a.ready();
  checkWelcome(a, { nsp: "/", auth: { user: "ann" } });
  check(a.welcome().query.x === "1", 'welcome.query.x is "1"', a.welcome().query);

  const cases = [
    { name: "no arguments", args: [] },
    { name: "one string", args: ["hello"] },
    {
      name: "many arguments of every JSON type",
      args: [
        42,
        -12345,
        3.25,
        2 ** 40,
        "str",
        "héllo €🙂",
        "",
        true,
        false,
        null,
        { a: 1, b: [1, 2, { c: "d" }], e: { f: { g: [null, true] } }, "clé": "värde" },
        [[], {}, [[1], [2, [3]]]],
      ],
    },
    { name: "one binary Buffer", args: [bytes(0, 1, 2, 127, 128, 253, 254, 255)] },
    { name: "nested binary", args: [{ a: [bytes(1, 2, 3), { b: bytes(4, 5) }] }] },
    {
      name: "binary mixed with text in several arguments",
      args: ["text", bytes(9), { deep: { x: [1, bytes(10, 11)], y: "z" } }, bytes(12, 13, 14), [bytes(15), "after"]],
    },
    { name: "empty binary", args: [Buffer.alloc(0)] },
    { name: "64 KiB binary", args: [patternBuffer(64 * 1024)] },
    { name: "100 KiB text", args: [bigText(100 * 1024)] },
  ];
  for (const c of cases) a.send("echo", ...c.args);
  await a.waitEvents("echo", cases.length, `${cases.length} echoes`);
  const echoes = a.events("echo");
  for (let i = 0; i < cases.length; i++) {
    checkEqual(echoes[i].args, cases[i].args, `echo #${i} (${cases[i].name}) comes back equal and in order`);
  }

  // "error" is an ordinary event name for a client.
  a.send("error", "oops", { code: 7 });
  await a.waitEvents("got-error-event", 1);
  checkEqual(a.events("got-error-event")[0].args, ["oops", { code: 7 }], 'event "error" answered by got-error-event with the same args');

  // The connection survived the "error" event.
  a.send("echo", "still-alive");
  await a.waitEvents("echo", cases.length + 1, "echo after the error event");
  checkEqual(a.events("echo")[cases.length].args, ["still-alive"], "echo after the error event");
  check(a.socket.connected, "socket still connected after everything");
  const names = a.log.map((e) => e.event);
  checkEqual(
    names,
    ["welcome", ...cases.map(() => "echo"), "got-error-event", "echo"],
    "exactly the expected events were received, in order",
  );
  check(a.transport === steadyTransport, `transport is still "${steadyTransport}"`, a.transport);
  return { id: a.socket.id, engine: a.engine.id, echoes: cases.length };
}

async function acksScenario() {
  const a = new Peer("A", () => io(`${baseUrl}/`, clientOptions({ forceNew: true })));
  await a.ready();
  checkWelcome(a, { nsp: "/", auth: {} });

  // Client -> server acks (the server's echo handler calls the ack instead of
  // echoing when the last argument is an ack function).
  checkEqual(await a.ack("echo", 1, "two"), [1, "two"], 'emit("echo", 1, "two", ack): ack gets (1, "two")');
  checkEqual(await a.ack("echo"), [], 'emit("echo", ack): ack gets no arguments');
  checkEqual(
    await a.ack("echo", { nested: [bytes(1, 2), { deeper: bytes(3) }] }, bytes(4, 5, 6)),
    [{ nested: [bytes(1, 2), { deeper: bytes(3) }] }, bytes(4, 5, 6)],
    "ack with binary arguments (binary ack) comes back equal",
  );

  a.sentEvents++;
  checkEqual(await awaitWithFatal(a.socket.emitWithAck("echo", { k: 1 }), 'emitWithAck("echo", {k: 1})'), { k: 1 }, 'emitWithAck("echo", {k: 1}) resolves to {k: 1}');

  a.sentEvents++;
  checkEqual(
    await awaitWithFatal(a.socket.emitWithAck("echo", bytes(0xca, 0xfe)), "emitWithAck with binary"),
    bytes(0xca, 0xfe),
    "emitWithAck with a Buffer resolves to the same bytes",
  );

  a.sentEvents++;
  const timed = await awaitWithFatal(
    new Promise((resolve) => {
      a.socket.timeout(5000).emit("echo", "x", 2, (err, ...rest) => resolve({ err, rest }));
    }),
    'timeout(5000).emit("echo", "x", 2, cb)',
  );
  check(timed.err === null || timed.err === undefined, "timeout(5000).emit: the callback gets no error", String(timed.err));
  checkEqual(timed.rest, ["x", 2], 'timeout(5000).emit("echo", "x", 2, cb): cb gets (null, "x", 2)');

  a.sentEvents++;
  checkEqual(
    await awaitWithFatal(a.socket.timeout(5000).emitWithAck("echo", "y"), 'timeout(5000).emitWithAck("echo", "y")'),
    "y",
    'timeout(5000).emitWithAck("echo", "y") resolves to "y"',
  );

  // Server -> client acks: the client answers need-ack with a value derived
  // from the arguments (including binary).
  a.needAckHandler = (eventArgs, ack) => {
    if (!ack) return;
    if (eventArgs[0] === "empty-reply") ack();
    else ack("reply", eventArgs.length, eventArgs, bytes(0xac, 0x4b));
  };
  const requests = [
    { args: [1, "a", { b: bytes(1, 2) }], reply: ["reply", 3, [1, "a", { b: bytes(1, 2) }], bytes(0xac, 0x4b)] },
    { args: [], reply: ["reply", 0, [], bytes(0xac, 0x4b)] },
    { args: ["empty-reply"], reply: [] },
    { args: [{ list: [true, null, "s"] }], reply: ["reply", 1, [{ list: [true, null, "s"] }], bytes(0xac, 0x4b)] },
  ];
  for (const r of requests) a.send("request-ack", ...r.args);
  await a.waitEvents("ack-result", requests.length, `${requests.length} ack-result events`);
  const needAcks = a.events("need-ack");
  const results = a.events("ack-result");
  check(needAcks.length === requests.length, `received exactly ${requests.length} need-ack events`, needAcks.length);
  for (let i = 0; i < requests.length; i++) {
    checkEqual(needAcks[i].args, requests[i].args, `need-ack #${i} carries the request-ack arguments`);
    checkEqual(results[i].args, [{ err: null, reply: requests[i].reply }], `ack-result #${i} reports the client's ack arguments`);
  }

  // onAny on the server counts every event this socket sent, including `count`.
  const expectedCount = a.sentEvents + 1;
  const [count] = await a.ack("count");
  check(count === expectedCount, `count (server onAny) equals the ${expectedCount} events this socket sent`, count);

  // An echo with an ack must not also be echoed as an event.
  check(a.events("echo").length === 0, "no echo event was sent back for echo calls made with an ack", a.events("echo").length);
  const names = new Set(a.log.map((e) => e.event));
  checkEqual([...names].sort(), ["ack-result", "need-ack", "welcome"], "only welcome, need-ack and ack-result events were received");
  check(a.transport === steadyTransport, `transport is still "${steadyTransport}"`, a.transport);
  return { id: a.socket.id, eventsSent: expectedCount };
}

async function ackTimeoutScenario() {
  const a = new Peer("A", () => io(`${baseUrl}/`, clientOptions({ forceNew: true })));
  await a.ready();

  // Client-side: an event the server has no handler for is never acked.
  a.sentEvents++;
  const clientSide = await awaitWithFatal(
    new Promise((resolve) => {
      a.socket.timeout(200).emit("no-such-event", "x", (err, ...rest) => resolve({ err, rest }));
    }),
    "client-side ack timeout",
  );
  check(clientSide.err instanceof Error, "timeout(200).emit of an unhandled event: the callback gets an Error", String(clientSide.err));
  check(clientSide.err.message === "operation has timed out", 'client-side timeout message is "operation has timed out"', clientSide.err.message);
  checkEqual(clientSide.rest, [], "client-side timeout: no other callback arguments");

  // Server-side: the client never calls the ack, the server's 5 s timeout fires.
  a.needAckHandler = (eventArgs, ack) => {
    if (eventArgs[0] !== "ignore" && ack) ack("answered");
  };
  a.send("request-ack", "ignore", 1);
  a.send("request-ack", "answer-me");
  await a.waitEvents("ack-result", 2, "2 ack-result events (one after the server's 5 s ack timeout)");
  // Compared without regard to order.
  const results = a.events("ack-result").map((e) => e.args);
  const answered = results.filter((r) => r[0]?.err === null);
  const timedOut = results.filter((r) => r[0]?.err !== null);
  checkEqual(answered, [[{ err: null, reply: ["answered"] }]], "the answered request-ack reports err null and the reply");
  checkEqual(timedOut, [[{ err: "operation has timed out", reply: [] }]], 'the ignored request-ack reports err "operation has timed out" and an empty reply');

  const [count] = await a.ack("count");
  check(count === a.sentEvents, `count equals the ${a.sentEvents} events sent (the connection is still usable)`, count);
  return { id: a.socket.id };
}

async function namespacesScenario() {
  // Multiplexing (the default): io() reuses one Manager per origin.
  const root = new Peer("root", () => io(`${baseUrl}/`, clientOptions()));
  await root.ready();
  const custom = new Peer("custom", () => io(`${baseUrl}/custom`, clientOptions({ auth: { who: "custom" } })));
  const dyn = new Peer("dyn-7", () => io(`${baseUrl}/dyn-7`, clientOptions()));
  await custom.ready();
  await dyn.ready();

  const manager = root.socket.io;
  check(custom.socket.io === manager && dyn.socket.io === manager, "the three sockets share one Manager");
  check(custom.engine === root.engine && dyn.engine === root.engine, "the three sockets share one Engine.IO socket object");
  check(typeof root.engine.id === "string" && root.engine.id.length > 0, "the engine has a session id", root.engine.id);
  check(custom.engine.id === root.engine.id && dyn.engine.id === root.engine.id, "engine ids are equal");
  checkWelcome(root, { nsp: "/", auth: {} });
  checkWelcome(custom, { nsp: "/custom", auth: { who: "custom" } });
  checkWelcome(dyn, { nsp: "/dyn-7", auth: {} });
  const ids = [root.socket.id, custom.socket.id, dyn.socket.id];
  check(new Set(ids).size === 3, "each namespace gets its own socket id", ids);

  // Each namespace routes its own events.
  root.send("echo", "from /");
  custom.send("echo", "from /custom");
  dyn.send("echo", "from /dyn-7");
  await Promise.all([root, custom, dyn].map((p) => p.waitEvents("echo", 1)));
  checkEqual(root.events("echo").map((e) => e.args), [["from /"]], "/ gets only its own echo");
  checkEqual(custom.events("echo").map((e) => e.args), [["from /custom"]], "/custom gets only its own echo");
  checkEqual(dyn.events("echo").map((e) => e.args), [["from /dyn-7"]], "/dyn-7 gets only its own echo");

  // Unknown namespaces.
  const nope = new Peer("nope", () => io(`${baseUrl}/nope`, clientOptions()), { expectConnectError: true });
  await waitFor(() => nope.connectErrors.length > 0, "/nope: connect_error");
  check(nope.socket.io === manager, "/nope was tried on the same Manager");
  check(nope.connectErrors[0].message === "Invalid namespace", '/nope: connect_error message is "Invalid namespace"', nope.connectErrors[0]);
  check(nope.connectErrors[0].data === undefined, "/nope: connect_error carries no data", nope.connectErrors[0]);
  check(!nope.socket.connected && !nope.socket.active, "/nope: socket is not connected and will not retry");

  const badDyn = new Peer("dyn-x", () => io(`${baseUrl}/dyn-x`, clientOptions()), { expectConnectError: true });
  await waitFor(() => badDyn.connectErrors.length > 0, "/dyn-x: connect_error");
  check(badDyn.connectErrors[0].message === "Invalid namespace", '/dyn-x (no match for /^\\/dyn-\\d+$/): "Invalid namespace"', badDyn.connectErrors[0]);

  // Middleware rejection, then a retry with the right token on the same socket.
  const priv = new Peer("private", () => io(`${baseUrl}/private`, clientOptions()), { expectConnectError: true });
  await waitFor(() => priv.connectErrors.length > 0, "/private without token: connect_error");
  check(priv.socket.io === manager, "/private was tried on the same Manager");
  check(priv.connectErrors[0].message === "not authorized", '/private without token: message "not authorized"', priv.connectErrors[0]);
  checkEqual(priv.connectErrors[0].data, { reason: "bad token" }, '/private without token: data {reason: "bad token"}');
  check(priv.connects === 0 && priv.welcome() === undefined, "/private without token: no connect, no welcome");

  priv.socket.auth = { token: "secret" };
  priv.socket.connect();
  await priv.ready();
  checkWelcome(priv, { nsp: "/private", auth: { token: "secret" } });
  check(priv.engine === root.engine, "/private (with token) joined the same engine connection");
  priv.send("echo", "private-echo");
  await priv.waitEvents("echo", 1);
  checkEqual(priv.events("echo")[0].args, ["private-echo"], "/private echo works");

  // The connection survived both kinds of rejection.
  root.send("echo", "still here");
  await root.waitEvents("echo", 2);
  checkEqual(root.events("echo")[1].args, ["still here"], "/ still works after the rejections");
  for (const p of [root, custom, dyn, priv]) check(p.socket.connected, `${p.label} still connected`);
  check(root.engine.id === custom.engine.id && priv.engine.id === root.engine.id, "still one engine session");
  check(root.transport === steadyTransport, `transport is still "${steadyTransport}"`, root.transport);
  return { engine: root.engine.id, sockets: Object.fromEntries([root, custom, dyn, priv].map((p) => [p.socket.nsp, p.socket.id])) };
}

async function roomsScenario() {
  const nsp = args.nsp === "fresh" ? freshNamespace() : args.nsp;
  const make = (label) => new Peer(label, () => io(`${baseUrl}${nsp}`, clientOptions({ forceNew: true })));
  const A = make("A");
  const B = make("B");
  const C = make("C");
  const all = [A, B, C];
  for (const p of all) await p.ready();
  for (const p of all) checkWelcome(p, { nsp, auth: {} });
  check(new Set(all.map((p) => p.engine)).size === 3, "forceNew gives three separate engine connections");
  const id = { A: A.socket.id, B: B.socket.id, C: C.socket.id };

  for (const p of all) {
    checkEqual((await p.ack("join", "all"))[0], [p.socket.id, "all"].sort(), `${p.label} joins "all"; ack lists its rooms`);
  }
  checkEqual((await A.ack("join", "r1"))[0], [id.A, "all", "r1"].sort(), 'A joins "r1"');
  checkEqual((await B.ack("join", ["r1", "r2"]))[0], [id.B, "all", "r1", "r2"].sort(), 'B joins ["r1", "r2"] (array form)');

  // A barrier: every peer must receive room-msg ("sync", tag); whatever a peer
  // did not receive before it, it will not receive (per-socket ordering).
  let syncs = 0;
  async function sync() {
    const tag = `sync-${++syncs}`;
    A.send("to-room", "all", "sync", tag);
    for (const p of all) {
      await waitFor(() => p.indexOf((e) => e.event === "room-msg" && e.args[0] === "sync" && e.args[1] === tag) >= 0, `${p.label}: ${tag}`);
    }
    return tag;
  }
  // The events named `name` a peer got between two syncs (null = start).
  function between(p, name, fromTag, toTag) {
    const at = (tag) => (tag === null ? -1 : p.indexOf((e) => e.event === "room-msg" && e.args[0] === "sync" && e.args[1] === tag));
    const from = at(fromTag);
    const to = at(toTag);
    return p.log.slice(from + 1, to).filter((e) => e.event === name).map((e) => e.args);
  }

  A.send("to-room", "r1", "hi", 1);
  let prev = null;
  let tag = await sync();
  checkEqual(between(A, "room-msg", prev, tag), [["hi", 1]], 'to-room r1: A (sender, in r1) gets room-msg ("hi", 1) once');
  checkEqual(between(B, "room-msg", prev, tag), [["hi", 1]], "to-room r1: B gets it once");
  checkEqual(between(C, "room-msg", prev, tag), [], "to-room r1: C (not in r1) gets nothing");

  A.send("except-room", "r2", "ex", { bin: bytes(1, 2, 3) });
  prev = tag;
  tag = await sync();
  checkEqual(between(A, "except-msg", prev, tag), [["ex", { bin: bytes(1, 2, 3) }]], "except-room r2: A gets except-msg (with binary)");
  checkEqual(between(C, "except-msg", prev, tag), [["ex", { bin: bytes(1, 2, 3) }]], "except-room r2: C gets except-msg");
  checkEqual(between(B, "except-msg", prev, tag), [], "except-room r2: B (in r2) gets nothing");

  A.send("room-broadcast", "r1", "rb");
  prev = tag;
  tag = await sync();
  checkEqual(between(B, "room-broadcast-msg", prev, tag), [["rb"]], "room-broadcast r1 from A: B gets it");
  checkEqual(between(A, "room-broadcast-msg", prev, tag), [], "room-broadcast r1 from A: A (sender) does not");
  checkEqual(between(C, "room-broadcast-msg", prev, tag), [], "room-broadcast r1 from A: C (not in r1) does not");

  A.send("broadcast", "bc", bytes(7, 7));
  prev = tag;
  tag = await sync();
  checkEqual(between(B, "broadcast-msg", prev, tag), [["bc", bytes(7, 7)]], "broadcast from A: B gets it (with binary)");
  checkEqual(between(C, "broadcast-msg", prev, tag), [["bc", bytes(7, 7)]], "broadcast from A: C gets it");
  checkEqual(between(A, "broadcast-msg", prev, tag), [], "broadcast from A: A (sender) does not");

  A.send("to-room", id.C, "direct");
  prev = tag;
  tag = await sync();
  checkEqual(between(C, "room-msg", prev, tag), [["direct"]], "to-room <C's id>: C gets it (every socket is in its own room)");
  checkEqual(between(A, "room-msg", prev, tag), [], "to-room <C's id>: A does not");
  checkEqual(between(B, "room-msg", prev, tag), [], "to-room <C's id>: B does not");

  checkEqual((await A.ack("sockets-in", "r1"))[0], [id.A, id.B].sort(), "sockets-in r1 = [A, B] sorted");
  checkEqual((await A.ack("sockets-in", "r2"))[0], [id.B], "sockets-in r2 = [B]");
  checkEqual((await C.ack("sockets-in", "all"))[0], [id.A, id.B, id.C].sort(), "sockets-in all = [A, B, C] sorted");
  checkEqual((await C.ack("sockets-in", id.C))[0], [id.C], "sockets-in <C's id> = [C]");
  checkEqual((await C.ack("sockets-in", "nobody-here"))[0], [], "sockets-in of an empty room = []");

  checkEqual((await B.ack("leave", "r1"))[0], [id.B, "all", "r2"].sort(), 'B leaves "r1"; ack lists its remaining rooms');
  checkEqual((await A.ack("sockets-in", "r1"))[0], [id.A], "after B left: sockets-in r1 = [A]");
  A.send("to-room", "r1", "after-leave");
  prev = tag;
  tag = await sync();
  checkEqual(between(A, "room-msg", prev, tag), [["after-leave"]], "to-room r1 after B left: A gets it");
  checkEqual(between(B, "room-msg", prev, tag), [], "to-room r1 after B left: B does not");
  checkEqual(between(C, "room-msg", prev, tag), [], "to-room r1 after B left: C does not");

  const [result] = await A.ack("broadcast-ack");
  checkEqual(result, { err: null, responses: [id.A, id.B, id.C].sort() }, "broadcast-ack: every socket of the namespace answered ping-all with its id");
  for (const p of all) check(p.events("ping-all").length === 1, `${p.label} got ping-all once`, p.events("ping-all").length);

  // No unexpected event anywhere, and nothing arrived twice.
  const expectedNames = ["welcome", "room-msg", "except-msg", "room-broadcast-msg", "broadcast-msg", "ping-all"];
  for (const p of all) {
    const unexpected = p.log.filter((e) => !expectedNames.includes(e.event));
    checkEqual(unexpected, [], `${p.label}: no unexpected events`);
    check(p.socket.connected, `${p.label}: still connected`);
    check(p.transport === steadyTransport, `${p.label}: transport is still "${steadyTransport}"`, p.transport);
  }
  checkEqual(A.log.map((e) => e.event).filter((n) => n !== "room-msg"), ["welcome", "except-msg", "ping-all"], "A's non-room-msg events");
  checkEqual(B.log.map((e) => e.event).filter((n) => n !== "room-msg"), ["welcome", "room-broadcast-msg", "broadcast-msg", "ping-all"], "B's non-room-msg events");
  checkEqual(C.log.map((e) => e.event).filter((n) => n !== "room-msg"), ["welcome", "except-msg", "broadcast-msg", "ping-all"], "C's non-room-msg events");
  return { nsp, ids: id, syncs };
}

async function disconnectsScenario() {
  const observer = new Peer("observer", () => io(`${baseUrl}/`, clientOptions({ forceNew: true })));
  const nspA = freshNamespace();
  const nspB = freshNamespace();
  const nspC1 = freshNamespace();
  const nspC2 = freshNamespace();
  const A = new Peer("A", () => io(`${baseUrl}${nspA}`, clientOptions({ forceNew: true })));
  const B = new Peer("B", () => io(`${baseUrl}${nspB}`, clientOptions({ forceNew: true })));
  const C1 = new Peer("C1", () => io(`${baseUrl}${nspC1}`, clientOptions({ forceNew: true })));
  // Same Manager (same engine connection) as C1, another namespace.
  const C2 = new Peer("C2", () => C1.socket.io.socket(nspC2));
  const subjects = [A, B, C1, C2];
  for (const p of [observer, ...subjects]) await p.ready();
  check(C2.engine === C1.engine, "C1 and C2 share one engine connection");

  const roomsOf = new Map();
  const joinRooms = async (p, rooms) => {
    const reply = await p.ack("join", rooms);
    const expected = [p.socket.id, ...(Array.isArray(rooms) ? rooms : [rooms])].sort();
    checkEqual(reply, [expected], `${p.label} joins ${JSON.stringify(rooms)}`);
    roomsOf.set(p, expected);
  };
  await joinRooms(A, "room-a");
  await joinRooms(B, ["room-b1", "room-b2"]);
  await joinRooms(C1, "room-c");
  roomsOf.set(C2, [C2.socket.id]);

  // Server-side disconnect reasons of one of our (unique) namespaces.
  const serverReasons = (nsp, what) =>
    pollUntil(observer, "reasons", (list) => Array.isArray(list) && list.some((e) => e.nsp === nsp), what).then((list) =>
      list.filter((e) => e.nsp === nsp),
    );

  // (a) client-side disconnect
  A.expectDown = true;
  A.socket.disconnect();
  await waitFor(() => A.disconnects.length > 0, "A: disconnect event");
  checkEqual(A.disconnects.map((d) => d.reason), ["io client disconnect"], '(a) client reason is "io client disconnect"');
  checkEqual(await serverReasons(nspA, "A's server-side disconnect"), [{ nsp: nspA, reason: "client namespace disconnect" }], '(a) server reason is "client namespace disconnect"');
  check(!A.socket.active, "(a) A will not reconnect (socket.active is false)");

  // (b) server-side namespace disconnect
  B.expectDown = true;
  B.send("disconnect-me");
  await waitFor(() => B.disconnects.length > 0, "B: disconnect event");
  checkEqual(B.disconnects.map((d) => d.reason), ["io server disconnect"], '(b) disconnect-me: client reason is "io server disconnect"');
  checkEqual(await serverReasons(nspB, "B's server-side disconnect"), [{ nsp: nspB, reason: "server namespace disconnect" }], '(b) server reason is "server namespace disconnect"');
  check(!B.socket.active, "(b) B will not reconnect (socket.active is false)");

  // (c) server-side disconnect(true): DISCONNECT for every namespace of the
  // connection, then the connection closes.
  C1.expectDown = true;
  C2.expectDown = true;
  C1.send("close-me");
  await waitFor(() => C1.disconnects.length > 0 && C2.disconnects.length > 0, "C1 and C2: disconnect events");
  checkEqual(C1.disconnects.map((d) => d.reason), ["io server disconnect"], '(c) close-me: C1 client reason is "io server disconnect"');
  checkEqual(C2.disconnects.map((d) => d.reason), ["io server disconnect"], '(c) close-me: C2 (same connection, other namespace) client reason is "io server disconnect"');
  checkEqual(await serverReasons(nspC1, "C1's server-side disconnect"), [{ nsp: nspC1, reason: "server namespace disconnect" }], '(c) C1 server reason is "server namespace disconnect"');
  checkEqual(await serverReasons(nspC2, "C2's server-side disconnect"), [{ nsp: nspC2, reason: "server namespace disconnect" }], '(c) C2 server reason is "server namespace disconnect"');
  check(!C1.socket.active && !C2.socket.active, "(c) C1 and C2 will not reconnect");
  await waitFor(() => C1.engine.readyState === "closed", "C1's engine connection to close");
  check(C1.engine.readyState === "closed", "(c) the engine connection of C1/C2 is closed");

  // (d) disconnecting: the rooms were still there.
  const expectedReason = new Map([
    [A, "client namespace disconnect"],
    [B, "server namespace disconnect"],
    [C1, "server namespace disconnect"],
    [C2, "server namespace disconnect"],
  ]);
  const ours = new Set(subjects.map((p) => p.socket.nsp));
  const log = await pollUntil(
    observer,
    "disconnecting-log",
    (list) => Array.isArray(list) && [...ours].every((n) => list.some((e) => e.nsp === n)),
    "disconnecting entries of all four subjects",
  );
  for (const p of subjects) {
    const entries = log.filter((e) => e.nsp === p.socket.nsp);
    checkEqual(
      entries,
      [{ nsp: p.socket.nsp, reason: expectedReason.get(p), roomsDuringDisconnecting: roomsOf.get(p) }],
      `(d) ${p.label}: one disconnecting entry with its reason; rooms (own id included) still present`,
    );
  }

  // One more round trip, then make sure nothing reconnected.
  await observer.ack("reasons");
  for (const p of subjects) {
    check(p.connects === 1, `${p.label}: connected exactly once (no automatic reconnection)`, p.connects);
    check(p.reconnectAttempts === 0, `${p.label}: no reconnect_attempt`, p.reconnectAttempts);
    check(p.disconnects.length === 1, `${p.label}: exactly one disconnect event`, p.disconnects);
  }
  check(observer.socket.connected, "observer still connected");
  return {
    namespaces: { A: nspA, B: nspB, C1: nspC1, C2: nspC2 },
    clientReasons: Object.fromEntries(subjects.map((p) => [p.label, p.disconnects[0].reason])),
  };
}

async function volatileScenario() {
  const a = new Peer("A", () => io(`${baseUrl}/`, clientOptions({ forceNew: true })));
  await a.ready();

  // Burst: volatile may drop messages (socket.io 4.8.4 drops those emitted
  // while the transport is busy), so only delivery properties are asserted.
  const burst = [1, 2, 3, 4, 5];
  for (const n of burst) a.send("volatile", n);
  a.send("echo", "after-burst");
  await waitFor(() => a.events("echo").length >= 1, "A: echo after the volatile burst");

  // Paced: one volatile per round trip.
  const paced = [11, 12, 13, 14, 15];
  for (const n of paced) {
    a.send("volatile", n);
    a.send("echo", `after-${n}`);
    await waitFor(() => a.events("echo").some((e) => e.args[0] === `after-${n}`), `A: echo after volatile ${n}`);
  }
  // A last round trip: anything still to come would have arrived before it.
  const [count] = await a.ack("count");
  check(count === a.sentEvents, "count matches the events sent", count);

  // Per-socket order: a volatile-msg can only arrive between the echo sent
  // before its volatile event and the echo sent right after it.
  const seq = a.log.filter((e) => e.event === "volatile-msg" || e.event === "echo");
  const received = [];
  const order = [];
  // Values a volatile-msg may carry at this point of the sequence.
  let allowed = burst;
  let pacedIndex = 0;
  for (const e of seq) {
    if (e.event === "echo") {
      order.push(e.args[0]);
      allowed = pacedIndex < paced.length ? [paced[pacedIndex++]] : [];
      continue;
    }
    check(e.args.length === 1, "volatile-msg has exactly one argument", e.args);
    const n = e.args[0];
    received.push(n);
    order.push(n);
    check(allowed.includes(n), `volatile-msg ${n} arrived between the echoes surrounding its volatile event`, order);
  }
  for (let i = 1; i < received.length; i++) {
    check(received[i] > received[i - 1], "volatile-msg values arrive in increasing order without duplicates", received);
  }
  const allSent = [...burst, ...paced];
  check(received.every((n) => allSent.includes(n)), "every volatile-msg value was sent", received);
  checkEqual(a.events("echo").map((e) => e.args[0]), ["after-burst", ...paced.map((n) => `after-${n}`)], "all echoes arrived in order");
  return {
    received,
    receivedBurst: received.filter((n) => burst.includes(n)),
    receivedPaced: received.filter((n) => paced.includes(n)),
  };
}

async function pingTimeoutScenario() {
  const proxy = await startProxy();
  note("proxy", { listening: proxy.port, target: targetPort });
  const observer = new Peer("observer", () => io(`${baseUrl}/`, clientOptions({ forceNew: true })));
  const nsp = freshNamespace();
  let handshake = null;
  const s = new Peer("S", () => {
    const socket = io(`http://127.0.0.1:${proxy.port}${nsp}`, clientOptions({ forceNew: true, reconnection: false }));
    socket.io.engine.on("handshake", (data) => {
      handshake = data;
      note("handshake", { data });
    });
    return socket;
  });
  await observer.ready();
  await s.ready();
  check(handshake !== null, "the engine handshake was seen");
  const { pingInterval, pingTimeout } = handshake;
  check(Number.isInteger(pingInterval) && Number.isInteger(pingTimeout), "handshake carries pingInterval and pingTimeout", handshake);
  // Both sides need pingInterval + pingTimeout without traffic to give up:
  // leave room for that (hang guard, not an assertion).
  const deadMs = pingInterval + pingTimeout;
  extendWatchdog(3 * deadMs + 10000);

  s.send("echo", "before-blackhole");
  await s.waitEvents("echo", 1);
  checkEqual(s.events("echo")[0].args, ["before-blackhole"], "echo through the proxy works");

  proxy.blackhole();
  note("blackhole", { connections: proxy.connections.size });
  s.expectDown = true;
  await waitFor(() => s.disconnects.length > 0, "S: disconnect after the proxy went silent");
  checkEqual(s.disconnects.map((d) => d.reason), ["ping timeout"], 'client reason is "ping timeout"');
  check(s.log.length === 2, "nothing arrived through the silent proxy", s.log.map((e) => e.event));

  const pauseMs = 50;
  const reasons = await pollUntil(
    observer,
    "reasons",
    (list) => Array.isArray(list) && list.some((e) => e.nsp === nsp),
    "the server to notice the dead connection",
    { attempts: Math.ceil((2 * deadMs + 5000) / pauseMs), pauseMs },
  );
  checkEqual(reasons.filter((e) => e.nsp === nsp), [{ nsp, reason: "ping timeout" }], 'server reason is "ping timeout"');
  return { nsp, pingInterval, pingTimeout, droppedBytes: proxy.dropped };
}

// ---------------------------------------------------------------------------
// TCP proxy on 127.0.0.1 that can go silent: bytes are read and dropped in
// both directions while the connections stay open (a dead peer).

const proxies = [];

function startProxy() {
  return new Promise((resolve, reject) => {
    const connections = new Set();
    const state = { silent: false, dropped: 0 };
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ]) {
        connections.add(from);
        from.on("data", (chunk) => {
          if (state.silent) state.dropped += chunk.length;
          else to.write(chunk);
        });
        from.on("error", () => {});
        from.on("close", () => {
          connections.delete(from);
          // While silent, a close must not be passed on either.
          if (!state.silent) to.destroy();
        });
      }
    });
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const proxy = {
        port: server.address().port,
        connections,
        get dropped() {
          return state.dropped;
        },
        blackhole() {
          state.silent = true;
        },
        close() {
          for (const c of connections) c.destroy();
          connections.clear();
          server.close();
        },
      };
      proxies.push(proxy);
      resolve(proxy);
    });
  });
}

// ---------------------------------------------------------------------------
// Watchdog, result reporting and clean exit

let watchdog = null;
let watchdogDeadline = 0;

function armWatchdog(ms) {
  if (watchdog) clearTimeout(watchdog);
  watchdogDeadline = Date.now() + ms;
  watchdog = setTimeout(() => {
    const waiting = pendingWait ? ` while waiting for ${pendingWait}` : "";
    const state = peers.map((p) => `${p.label}:${p.socket.connected ? "connected" : "not connected"}/${p.log.length} events`).join(", ");
    finish(
      false,
      null,
      `watchdog: scenario "${args.scenario}" did not complete within ${ms} ms${waiting} [${state}] (hang guard, not a timing assertion)`,
    );
  }, ms);
}

function extendWatchdog(minimumRemainingMs) {
  if (watchdogDeadline - Date.now() < minimumRemainingMs) armWatchdog(minimumRemainingMs);
}

function finish(ok, details, error) {
  if (finished) return;
  finished = true;
  if (watchdog) clearTimeout(watchdog);
  const result = { scenario: args.scenario, transport: args.transport, parser: args.parser, ok, checks: checks.length };
  if (details) result.details = preview(details);
  if (!ok) {
    result.error = error;
    result.passedChecks = checks;
  }
  if (!ok) console.error(`FAIL: ${error}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exitCode = ok ? 0 : 1;

  // Release everything so that Node exits by itself once pending writes are
  // flushed; force it if something lingers.
  for (const p of peers) {
    try {
      p.socket.io.reconnection(false);
      p.socket.disconnect();
    } catch {
      // best effort
    }
  }
  for (const p of proxies) p.close();
  setTimeout(() => process.exit(ok ? 0 : 1), ok ? 3000 : 500).unref();
}

process.on("uncaughtException", (err) => {
  finish(false, null, `uncaught exception: ${err?.stack ?? err}`);
});
process.on("unhandledRejection", (err) => {
  finish(false, null, `unhandled rejection: ${err?.stack ?? err}`);
});

note("start", { scenario: args.scenario, url: baseUrl, path: args.path, transport: args.transport, parser: args.parser });
armWatchdog(watchdogMs);
try {
  const details = await SCENARIOS[args.scenario]();
  finish(true, details);
} catch (err) {
  finish(false, null, err instanceof Failure ? err.message : `unexpected error: ${err?.stack ?? err}`);
}
