"""Socket.IO interop scenarios driven by the PyPI `python-socketio` client.

Usage:
    python interop/python/client.py --url http://127.0.0.1:PORT --scenario NAME
        [--transport websocket|polling|upgrade] [--parser json|msgpack]
        [--timeout SECONDS]

The server must implement the interop contract of interop/socketio/README.md
(interop/socketio/reference-server.mjs is its oracle). The client is
`socketio.AsyncClient` (aiohttp underneath): it hands incoming packets to the
application in arrival order, which the ordering checks below rely on.

Output: one JSON line per notable event (a debugging aid), then exactly one
last line `RESULT {json}` with scenario, transport, parser, ok, checks (the
assertions that held), details and, on failure, error. Exit code 0 when every
assertion held, 1 otherwise, 2 for bad usage.

No assertion looks at how long anything took: the watchdog only turns a hang
into a failure.
"""

import argparse
import asyncio
import json
import os
import re
import sys
import threading

import socketio

SCENARIOS = {}


def scenario(name):
    def register(func):
        SCENARIOS[name] = func
        return func

    return register


class ScenarioFailed(Exception):
    pass


# ---------------------------------------------------------------------------
# Values: strict deep equality and printable previews


def same(a, b):
    """Deep equality as JavaScript sees it after a round trip: tuples and lists
    are both arrays, bytes and bytearray are both binary, booleans are never
    numbers, dictionary keys in any order."""
    binary = (bytes, bytearray, memoryview)
    if isinstance(a, binary) or isinstance(b, binary):
        return isinstance(a, binary) and isinstance(b, binary) and bytes(a) == bytes(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is bool and type(b) is bool and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    return False


def preview(value, depth=0):
    """A JSON-friendly, size-bounded rendering of a received value."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {"$binary": len(raw), "head": raw[:8].hex()}
    if isinstance(value, str):
        return value if len(value) <= 64 else f"{value[:32]}...({len(value)} chars)"
    if depth > 4:
        return "..."
    if isinstance(value, (list, tuple)):
        items = [preview(v, depth + 1) for v in value[:12]]
        if len(value) > 12:
            items.append(f"...({len(value)} items)")
        return items
    if isinstance(value, dict):
        return {str(k): preview(v, depth + 1) for k, v in list(value.items())[:12]}
    return value


def emit_line(record):
    print(json.dumps(record, ensure_ascii=False, default=str), flush=True)


# ---------------------------------------------------------------------------
# One run: checks, the abort signal, peers


class Run:
    def __init__(self, args):
        self.url = args.url
        self.name = args.scenario
        self.transport = args.transport
        self.parser = args.parser
        self.timeout = args.timeout
        self.debug = args.debug
        self.checks = 0
        self.details = {}
        self.waiting = "start"
        self.peers = []
        self.abort = None

    # What the client is told to use, what the first request uses and what
    # the engine must end up on.
    def transports(self):
        return {
            "websocket": ["websocket"],
            "polling": ["polling"],
            "upgrade": ["polling", "websocket"],
        }[self.transport]

    def first_transport(self):
        return "websocket" if self.transport == "websocket" else "polling"

    def final_transport(self):
        return "polling" if self.transport == "polling" else "websocket"

    def check(self, condition, what):
        if not condition:
            raise ScenarioFailed(what)
        self.checks += 1

    def equal(self, got, want, what):
        self.check(
            same(got, want),
            f"{what}: got {json.dumps(preview(got), default=str)}, "
            f"want {json.dumps(preview(want), default=str)}",
        )

    def fail_now(self, reason):
        """Called from event handlers: makes the pending wait fail at once."""
        if self.abort is not None and not self.abort.done():
            self.abort.set_result(reason)

    async def wait(self, awaitable, what):
        """Awaits `awaitable`, failing at once if something unexpected (a
        disconnect, a connect error) happened meanwhile."""
        self.waiting = what
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait({task, self.abort}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
        if task in done:
            return task.result()
        raise ScenarioFailed(f"{self.abort.result()} (while waiting for {what})")

    def peer(self, label):
        p = Peer(self, label)
        self.peers.append(p)
        return p


class Peer:
    """One AsyncClient (one Engine.IO connection) with a queue of received
    events per namespace. Every handler is registered for every namespace and
    is a plain function, so it runs as soon as its packet is decoded, in order."""

    def __init__(self, run, label):
        self.run = run
        self.label = label
        self.sio = socketio.AsyncClient(
            reconnection=False,
            serializer="msgpack" if run.parser == "msgpack" else "default",
            handle_sigint=False,
            logger=run.debug,
            engineio_logger=run.debug,
        )
        self.queues = {}
        self.names = {}
        self.sent = {}
        self.acked = {}
        self.expected_errors = set()
        self.closing = False
        self.sio.on("connect", self._on_connect, namespace="*")
        self.sio.on("connect_error", self._on_connect_error, namespace="*")
        self.sio.on("disconnect", self._on_disconnect, namespace="*")
        self.sio.on("*", self._on_event, namespace="*")

    def _queue(self, nsp):
        if nsp not in self.queues:
            self.queues[nsp] = asyncio.Queue()
            self.names[nsp] = []
        return self.queues[nsp]

    def _push(self, nsp, name, args):
        self._queue(nsp).put_nowait((name, list(args)))
        self.names[nsp].append(name)

    def _on_connect(self, nsp):
        emit_line({"peer": self.label, "event": "connect", "nsp": nsp, "sid": self.sio.get_sid(nsp)})
        self._push(nsp, "connect", [])

    def _on_connect_error(self, nsp, data=None):
        emit_line({"peer": self.label, "event": "connect_error", "nsp": nsp, "data": preview(data)})
        self._push(nsp, "connect_error", [data])
        if nsp not in self.expected_errors:
            self.run.fail_now(f"{self.label}: unexpected connect_error on {nsp}: {preview(data)}")

    def _on_disconnect(self, nsp, reason=None):
        emit_line({"peer": self.label, "event": "disconnect", "nsp": nsp, "reason": str(reason)})
        self._push(nsp, "disconnect", [str(reason)])
        if not self.closing:
            self.run.fail_now(f"{self.label}: unexpected disconnect on {nsp} ({reason})")

    def _on_event(self, name, nsp, *args):
        emit_line({"peer": self.label, "event": "recv", "nsp": nsp, "name": name, "args": preview(args)})
        self._push(nsp, name, args)
        if name == "need-ack":
            # The server asks for an ack: answer with what the contract says,
            # and remember it to compare with the server's `ack-result`.
            if list(args) == ["empty-reply"]:
                reply = []
            elif list(args) == ["answer-me"]:
                reply = ["answered"]
            else:
                reply = ["reply", len(args), list(args), b"\xac\x4b"]
            self.acked.setdefault(nsp, []).append(reply)
            return tuple(reply)
        return None

    # --- connecting ---------------------------------------------------------

    async def connect(self, namespaces, auth=None, query="", wait=True):
        await self.run.wait(
            self.sio.connect(
                self.run.url + query,
                auth=auth,
                transports=self.run.transports(),
                namespaces=namespaces,
                wait=wait,
                wait_timeout=self.run.timeout,
            ),
            f"{self.label}: connect to {namespaces}",
        )

    async def welcome(self, nsp, auth, query=None):
        """The "welcome checks" of the contract for namespace `nsp`."""
        run = self.run
        await self.expect(nsp, "connect")
        (welcome,) = await self.expect(nsp, "welcome")
        sid = self.sio.get_sid(nsp)
        run.check(isinstance(welcome, dict), f"{self.label} {nsp}: welcome is an object")
        run.check(isinstance(sid, str) and sid != "", f"{self.label} {nsp}: socket id is a non-empty string")
        run.equal(welcome.get("id"), sid, f"{self.label} {nsp}: welcome.id is the namespace's socket id")
        run.check(sid != self.sio.sid, f"{self.label} {nsp}: socket id differs from the Engine.IO id")
        run.equal(welcome.get("nsp"), nsp, f"{self.label} {nsp}: welcome.nsp")
        run.equal(welcome.get("auth"), auth, f"{self.label} {nsp}: welcome.auth")
        q = welcome.get("query")
        run.check(isinstance(q, dict), f"{self.label} {nsp}: welcome.query is an object")
        run.equal(q.get("EIO"), "4", f"{self.label} {nsp}: welcome.query.EIO")
        run.equal(q.get("transport"), run.first_transport(), f"{self.label} {nsp}: welcome.query.transport")
        for key, value in (query or {}).items():
            run.equal(q.get(key), value, f"{self.label} {nsp}: welcome.query.{key}")
        return sid

    # --- sending --------------------------------------------------------------

    async def emit(self, nsp, event, *args):
        self.sent[nsp] = self.sent.get(nsp, 0) + 1
        await self.sio.emit(event, tuple(args), namespace=nsp)

    async def call(self, nsp, event, *args):
        """Emits with an ack callback and returns the ack's arguments as a list."""
        self.sent[nsp] = self.sent.get(nsp, 0) + 1
        loop = asyncio.get_running_loop()
        reply = loop.create_future()

        def on_ack(*ack_args):
            if not reply.done():
                reply.set_result(list(ack_args))

        await self.sio.emit(event, tuple(args), namespace=nsp, callback=on_ack)
        return await self.run.wait(reply, f"{self.label}: ack of {event} on {nsp}")

    async def library_call(self, nsp, event, data=None):
        """python-socketio's own `call()`: the ack's single argument, a tuple
        for several, None for none."""
        self.sent[nsp] = self.sent.get(nsp, 0) + 1
        return await self.run.wait(
            self.sio.call(event, data, namespace=nsp, timeout=self.run.timeout),
            f"{self.label}: call({event}) on {nsp}",
        )

    # --- receiving ------------------------------------------------------------

    async def next(self, nsp):
        return await self.run.wait(self._queue(nsp).get(), f"{self.label}: next event on {nsp}")

    async def expect(self, nsp, name):
        got, args = await self.next(nsp)
        self.run.check(got == name, f"{self.label} {nsp}: expected {name}, got {got} {preview(args)}")
        return args

    async def count(self, nsp):
        """The server's event count for this socket must equal what was sent."""
        (n,) = await self.call(nsp, "count")
        self.run.equal(n, self.sent[nsp], f"{self.label} {nsp}: server-side event count")

    def still_up(self, namespaces):
        run = self.run
        run.check(self.sio.connected, f"{self.label}: still connected")
        for nsp in namespaces:
            run.check(self.sio.get_sid(nsp) is not None, f"{self.label}: {nsp} still connected")
        run.equal(self.sio.transport(), run.final_transport(), f"{self.label}: transport")

    async def close(self):
        self.closing = True
        if self.sio.connected or self.sio.eio.state == "connected":
            await self.sio.disconnect()


# ---------------------------------------------------------------------------
# Scenarios


@scenario("connect-auth")
async def connect_auth(run):
    a = run.peer("A")
    await a.connect(["/"], auth={"user": "py"}, query="?x=1")
    sid_a = await a.welcome("/", {"user": "py"}, query={"x": "1"})
    run.equal(a.sio.transport(), run.final_transport(), "A: transport right after connect")

    b = run.peer("B")
    await b.connect(["/"])
    sid_b = await b.welcome("/", {})

    c = run.peer("C")
    rich = {"user": "py", "n": 7, "tags": ["a", "ü"], "nested": {"ok": True, "none": None}}
    await c.connect(["/"], auth=rich)
    sid_c = await c.welcome("/", rich)

    run.check(len({sid_a, sid_b, sid_c}) == 3, "three distinct socket ids")
    run.check(len({a.sio.sid, b.sio.sid, c.sio.sid}) == 3, "three distinct Engine.IO ids")
    for p in (a, b, c):
        await p.emit("/", "echo", p.label)
        run.equal(await p.expect("/", "echo"), [p.label], f"{p.label}: echo after connect")
        await p.count("/")
        p.still_up(["/"])
        run.equal(p.names["/"], ["connect", "welcome", "echo"], f"{p.label}: events received")
    run.details = {"sids": [sid_a, sid_b, sid_c]}


@scenario("emit")
async def emit_scenario(run):
    a = run.peer("A")
    await a.connect(["/"])
    await a.welcome("/", {})
    payloads = [
        [],
        ["hello"],
        [
            0,
            -42,
            2**40,
            3.25,
            "héllo wörld ☃ 😀",
            "",
            True,
            False,
            None,
            {"nested": {"list": [1, [2, [3, [4]]], {"deep": None}]}, "ключ": "значение"},
            [[], {}, [None, [True]]],
            {"a": {"b": {"c": {"d": [1, "2", 3.5]}}}},
        ],
        [{"users": [{"name": "ann", "tags": ["x", "y"]}, {"name": "bob", "tags": []}], "total": 2}],
        [[1, "two", [3, {"four": 4}]], {"empty": {}, "list": []}],
        ["x" * 100_000],
    ]
    for args in payloads:
        await a.emit("/", "echo", *args)
    for i, args in enumerate(payloads):
        run.equal(await a.expect("/", "echo"), args, f"echo #{i}")
    await a.emit("/", "error", "oops", {"code": 7})
    run.equal(await a.expect("/", "got-error-event"), ["oops", {"code": 7}], "got-error-event")
    await a.emit("/", "echo", "still-here")
    run.equal(await a.expect("/", "echo"), ["still-here"], "echo after the error event")
    await a.count("/")
    a.still_up(["/"])
    run.equal(
        a.names["/"],
        ["connect", "welcome"] + ["echo"] * len(payloads) + ["got-error-event", "echo"],
        "events received",
    )
    run.details = {"echoes": len(payloads) + 1}


async def server_acks(run, peer, requests):
    """Sends each `request-ack` back to back; the server asks for an ack with
    `need-ack` and reports what it got with `ack-result`. Returns nothing; checks
    both streams in order (they may interleave with each other)."""
    for args in requests:
        await peer.emit("/", "request-ack", *args)
    need, results = [], []
    for _ in range(4 * len(requests)):
        if len(results) == len(requests):
            break
        name, args = await peer.next("/")
        if name == "need-ack":
            need.append(args)
        elif name == "ack-result":
            results.append(args)
        else:
            run.check(False, f"unexpected {name} {preview(args)} while waiting for ack-result")
    run.equal(need, requests, "need-ack arguments, in order")
    acked = peer.acked.get("/", [])
    run.equal(
        results,
        [[{"err": None, "reply": reply}] for reply in acked],
        "ack-result = what the client acked, in order",
    )


@scenario("call")
async def call_scenario(run):
    a = run.peer("A")
    await a.connect(["/"])
    await a.welcome("/", {})
    # python-socketio's call(): one ack argument comes back as itself,
    # several as a tuple, none as None.
    run.equal(await a.library_call("/", "echo", (1, "two")), (1, "two"), "call(echo, 1, 'two')")
    run.equal(await a.library_call("/", "echo"), None, "call(echo) with no arguments")
    run.equal(await a.library_call("/", "echo", {"k": 1}), {"k": 1}, "call(echo, {k: 1})")
    deep = ({"deep": [1, {"x": None, "y": [True, False]}]}, [[], [[]]], "s", -1.5)
    run.equal(await a.library_call("/", "echo", deep), deep, "call(echo) with nested values")
    run.equal(await a.library_call("/", "echo", [1, 2, 3]), [1, 2, 3], "call(echo, [1, 2, 3])")
    # emit() with a callback
    run.equal(await a.call("/", "echo", "cb", 2), ["cb", 2], "emit(echo, callback)")
    run.equal(await a.call("/", "echo"), [], "emit(echo, callback) with no arguments")
    # server -> client acks
    await server_acks(
        run,
        a,
        [[1, "a", {"b": b"\x01\x02\x03"}], [], ["empty-reply"], [{"list": [True, None, "s"]}]],
    )
    await a.count("/")
    a.still_up(["/"])
    run.equal(sorted(set(a.names["/"])), ["ack-result", "connect", "need-ack", "welcome"], "kinds of events received")
    run.details = {"sent": a.sent["/"]}


@scenario("binary")
async def binary_scenario(run):
    a = run.peer("A")
    await a.connect(["/"])
    await a.welcome("/", {})
    every_byte = bytes(range(256))
    big = bytes((i * 7 + 3) % 256 for i in range(64 * 1024))
    payloads = [
        [every_byte],
        [{"a": [b"\x01\x02", {"b": b"\xff\x00\xfe"}]}],
        ["text", b"\x00", {"x": [b"\x01", {"y": b"\x02\x03"}]}, [b"\x04", "s", [b"\x05"]], bytearray(b"\x06\x07")],
        [b""],
        [big],
        [{"empty": b"", "list": [b"", None]}],
    ]
    # One at a time: every attachment is an Engine.IO packet of its own, and
    # python-engineio refuses a polling response of more than 16 packets
    # (engineio.payload.Payload.max_decode_packets), which a burst of these
    # echoes would exceed.
    for i, args in enumerate(payloads):
        await a.emit("/", "echo", *args)
        run.equal(await a.expect("/", "echo"), args, f"binary echo #{i}")
    # binary acknowledgements, both directions
    nested = ({"nested": [b"\x10\x11", {"deeper": b"\x12"}]}, b"\x13\x14\x15")
    run.equal(await a.library_call("/", "echo", nested), nested, "call(echo) with nested binary")
    run.equal(await a.library_call("/", "echo", b"\xde\xad\xbe\xef"), b"\xde\xad\xbe\xef", "call(echo, bytes)")
    run.equal(await a.call("/", "echo", big, "tail"), [big, "tail"], "64 KiB binary ack")
    await server_acks(run, a, [["bin", {"b": b"\x20\x21"}, [b"\x30"]], [b""]])
    await a.count("/")
    a.still_up(["/"])
    run.equal(
        [n for n in a.names["/"] if n not in ("need-ack", "ack-result")],
        ["connect", "welcome"] + ["echo"] * len(payloads),
        "events received",
    )
    run.details = {"echoes": len(payloads)}


@scenario("namespaces")
async def namespaces_scenario(run):
    # A: three namespaces on one connection, one auth for all of them
    a = run.peer("A")
    spaces = ["/", "/custom", "/dyn-7"]
    await a.connect(spaces, auth={"who": "py"})
    sids = [await a.welcome(nsp, {"who": "py"}) for nsp in spaces]
    run.check(len(set(sids)) == 3, "A: three distinct socket ids")
    for nsp in spaces:
        await a.emit(nsp, "echo", f"on {nsp}")
    for nsp in spaces:
        run.equal(await a.expect(nsp, "echo"), [f"on {nsp}"], f"A: echo on {nsp}")

    # B: no auth; /private and two unknown namespaces fail, / stays usable
    b = run.peer("B")
    refused = ["/private", "/nope", "/dyn-x"]
    b.expected_errors.update(refused)
    await b.connect(["/"] + refused, wait=False)
    await b.welcome("/", {})
    (err,) = await b.expect("/private", "connect_error")
    run.equal(err, {"message": "not authorized", "data": {"reason": "bad token"}}, "B: /private connect error")
    for nsp in ("/nope", "/dyn-x"):
        (err,) = await b.expect(nsp, "connect_error")
        run.equal(err, {"message": "Invalid namespace"}, f"B: {nsp} connect error")
    await b.emit("/", "echo", "b-still-works")
    run.equal(await b.expect("/", "echo"), ["b-still-works"], "B: / echoes after the refusals")
    for nsp in refused:
        run.check(b.sio.get_sid(nsp) is None, f"B: {nsp} not connected")
        run.equal(b.names[nsp], ["connect_error"], f"B: events on {nsp}")

    # C: a wrong token, only /private: connect() itself fails
    c = run.peer("C")
    c.expected_errors.add("/private")
    refused_c = None
    try:
        await c.connect(["/private"], auth={"token": "wrong"})
    except socketio.exceptions.ConnectionError as exc:
        refused_c = str(exc)
    run.check(refused_c is not None, "C: connect with a wrong token raises")
    (err,) = await c.expect("/private", "connect_error")
    run.equal(err, {"message": "not authorized", "data": {"reason": "bad token"}}, "C: /private connect error")
    run.equal(c.names["/private"], ["connect_error"], "C: events on /private")

    # D: the right token
    d = run.peer("D")
    await d.connect(["/private", "/"], auth={"token": "secret"})
    await d.welcome("/private", {"token": "secret"})
    await d.welcome("/", {"token": "secret"})
    await d.emit("/private", "echo", {"private": True})
    run.equal(await d.expect("/private", "echo"), [{"private": True}], "D: echo on /private")

    # E: a connection that never joins the main namespace
    e = run.peer("E")
    await e.connect(["/custom"], auth={"only": "custom"})
    await e.welcome("/custom", {"only": "custom"})
    await e.emit("/custom", "echo", "no-main-namespace")
    run.equal(await e.expect("/custom", "echo"), ["no-main-namespace"], "E: echo on /custom")

    # everything still there, nothing leaked across namespaces
    for nsp in spaces:
        await a.emit(nsp, "echo", "again")
        run.equal(await a.expect(nsp, "echo"), ["again"], f"A: second echo on {nsp}")
        await a.count(nsp)
        run.equal(a.names[nsp], ["connect", "welcome", "echo", "echo"], f"A: events on {nsp}")
    a.still_up(spaces)
    b.still_up(["/"])
    d.still_up(["/private", "/"])
    e.still_up(["/custom"])
    run.check(set(e.names) == {"/custom"}, "E: events only on /custom")
    run.equal(d.names["/private"], ["connect", "welcome", "echo"], "D: events on /private")
    run.details = {"sids": dict(zip(spaces, sids)), "wrongToken": refused_c}


# ---------------------------------------------------------------------------
# Main


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--transport", default="websocket", choices=["websocket", "polling", "upgrade"])
    parser.add_argument("--parser", default="json", choices=["json", "msgpack"])
    parser.add_argument("--timeout", type=float, default=30.0, help="watchdog in seconds")
    parser.add_argument("--debug", action="store_true", help="python-socketio and python-engineio logs on stderr")
    args = parser.parse_args()
    if not re.fullmatch(r"http://127\.0\.0\.1:\d{1,5}", args.url):
        parser.error("--url must be http://127.0.0.1:PORT")
    if not 0 < args.timeout <= 600:
        parser.error("--timeout must be in (0, 600] seconds")
    return args


def result_line(run, error):
    record = {
        "scenario": run.name,
        "transport": run.transport,
        "parser": run.parser,
        "ok": error is None,
        "checks": run.checks,
        "details": run.details,
    }
    if error is not None:
        record["error"] = error
        record["passedChecks"] = run.checks
    return "RESULT " + json.dumps(record, ensure_ascii=False, default=str)


async def execute(run):
    run.abort = asyncio.get_running_loop().create_future()
    error = None
    try:
        await asyncio.wait_for(SCENARIOS[run.name](run), run.timeout)
    except asyncio.TimeoutError:
        error = f"watchdog: no progress within {run.timeout} s (waiting for {run.waiting})"
    except ScenarioFailed as exc:
        error = str(exc)
    except Exception as exc:  # a library error is a failure too, with its type
        error = f"{type(exc).__name__}: {exc}"
    # Closing is best effort once the verdict is known, and bounded.
    closing = asyncio.gather(*(peer.close() for peer in run.peers), return_exceptions=True)
    try:
        await asyncio.wait_for(closing, 5)
    except (asyncio.TimeoutError, Exception):
        pass
    return error


def main():
    args = parse_args()
    run = Run(args)
    printed = threading.Event()

    def hard_watchdog():
        # The event loop itself is stuck: report and leave without cleanup.
        if not printed.is_set():
            print(result_line(run, f"hard watchdog: stuck (waiting for {run.waiting})"), flush=True)
        os._exit(1)

    guard = threading.Timer(args.timeout + 10, hard_watchdog)
    guard.daemon = True
    guard.start()
    error = asyncio.run(execute(run))
    line = result_line(run, error)
    printed.set()
    print(line, flush=True)
    if error is not None:
        print(f"FAILED {run.name} ({run.transport}, {run.parser}): {error}", file=sys.stderr, flush=True)
    guard.cancel()
    sys.exit(0 if error is None else 1)


if __name__ == "__main__":
    main()
