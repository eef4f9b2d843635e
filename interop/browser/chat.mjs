// Browser test of the chat example (examples/chat): two people in headless Chromium, driven
// with playwright-core, use the real page and the official browser client.
//
// Usage:
//   node interop/browser/chat.mjs --url http://127.0.0.1:PORT/ [--screenshot FILE.png] [--transport websocket|polling]
//        [--timeout MS] [--chromium /usr/bin/chromium]
//
// --screenshot FILE.png saves Ann's page at the end, FILE-typing.png while Bob types and
// FILE-bob.png with Bob's page before he leaves.
//
// Needs Debian's Chromium (`apt-get install chromium`, /usr/bin/chromium) and the pinned npm
// packages (`npm ci --prefix interop`). Playwright never downloads a browser here.
//
// Output: one JSON line per step (debugging aid only), then exactly one final line
// `RESULT {json}`. Exit code 0 only if every assertion held, 1 otherwise (the RESULT carries
// the reason), 2 for bad usage. No assertion looks at how long something took: every wait is
// for something to show up on a page, bounded only so that a hang becomes a clean failure.

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

// ---------------------------------------------------------------------------
// Command line

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error(
    "usage: node interop/browser/chat.mjs --url http://127.0.0.1:PORT/ [--screenshot FILE.png]\n" +
      "         [--timeout MS] [--chromium PATH]",
  );
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      url: { type: "string" },
      screenshot: { type: "string" },
      transport: { type: "string", default: "websocket" },
      timeout: { type: "string", default: "90000" },
      chromium: { type: "string", default: "/usr/bin/chromium" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }));
} catch (err) {
  usage(err.message);
}
if (args.help) usage();
if (!args.url) usage("--url is required");
let target;
try {
  target = new URL(args.url);
} catch {
  usage(`--url is not a valid URL: ${args.url}`);
}
if (!["websocket", "polling"].includes(args.transport)) usage("--transport is websocket or polling");
// With polling the page is told to use only that transport (`?transports=polling`).
if (args.transport === "polling") target.searchParams.set("transports", "polling");
if (target.protocol !== "http:") usage("--url must use http://");
if (target.hostname !== "127.0.0.1") usage("--url host must be 127.0.0.1");
const watchdogMs = Number(args.timeout);
if (!Number.isInteger(watchdogMs) || watchdogMs <= 0) usage("--timeout must be a positive integer");

// One wait for something to appear on a page: a hang guard, never a timing assertion.
const STEP_TIMEOUT_MS = Math.min(20000, watchdogMs);

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// ---------------------------------------------------------------------------
// Output and bookkeeping

const startedAt = performance.now();
let finished = false;
// What the scenario waits for now, told if the watchdog fires.
let currentStep = "starting";
const checks = [];
// Things the pages did wrong on the side: uncaught errors, requests to other hosts.
const pageErrors = [];
const foreignRequests = [];

function emit(event, fields = {}) {
  if (finished) return;
  const ms = Math.round(performance.now() - startedAt); // informational only
  console.log(JSON.stringify({ ms, event, ...fields }));
}

class Failure extends Error {}

function check(condition, what, detail) {
  if (!condition) {
    const suffix = detail === undefined ? "" : `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
    throw new Failure(`assertion failed: ${what}${suffix}`);
  }
  checks.push(what);
  emit("check", { what });
}

// The browser and its profile, released by `cleanUp` whatever happens.
let context = null;
let profileDir = null;

async function cleanUp() {
  const ctx = context;
  context = null;
  if (ctx) {
    // Bounded: a wedged browser must not keep the script alive.
    await Promise.race([ctx.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10000).unref())]);
  }
  const dir = profileDir;
  profileDir = null;
  if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
}

function finish(ok, details, error) {
  if (finished) return;
  const result = { scenario: "chat", ok, checks: checks.length };
  if (details) result.details = details;
  if (!ok) {
    result.error = error;
    result.passedChecks = checks;
    if (pageErrors.length) result.pageErrors = pageErrors;
    if (foreignRequests.length) result.foreignRequests = foreignRequests;
    console.error(`FAIL: ${error}`);
  }
  console.log(`RESULT ${JSON.stringify(result)}`);
  finished = true;
  process.exitCode = ok ? 0 : 1;
}

let watchdog = setTimeout(async () => {
  watchdog = null;
  finish(
    false,
    null,
    `watchdog: the chat scenario did not complete within ${watchdogMs} ms while ${currentStep} (hang guard, not a timing assertion)`,
  );
  await cleanUp();
  process.exit(1);
}, watchdogMs);

process.on("uncaughtException", (err) => finish(false, null, `uncaught exception: ${err?.stack ?? err}`));
process.on("unhandledRejection", (err) => finish(false, null, `unhandled rejection: ${err?.stack ?? err}`));

// ---------------------------------------------------------------------------
// Page helpers

// Waits until `fn(arg)`, run in the page, returns something truthy, and returns that.
async function waitInPage(page, what, fn, arg, timeout = STEP_TIMEOUT_MS) {
  currentStep = `waiting for ${what}`;
  try {
    const handle = await page.waitForFunction(fn, arg, { timeout, polling: 100 });
    const value = await handle.jsonValue();
    await handle.dispose();
    emit("saw", { what });
    return value;
  } catch (err) {
    if (err?.name === "TimeoutError") {
      throw new Failure(`${what} never showed up (gave up after ${timeout} ms: hang guard)`);
    }
    throw err;
  }
}

// The texts of the notices on a page.
function notices(page) {
  return page.locator("#messages li.notice").allTextContents();
}

// Waits for a notice whose text is exactly `text`.
function waitForNotice(page, who, text) {
  return waitInPage(
    page,
    `${who}'s notice "${text}"`,
    (t) => Array.from(document.querySelectorAll("#messages li.notice")).some((li) => li.textContent === t),
    text,
  );
}

// Waits for the online count to read `count`.
function waitForUsers(page, who, count) {
  return waitInPage(
    page,
    `${who}'s online count ${count}`,
    (n) => document.getElementById("users").textContent === String(n),
    count,
  );
}

// Waits for a chat message with exactly this text; returns what the page shows for it.
// `earlier`: look among the room's history shown on entering it instead of live messages.
function waitForMessage(page, who, text, earlier = false) {
  return waitInPage(
    page,
    `${who}'s ${earlier ? "earlier " : ""}message ${JSON.stringify(text)}`,
    ([t, old]) => {
      const selector = old ? "#messages li.message.earlier" : "#messages li.message:not(.earlier)";
      for (const li of document.querySelectorAll(selector)) {
        const body = li.querySelector(".text");
        if (body && body.textContent === t) {
          return {
            name: li.querySelector(".name")?.textContent ?? null,
            text: body.textContent,
            html: body.innerHTML,
            elements: body.children.length,
            mine: li.classList.contains("mine"),
          };
        }
      }
      return null;
    },
    [text, earlier],
  );
}

// The live messages of a page, as "name: text".
function liveMessages(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("#messages li.message:not(.earlier)"), (li) => {
      return `${li.querySelector(".name")?.textContent}: ${li.querySelector(".text")?.textContent}`;
    }),
  );
}

// The names in a page's member list.
function members(page) {
  return page.locator("#members li").allTextContents();
}

// Waits for the engine of the page's socket to run on the transport under test: upgraded to
// WebSocket, or still on polling when the page was told to poll only.
function waitForWebSocket(page, who) {
  const wanted = args.transport;
  return waitInPage(
    page,
    `${who}'s connection to be open on ${wanted}`,
    (name) => {
      const engine = window.chatSocket?.io?.engine;
      return engine && engine.readyState === "open" && engine.transport?.name === name;
    },
    wanted,
  );
}

async function openPerson(name) {
  currentStep = `opening ${name}'s page`;
  const page = await context.newPage();
  page.on("pageerror", (err) => {
    pageErrors.push({ who: name, error: String(err?.message ?? err) });
    emit("pageerror", { who: name, error: String(err?.message ?? err) });
  });
  page.on("console", (msg) => {
    if (msg.type() === "error") emit("console-error", { who: name, text: msg.text() });
  });
  const response = await page.goto(target.href, { waitUntil: "load" });
  check(response && response.status() === 200, `${name}'s page loads`, response ? response.status() : "no response");
  check((await page.title()).startsWith("Chat"), `${name}'s page is the chat`);
  await waitInPage(page, `${name}'s socket to connect`, () => window.chatSocket?.connected === true);
  return page;
}

async function join(page, name) {
  currentStep = `${name} joining`;
  await page.locator("#name").fill(name);
  await page.locator("#join").click();
  await page.locator("#input").waitFor({ state: "visible" });
  check(await page.locator("#name").isHidden(), `${name}'s name form goes away after joining`);
}

async function send(page, text) {
  currentStep = `sending ${JSON.stringify(text)}`;
  await page.locator("#input").fill(text);
  await page.locator("#send").click();
}

// ---------------------------------------------------------------------------
// Scenario

async function scenario() {
  if (!existsSync(args.chromium)) {
    throw new Failure(`no Chromium at ${args.chromium} (on Debian: apt-get install -y chromium)`);
  }
  profileDir = await mkdtemp(path.join(tmpdir(), "chat-browser-test-"));
  currentStep = "launching Chromium";
  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch (err) {
    throw new Failure(`playwright-core is not installed (run: npm ci --prefix interop): ${err?.message ?? err}`);
  }
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: args.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 680 },
    timeout: STEP_TIMEOUT_MS,
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  emit("launched", { browser: context.browser()?.version() ?? "chromium" });
  // The page is self-contained: anything it asks of another host is recorded and refused.
  await context.route(
    (url) => url.hostname !== "127.0.0.1",
    (route) => {
      foreignRequests.push(route.request().url());
      return route.abort();
    },
  );

  // The persistent context opens with one blank tab: Ann uses a new one like Bob.
  for (const blank of context.pages()) await blank.close();

  // Tags what this run says, so that the history of a server used before can't stand in for it.
  const run = Math.random().toString(36).slice(2, 8);

  const ann = await openPerson("Ann");
  await join(ann, "Ann");
  await waitForNotice(ann, "Ann", "You joined #general as Ann");
  check((await ann.locator("#room").textContent()) === "#general", "Ann starts in #general");
  // The count is whatever the server says once Ann is in (1 on a fresh server): the others
  // are measured from it, so a tab someone else left open doesn't fail the test.
  const base = Number(await ann.locator("#users").textContent());
  check(Number.isInteger(base) && base >= 1, "Ann's online count is a number after joining", base);

  // Ann speaks before Bob comes: Bob finds it in the room's history.
  const before = `Hi, anyone here? (test ${run})`;
  await send(ann, before);
  await waitForMessage(ann, "Ann", before);

  const bob = await openPerson("Bob");
  await join(bob, "Bob");
  await waitForNotice(bob, "Bob", "You joined #general as Bob");
  await waitForNotice(ann, "Ann", "Bob joined");
  check(true, "both see the joined notices");
  await waitForUsers(ann, "Ann", base + 1);
  await waitForUsers(bob, "Bob", base + 1);
  check(true, "both count one more user online");
  const history = await waitForMessage(bob, "Bob", before, true);
  check(history.name === "Ann", "Bob finds what Ann said before he came in the history", history);
  const annSees = await members(ann);
  check(
    annSees.includes("Ann (you)") && annSees.includes("Bob"),
    "Ann's member list shows herself and Bob",
    annSees,
  );
  const bobSees = await members(bob);
  check(bobSees.includes("Ann") && bobSees.includes("Bob (you)"), "Bob's member list shows Ann and himself", bobSees);

  await waitForWebSocket(ann, "Ann");
  await waitForWebSocket(bob, "Bob");
  check(true, `both connections run on ${args.transport}`);

  // Ann talks, Bob reads.
  const hello = "Hello Bob, it's Ann!";
  await send(ann, hello);
  const seenByBob = await waitForMessage(bob, "Bob", hello);
  check(seenByBob.name === "Ann", "Bob sees Ann's message under her name", seenByBob);
  check(!seenByBob.mine, "Bob's page doesn't mark Ann's message as his", seenByBob);
  const seenByAnn = await waitForMessage(ann, "Ann", hello);
  check(seenByAnn.mine && seenByAnn.name === "Ann", "Ann sees her own message, marked as hers", seenByAnn);
  check((await ann.locator("#input").inputValue()) === "", "Ann's input is cleared after sending");

  // Bob types, Ann sees it. `typing` is relayed as a volatile event, so a lost one is allowed
  // for: Bob starts typing again (a bounded number of times) until Ann's page shows it.
  const bobInput = bob.locator("#input");
  let typingSeen = null;
  for (let attempt = 1; attempt <= 8 && typingSeen === null; attempt++) {
    currentStep = `Bob typing (attempt ${attempt})`;
    await bobInput.fill(""); // sends `stop typing` if it was typing: the next key starts anew
    await bobInput.pressSequentially("I'm wri", { delay: 20 });
    try {
      // A short wait per attempt: it decides when to type again, and asserts nothing.
      typingSeen = await waitInPage(
        ann,
        "Ann's typing line",
        () => {
          const text = document.getElementById("typing").textContent;
          return text.includes("Bob is typing") ? text : null;
        },
        undefined,
        Math.min(5000, STEP_TIMEOUT_MS),
      );
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      emit("retry", { what: "typing line", attempt });
    }
  }
  check(typingSeen !== null, "Ann sees that Bob is typing", typingSeen);
  check(typingSeen === "Bob is typing…", "the typing line names Bob", typingSeen);
  check((await bob.locator("#typing").textContent()) === "", "Bob's own typing is not shown to him");
  if (args.screenshot) {
    // The typing line as Ann sees it, taken beside the final screenshot.
    const typingShot = args.screenshot.replace(/(\.png)?$/i, "-typing.png");
    await ann.screenshot({ path: typingShot });
    emit("screenshot", { path: typingShot });
  }

  // Bob sends markup: Ann must see it as text.
  const markup = "<b>x</b> & <img src=x onerror=alert(1)>";
  await send(bob, markup);
  const markupSeen = await waitForMessage(ann, "Ann", markup);
  check(markupSeen.name === "Bob", "Ann sees Bob's message under his name", markupSeen);
  check(markupSeen.elements === 0, "Bob's markup made no elements on Ann's page", markupSeen);
  check(markupSeen.html.includes("&lt;b&gt;x&lt;/b&gt;"), "Bob's markup is escaped on Ann's page", markupSeen);
  check((await ann.locator("#messages b, #messages img").count()) === 0, "no <b> or <img> in Ann's messages");
  await waitInPage(ann, "Ann's typing line to clear when Bob's message arrives", () => {
    return document.getElementById("typing").textContent === "";
  });
  check(true, "Ann's typing line clears once Bob's message arrives");

  if (args.screenshot) {
    const bobShot = args.screenshot.replace(/(\.png)?$/i, "-bob.png");
    await bob.screenshot({ path: bobShot });
    emit("screenshot", { path: bobShot });
  }

  // Bob leaves.
  currentStep = "closing Bob's page";
  await bob.close();
  await waitForNotice(ann, "Ann", "Bob left");
  await waitForUsers(ann, "Ann", base);
  check(true, "Ann sees Bob leave and the count drop");
  const afterBob = await members(ann);
  check(!afterBob.includes("Bob"), "Bob is off Ann's member list", afterBob);

  // Only Ann's and Bob's: a tab someone else has open on the same server may add its own.
  const annNotices = (await notices(ann)).filter((text) => /\b(Ann|Bob)\b/.test(text));
  check(
    JSON.stringify(annNotices) === JSON.stringify(["You joined #general as Ann", "Bob joined", "Bob left"]),
    "Ann's notices are the joins and the leave, in order",
    annNotices,
  );
  const annMessages = await liveMessages(ann);
  check(
    JSON.stringify(annMessages) === JSON.stringify([`Ann: ${before}`, `Ann: ${hello}`, `Bob: ${markup}`]),
    "Ann's messages are the three said, in order",
    annMessages,
  );

  if (args.screenshot) {
    currentStep = "taking the screenshot";
    await ann.screenshot({ path: args.screenshot });
    emit("screenshot", { path: args.screenshot });
  }

  // Ann opens a room of her own, talks there, and comes back: #general shows its history
  // and none of what was said elsewhere.
  const side = `side-${run}`;
  currentStep = `Ann going to #${side}`;
  await ann.locator("#room-name").fill(side);
  await ann.locator("#room-go").click();
  await waitInPage(ann, `Ann's room to be #${side}`, (r) => document.getElementById("room").textContent === `#${r}`, side);
  await waitForNotice(ann, "Ann", `You joined #${side} as Ann`);
  check(JSON.stringify(await members(ann)) === JSON.stringify(["Ann (you)"]), `Ann is alone in #${side}`);
  await waitInPage(
    ann,
    `#${side} in Ann's room list`,
    (r) => Array.from(document.querySelectorAll("#rooms button"), (b) => b.dataset.room).includes(r),
    side,
  );
  const aside = `Just me here (test ${run})`;
  await send(ann, aside);
  await waitForMessage(ann, "Ann", aside);

  currentStep = "Ann going back to #general";
  await ann.locator('#rooms button[data-room="general"]').click();
  await waitInPage(ann, "Ann's room to be #general", () => document.getElementById("room").textContent === "#general");
  await waitForMessage(ann, "Ann", markup, true);
  await waitForMessage(ann, "Ann", hello, true);
  const backHome = await messageTexts(ann);
  check(!backHome.includes(aside), `#general's history has nothing said in #${side}`, backHome);

  check(pageErrors.length === 0, "no uncaught errors on the pages", pageErrors);
  check(foreignRequests.length === 0, "the page asks nothing of other hosts", foreignRequests);

  return { usersBefore: base, run, screenshot: args.screenshot ?? null };
}

// Every message text on a page, earlier or live.
function messageTexts(page) {
  return page.locator("#messages li.message .text").allTextContents();
}

emit("start", { url: target.href });
try {
  const details = await scenario();
  finish(true, details);
} catch (err) {
  finish(false, null, err instanceof Failure ? err.message : `unexpected error while ${currentStep}: ${err?.stack ?? err}`);
} finally {
  if (watchdog) clearTimeout(watchdog);
  await cleanUp();
}
// Playwright's pipes are closed by now; make sure nothing else keeps Node alive.
setTimeout(() => process.exit(process.exitCode ?? 1), 2000).unref();
