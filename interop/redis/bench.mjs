// Cross-node broadcast load generator: C official clients (WebSocket) on node B, one client
// on node A that asks A to broadcast to the room of B's clients, open loop at R broadcasts per
// second for D seconds. Each broadcast carries the time it was asked for (this process's
// clock), so each delivery's latency is client → A → Redis → B → client.
//
//   node interop/redis/bench.mjs --publish http://127.0.0.1:A --subscribe http://127.0.0.1:B
//        [--clients 100] [--rate 500] [--duration 10] [--warmup 2]
//
// Prints `RESULT {json}`: broadcasts sent, deliveries expected and received, deliveries per
// second, latency percentiles (ms).

import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { io as connect } from "socket.io-client";

const { values: args } = parseArgs({
  options: {
    publish: { type: "string" },
    subscribe: { type: "string" },
    clients: { type: "string", default: "100" },
    rate: { type: "string", default: "500" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
  },
});
const C = Number(args.clients);
const RATE = Number(args.rate);
const DURATION = Number(args.duration) * 1000;
const WARMUP = Number(args.warmup) * 1000;

const open = (url) =>
  new Promise((resolve, reject) => {
    const s = connect(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });

const watchdog = setTimeout(() => {
  console.log(`RESULT ${JSON.stringify({ error: "watchdog" })}`);
  process.exit(1);
}, WARMUP + DURATION + 60_000);

const subscribers = [];
for (let i = 0; i < C; i++) subscribers.push(await open(args.subscribe));
const publisher = await open(args.publish);

let received = 0;
const latencies = [];
let warmSeen = false;
for (const s of subscribers) {
  s.on("tick", (t) => {
    if (t === "warm") {
      warmSeen = true;
      return;
    }
    if (typeof t !== "object" || !t.m) return;
    received++;
    latencies.push(performance.now() - t.t);
  });
}
// The path through Redis is up once a broadcast made on A reaches B (bounded).
for (let i = 0; i < 200 && !warmSeen; i++) {
  publisher.emit("bench-emit", "warm");
  await sleep(25);
}
if (!warmSeen) {
  console.log(`RESULT ${JSON.stringify({ error: "no broadcast crossed from A to B" })}`);
  process.exit(1);
}

async function run(ms, measure) {
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * RATE);
    while (sent < due) {
      publisher.emit("bench-emit", { t: performance.now(), m: measure });
      sent++;
    }
    await sleep(1);
  }
  return sent;
}

await run(WARMUP, false);
const start = performance.now();
const sent = await run(DURATION, true);
const expected = sent * C;
// Drain: stop once everything arrived or nothing more arrives for 2 s.
let last = -1;
for (let i = 0; i < 100 && received < expected && received !== last; i++) {
  last = received;
  await sleep(2000);
}
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? +latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2) : null);
const result = {
  clients: C,
  rate: RATE,
  sent,
  expected,
  received,
  loss: +(1 - received / expected).toFixed(4),
  deliveriesPerSecond: Math.round(received / Math.min(elapsed, DURATION / 1000)),
  p50: pct(0.5),
  p90: pct(0.9),
  p99: pct(0.99),
  max: pct(1),
};
console.log(`RESULT ${JSON.stringify(result)}`);
clearTimeout(watchdog);
for (const s of [...subscribers, publisher]) s.disconnect();
setTimeout(() => process.exit(0), 100).unref();
