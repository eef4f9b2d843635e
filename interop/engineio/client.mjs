// Engine.IO interop scenario runner built on the official `engine.io-client`.
//
// Usage:
//   node interop/engineio/client.mjs --url http://127.0.0.1:PORT --scenario NAME
//        [--path /engine.io/] [--transport polling|websocket] [--timeout MS]
//
// Output: one JSON line per notable event (debugging aid only), then exactly
// one final line `RESULT {json}`. Exit code 0 only if every assertion of the
// scenario held, 1 otherwise (the RESULT carries the reason), 2 for bad usage.
//
// The server under test must follow the echo contract (see interop/README.md).
// No assertion here ever looks at how long something took; the watchdog only
// turns a hang into a clean failure.

import net from "node:net";
import { parseArgs } from "node:util";
import { Socket } from "engine.io-client";

const SCENARIOS = {
  polling: () => roundTripScenario("polling"),
  websocket: () => roundTripScenario("websocket"),
  upgrade: upgradeScenario,
  "server-close": serverCloseScenario,
  "client-close": clientCloseScenario,
  "heartbeat-timeout": heartbeatTimeoutScenario,
  "many-messages": manyMessagesScenario,
};

// ---------------------------------------------------------------------------
// Command line

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error(
    "usage: node interop/engineio/client.mjs --url http://127.0.0.1:PORT --scenario NAME\n" +
      "         [--path /engine.io/] [--transport polling|websocket] [--timeout MS]\n" +
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
      path: { type: "string", default: "/engine.io/" },
      transport: { type: "string", default: "websocket" },
      timeout: { type: "string", default: "15000" },
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
if (!(args.scenario in SCENARIOS)) usage(`unknown scenario "${args.scenario}"`);
if (args.transport !== "polling" && args.transport !== "websocket") {
  usage(`--transport must be "polling" or "websocket", got "${args.transport}"`);
}
// Scenarios that honour --transport (the others fix their transports).
const usesTransportFlag = ["server-close", "client-close", "heartbeat-timeout", "many-messages"].includes(args.scenario);
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
const targetPort = Number(target.port || 80);

// ---------------------------------------------------------------------------
// Output helpers

const startedAt = performance.now();
// Set once the RESULT line has been printed.
let finished = false;
// What the scenario is currently waiting for, reported if the watchdog fires.
let pendingWait = null;

function emit(event, fields = {}) {
  // Nothing may follow the RESULT line.
  if (finished) return;
  // `ms` is informational only, never asserted on.
  const ms = Math.round(performance.now() - startedAt);
  console.log(JSON.stringify({ ms, event, ...fields }));
}

class Failure extends Error {}

const checks = [];

function check(condition, what, detail) {
  if (!condition) {
    const suffix = detail === undefined ? "" : `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
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

function describe(value) {
  if (typeof value === "string") {
    const preview = value.length > 32 ? `${value.slice(0, 32)}...` : value;
    return { kind: "text", length: value.length, preview };
  }
  const bytes = toBytes(value);
  if (bytes === null) {
    return { kind: `unexpected ${Object.prototype.toString.call(value)}` };
  }
  const hex = bytes.subarray(0, 16).toString("hex");
  return { kind: "binary", length: bytes.length, preview: bytes.length > 16 ? `${hex}...` : hex };
}

function sameMessage(sent, got) {
  if (typeof sent === "string") return typeof got === "string" && got === sent;
  if (typeof got === "string") return false;
  const a = toBytes(sent);
  const b = toBytes(got);
  return a !== null && b !== null && a.equals(b);
}

function assertEchoes(sent, received, what) {
  // Compare the common prefix first: it pinpoints a lost, altered or
  // reordered message better than a bare count mismatch would.
  for (let i = 0; i < Math.min(sent.length, received.length); i++) {
    if (!sameMessage(sent[i], received[i])) {
      throw new Failure(
        `assertion failed: ${what}: echo #${i} differs from what was sent (lost, altered or reordered): ` +
          `sent ${JSON.stringify(describe(sent[i]))}, got ${JSON.stringify(describe(received[i]))}`,
      );
    }
  }
  check(
    received.length === sent.length,
    `${what}: exactly ${sent.length} echoes received`,
    `got ${received.length}`,
  );
  checks.push(`${what}: all ${sent.length} echoes equal and in order`);
}

// ---------------------------------------------------------------------------
// A client socket wrapped for sequential, promise-based scenarios.

const sessions = [];

class Session {
  constructor(url, options, { logMessages = true } = {}) {
    this.received = [];
    this.handshake = null;
    this.closeInfo = null;
    this.opened = false;
    this.upgrades = [];
    this.upgradeErrors = [];
    this.errors = [];
    this.pings = 0;
    this.flushes = 0;
    this._waiters = new Set();
    this.logMessages = logMessages;

    const socket = new Socket(url, options);
    this.socket = socket;
    sessions.push(this);

    socket.on("handshake", (data) => {
      this.handshake = data;
      emit("handshake", { data });
    });
    socket.on("open", () => {
      this.opened = true;
      emit("open", { sid: socket.id, transport: socket.transport.name });
      this._wake();
    });
    socket.on("message", (data) => {
      this.received.push(data);
      if (this.logMessages) {
        emit("message", { index: this.received.length - 1, transport: socket.transport.name, ...describe(data) });
      }
      this._wake();
    });
    socket.on("packet", (packet) => {
      if (packet.type === "ping") this.pings++;
    });
    socket.on("flush", () => {
      this.flushes++;
    });
    socket.on("upgrading", (transport) => {
      emit("upgrading", { to: transport.name });
    });
    socket.on("upgrade", (transport) => {
      this.upgrades.push(transport.name);
      emit("upgrade", { to: transport.name });
      this._wake();
    });
    socket.on("upgradeError", (err) => {
      this.upgradeErrors.push(String(err?.message ?? err));
      emit("upgradeError", { error: String(err?.message ?? err) });
    });
    socket.on("error", (err) => {
      this.errors.push(String(err?.message ?? err));
      emit("error", { error: String(err?.message ?? err) });
    });
    socket.on("close", (reason, description) => {
      this.closeInfo = { reason, description: describeCloseDetail(description) };
      emit("close", this.closeInfo);
      this._wake();
    });
  }

  get transportName() {
    return this.socket.transport?.name;
  }

  send(data) {
    this.socket.send(data);
  }

  _wake() {
    for (const waiter of [...this._waiters]) waiter();
  }

  // Resolves once `predicate()` holds. Rejects if the socket closes first,
  // unless `allowClosed` is set (for predicates that look at the close).
  waitFor(predicate, what, { allowClosed = false } = {}) {
    pendingWait = { session: this, what };
    return new Promise((resolve, reject) => {
      const evaluate = () => {
        let done;
        try {
          done = predicate();
        } catch (err) {
          this._waiters.delete(evaluate);
          reject(err);
          return;
        }
        if (done) {
          this._waiters.delete(evaluate);
          resolve();
        } else if (this.closeInfo && !allowClosed) {
          this._waiters.delete(evaluate);
          reject(new Failure(`socket closed (${JSON.stringify(this.closeInfo)}) while waiting for ${what}`));
        }
      };
      this._waiters.add(evaluate);
      evaluate();
    });
  }

  waitOpen() {
    return this.waitFor(() => this.opened, "open");
  }

  waitMessages(count, what = `${count} messages`) {
    return this.waitFor(() => this.received.length >= count, what);
  }

  waitClose() {
    return this.waitFor(() => this.closeInfo !== null, "close", { allowClosed: true });
  }
}

// Turns the second argument of the client's `close` event (an Error, a plain
// object, or an event from the transport) into something JSON-friendly.
function describeCloseDetail(detail, depth = 0) {
  if (detail === undefined || detail === null) return undefined;
  if (typeof detail !== "object") return detail;
  if (depth > 2) return String(detail.message ?? detail.constructor?.name ?? "object");
  const out = {};
  if (detail.constructor && detail.constructor !== Object) out.kind = detail.constructor.name;
  for (const key of ["message", "description", "context", "code", "reason", "type", "status"]) {
    let value;
    try {
      value = detail[key];
    } catch {
      continue;
    }
    if (value === undefined || value === null || value === "") continue;
    if (typeof value === "function") continue;
    out[key] = describeCloseDetail(value, depth + 1);
  }
  return out;
}

function clientOptions(extra) {
  return { path: args.path, ...extra };
}

// Asserts the handshake (the `open` packet payload) has the expected shape.
function checkHandshake(session, transport) {
  const hs = session.handshake;
  check(hs !== null && typeof hs === "object", "handshake payload received");
  check(typeof hs.sid === "string" && hs.sid.length === 20, "handshake sid is a 20-character string", hs.sid);
  check(session.socket.id === hs.sid, "socket.id equals handshake sid");
  check(Array.isArray(hs.upgrades), "handshake upgrades is an array", hs.upgrades);
  if (transport === "polling") {
    check(hs.upgrades.includes("websocket"), "polling handshake offers the websocket upgrade", hs.upgrades);
  } else {
    check(hs.upgrades.length === 0, "websocket handshake offers no upgrades", hs.upgrades);
  }
  for (const key of ["pingInterval", "pingTimeout", "maxPayload"]) {
    check(Number.isInteger(hs[key]) && hs[key] > 0, `handshake ${key} is a positive integer`, hs[key]);
  }
  // Internal fields of engine.io-client, checked only where present so that a
  // client refactoring does not break the harness.
  const internal = { _pingInterval: "pingInterval", _pingTimeout: "pingTimeout", _maxPayload: "maxPayload" };
  for (const [field, key] of Object.entries(internal)) {
    if (typeof session.socket[field] === "number") {
      check(session.socket[field] === hs[key], `client adopted ${key} from the handshake`, session.socket[field]);
    }
  }
}

function bigText(size) {
  // Varied content so that truncation or corruption cannot go unnoticed.
  const unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
  let out = "";
  for (let i = 0; out.length < size; i++) out += `${unit}[${i}]`;
  return out.slice(0, size);
}

async function closeFromClient(session, expectedMessages) {
  session.socket.close();
  await session.waitClose();
  check(session.closeInfo.reason === "forced close", 'client close reason is "forced close"', session.closeInfo);
  check(
    session.received.length === expectedMessages,
    "no unexpected extra message arrived before the close",
    `${session.received.length} received, ${expectedMessages} expected`,
  );
}

// ---------------------------------------------------------------------------
// Scenarios

async function roundTripScenario(transport) {
  const s = new Session(args.url, clientOptions({ transports: [transport], upgrade: false }));
  await s.waitOpen();
  check(s.transportName === transport, `transport is "${transport}"`, s.transportName);
  checkHandshake(s, transport);

  const payloads = [
    "hello",
    "héllo €🙂",
    Uint8Array.from([1, 2, 3]),
    bigText(100 * 1024),
    Uint8Array.from({ length: 256 }, (_, i) => i),
  ];
  for (const p of payloads) s.send(p);
  await s.waitMessages(payloads.length, "echoes of all payloads");
  assertEchoes(payloads, s.received, `${transport} echo`);
  check(s.transportName === transport, `transport is still "${transport}"`, s.transportName);

  await closeFromClient(s, payloads.length);
  return { transport, sid: s.handshake.sid, handshake: s.handshake };
}

async function upgradeScenario() {
  const s = new Session(args.url, clientOptions({ transports: ["polling", "websocket"], upgrade: true }));
  const sent = [];
  const push = (data) => {
    sent.push(data);
    phases[phase]++;
    s.send(data);
  };
  let openTransport;
  let duringSent = 0;
  let upgraded = false;
  // How many messages were handed to the client in each upgrade phase
  // (informational: the split depends on scheduling).
  const phases = { polling: 0, upgrading: 0, upgraded: 0 };
  let phase = "polling";

  s.socket.once("open", () => {
    openTransport = s.transportName;
    // Sent over polling before any probe has started.
    for (let i = 0; i < 5; i++) push(`pre-${i}`);
    push(Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
    // Keep sending while the upgrade is in progress, each from a fresh turn
    // of the event loop, until the upgrade completes (bounded).
    const tick = () => {
      if (upgraded || s.closeInfo || duringSent >= 500) return;
      push(duringSent % 7 === 3 ? Uint8Array.from([duringSent & 0xff, 0x00, 0xff]) : `during-${duringSent}`);
      duringSent++;
      setTimeout(tick, 1);
    };
    setTimeout(tick, 0);
  });
  // Sent while the polling transport is paused: must be buffered and flushed
  // over the new transport.
  s.socket.once("upgrading", () => {
    phase = "upgrading";
    for (let i = 0; i < 3; i++) push(`upgrading-${i}`);
  });
  s.socket.once("upgrade", () => {
    phase = "upgraded";
    upgraded = true;
  });

  await s.waitOpen();
  check(openTransport === "polling", 'transport is "polling" at open', openTransport);
  checkHandshake(s, "polling");

  await s.waitFor(() => s.upgrades.length > 0, "upgrade event");
  check(s.upgrades.length === 1 && s.upgrades[0] === "websocket", "upgraded once, to websocket", s.upgrades);
  check(s.transportName === "websocket", 'transport is "websocket" after upgrade', s.transportName);
  check(s.upgradeErrors.length === 0, "no upgradeError", s.upgradeErrors);

  push("after-upgrade");
  push(Uint8Array.from([9, 8, 7, 6, 5]));
  await s.waitMessages(sent.length, "echoes of messages sent before, during and after the upgrade");
  assertEchoes(sent, s.received, "upgrade echo");
  check(s.transportName === "websocket", 'transport is still "websocket"', s.transportName);

  await closeFromClient(s, sent.length);
  check(phases.upgrading > 0, "some messages were sent while the upgrade was in progress", phases);
  return { sent: sent.length, sentPerPhase: phases };
}

async function serverCloseScenario() {
  const transport = args.transport;
  const s = new Session(args.url, clientOptions({ transports: [transport], upgrade: false }));
  await s.waitOpen();
  check(s.transportName === transport, `transport is "${transport}"`, s.transportName);

  s.send("before-close");
  await s.waitMessages(1, "echo before server-close");
  assertEchoes(["before-close"], s.received, "pre-close echo");

  s.send("server-close");
  await s.waitFor(
    () => s.closeInfo !== null || s.received.length > 1,
    "the server to close the session",
    { allowClosed: true },
  );
  check(
    s.received.length === 1,
    "server closed the session without sending any further message (server-close must not be echoed)",
    s.received.slice(1).map(describe),
  );
  check(s.closeInfo.reason === "transport close", 'close reason is "transport close"', s.closeInfo);
  return { transport, close: s.closeInfo };
}

async function clientCloseScenario() {
  const transport = args.transport;
  const s = new Session(args.url, clientOptions({ transports: [transport], upgrade: false }));
  await s.waitOpen();
  check(s.transportName === transport, `transport is "${transport}"`, s.transportName);
  s.send("ping-before-close");
  await s.waitMessages(1, "echo before client close");
  assertEchoes(["ping-before-close"], s.received, "pre-close echo");
  await closeFromClient(s, 1);
  return { transport, sid: s.handshake.sid, close: s.closeInfo };
}

async function heartbeatTimeoutScenario() {
  const transport = args.transport;
  const proxy = await startProxy();
  const proxied = `http://127.0.0.1:${proxy.port}`;
  emit("proxy", { listening: proxy.port, target: targetPort });

  const s = new Session(proxied, clientOptions({ transports: [transport], upgrade: false }));
  await s.waitOpen();
  check(s.transportName === transport, `transport is "${transport}"`, s.transportName);
  const { pingInterval, pingTimeout } = s.handshake;
  check(Number.isInteger(pingInterval) && Number.isInteger(pingTimeout), "handshake carries heartbeat settings", s.handshake);
  // The client needs pingInterval + pingTimeout without traffic to give up;
  // make sure the watchdog leaves room for that (hang guard, not an assertion).
  extendWatchdog(2 * (pingInterval + pingTimeout) + 5000);

  s.send("echo-before-blackhole");
  await s.waitMessages(1, "echo before blackhole");
  assertEchoes(["echo-before-blackhole"], s.received, "pre-blackhole echo");

  proxy.blackhole();
  emit("blackhole", { connections: proxy.connections.size });

  await s.waitClose();
  check(s.closeInfo.reason === "ping timeout", 'close reason is "ping timeout"', s.closeInfo);
  check(s.received.length === 1, "no message arrived through the blackholed proxy", s.received.length);
  // The proxy's connections to the server stay open (and silent) a while longer, so that the
  // server finds the dead peer by its own heartbeat rather than by this process exiting.
  await new Promise((resolve) => setTimeout(resolve, pingInterval + pingTimeout));
  return { transport, pingInterval, pingTimeout, pingsSeen: s.pings, close: s.closeInfo, droppedBytes: proxy.dropped };
}

async function manyMessagesScenario() {
  const transport = args.transport;
  const count = 1000;
  const s = new Session(args.url, clientOptions({ transports: [transport], upgrade: false }), { logMessages: false });
  await s.waitOpen();
  check(s.transportName === transport, `transport is "${transport}"`, s.transportName);

  const sent = [];
  for (let i = 0; i < count; i++) sent.push(`msg-${String(i).padStart(4, "0")}`);
  for (const m of sent) s.send(m);
  emit("sent", { count, flushes: s.flushes });

  let reported = 0;
  await s.waitFor(() => {
    while (reported + 250 <= s.received.length) {
      reported += 250;
      emit("progress", { received: reported });
    }
    return s.received.length >= count;
  }, `${count} echoes`);
  assertEchoes(sent, s.received, `${transport} burst echo`);
  check(s.transportName === transport, `transport is still "${transport}"`, s.transportName);

  await closeFromClient(s, count);
  return { transport, count, clientFlushes: s.flushes };
}

// ---------------------------------------------------------------------------
// Minimal TCP proxy on 127.0.0.1 whose forwarding can be cut without closing
// the connections (bytes are read and dropped), to simulate a dead peer.

const proxies = [];

function startProxy() {
  return new Promise((resolve, reject) => {
    const connections = new Set();
    const state = { dropping: false, dropped: 0 };
    const server = net.createServer((downstream) => {
      const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
      connections.add(downstream);
      connections.add(upstream);
      const forward = (from, to) => {
        from.on("data", (chunk) => {
          if (state.dropping) {
            state.dropped += chunk.length;
            return;
          }
          to.write(chunk);
        });
        from.on("error", () => {});
        from.on("close", () => {
          connections.delete(from);
          if (!state.dropping) to.destroy();
        });
      };
      forward(downstream, upstream);
      forward(upstream, downstream);
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
          state.dropping = true;
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
    let waiting = "";
    if (pendingWait) {
      const { session, what } = pendingWait;
      const state = session.closeInfo ? `closed: ${session.closeInfo.reason}` : session.opened ? "open" : "not open";
      waiting = ` while waiting for ${what} (socket ${state}, ${session.received.length} messages received so far)`;
    }
    finish(
      false,
      null,
      `watchdog: scenario "${args.scenario}" did not complete within ${ms} ms${waiting} (hang guard, not a timing assertion)`,
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
  const result = { scenario: args.scenario, ok, checks: checks.length };
  if (usesTransportFlag) result.transport = args.transport;
  if (details) result.details = details;
  if (!ok) {
    result.error = error;
    result.passedChecks = checks;
  }
  if (!ok) console.error(`FAIL: ${error}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exitCode = ok ? 0 : 1;

  // Release everything so that Node exits by itself once pending writes (e.g.
  // the polling close packet) are flushed; force it if something lingers.
  for (const s of sessions) {
    if (!s.closeInfo) s.socket.close();
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

emit("start", {
  scenario: args.scenario,
  url: args.url,
  path: args.path,
  ...(usesTransportFlag ? { transport: args.transport } : {}),
});
armWatchdog(watchdogMs);
try {
  const details = await SCENARIOS[args.scenario]();
  finish(true, details);
} catch (err) {
  finish(false, null, err instanceof Failure ? err.message : `unexpected error: ${err?.stack ?? err}`);
}
