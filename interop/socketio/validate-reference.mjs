// Runs every client.mjs scenario against reference-server.mjs, for each
// parser and transport, to check the scenarios themselves (the oracle must
// pass everything). Not used to test the Rust server.
//
// Usage:
//   node interop/socketio/validate-reference.mjs [--rounds 2] [--parsers json,msgpack]
//        [--transports websocket,polling,upgrade] [--scenarios a,b,...] [--concurrency 4]
//
// Prints one line per run and a final summary `N passed, N failed`; exit code
// 0 only if every run passed. Failed runs' output is kept in the printed
// directory.

import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const ALL_SCENARIOS = ["basic", "acks", "ack-timeout", "namespaces", "rooms", "disconnects", "volatile", "ping-timeout"];

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "2" },
    parsers: { type: "string", default: "json,msgpack" },
    transports: { type: "string", default: "websocket,polling,upgrade" },
    scenarios: { type: "string", default: ALL_SCENARIOS.join(",") },
    concurrency: { type: "string", default: "4" },
  },
  strict: true,
});
const rounds = Number(args.rounds);
const concurrency = Number(args.concurrency);
const outDir = mkdtempSync(join(tmpdir(), "sio-validate-"));

function startServer(parser) {
  return new Promise((resolve, reject) => {
    // Short heartbeat so that ping-timeout is quick; generous enough for the
    // other scenarios under parallel load.
    const child = spawn(
      process.execPath,
      [join(here, "reference-server.mjs"), "--port", "0", "--parser", parser, "--ping-interval", "1000", "--ping-timeout", "1500"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let buffered = "";
    const onData = (chunk) => {
      buffered += chunk;
      const m = /^LISTENING (\d+)$/m.exec(buffered);
      if (m) {
        child.stdout.off("data", onData);
        child.stdout.resume(); // keep draining the server's event log
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", onData);
    child.on("exit", (code) => reject(new Error(`reference server exited early (${code})`)));
  });
}

function runClient(port, scenario, transport, parser) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(here, "client.mjs"), "--url", `http://127.0.0.1:${port}`, "--scenario", scenario, "--transport", transport, "--parser", parser],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

const jobs = [];
for (const parser of args.parsers.split(",")) {
  for (const transport of args.transports.split(",")) {
    for (const scenario of args.scenarios.split(",")) {
      for (let r = 1; r <= rounds; r++) jobs.push({ parser, transport, scenario, round: r });
    }
  }
}

const servers = {};
for (const parser of new Set(jobs.map((j) => j.parser))) servers[parser] = await startServer(parser);

let passed = 0;
let failed = 0;
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next++];
    const { code, out } = await runClient(servers[job.parser].port, job.scenario, job.transport, job.parser);
    const resultLine = out.split("\n").filter((l) => l.startsWith("RESULT ")).pop() ?? "(no RESULT line)";
    const label = `${job.parser} ${job.transport} ${job.scenario} #${job.round}`;
    if (code === 0) {
      passed++;
      console.log(`ok   ${label} ${resultLine.slice(0, 160)}`);
    } else {
      failed++;
      const file = join(outDir, `${label.replaceAll(/[ #]/g, "_")}.log`);
      writeFileSync(file, out);
      console.log(`FAIL ${label} exit=${code} ${resultLine.slice(0, 400)} (log: ${file})`);
    }
  }
}
await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
for (const { child } of Object.values(servers)) child.kill("SIGTERM");
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
