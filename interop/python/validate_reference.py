"""Runs every scenario of client.py over every transport and parser against the
Node reference server (interop/socketio/reference-server.mjs), to check the
scenarios themselves before they judge the Rust server.

Usage (from the repository root, after `npm ci --prefix interop` and the
virtualenv of interop/python/README.md):
    interop/python/.venv/bin/python interop/python/validate_reference.py [--rounds N]

Prints one line per run and a closing `N passed, N failed`; exit code 0 only
if every run passed.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "socketio", "reference-server.mjs")
CLIENT = os.path.join(HERE, "client.py")
SCENARIOS = ["connect-auth", "emit", "call", "binary", "namespaces"]
TRANSPORTS = ["websocket", "polling", "upgrade"]
PARSERS = ["json", "msgpack"]


def start_reference(parser):
    proc = subprocess.Popen(
        ["node", REFERENCE, "--port", "0", "--parser", parser],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    first = proc.stdout.readline().split()
    if len(first) != 2 or first[0] != "LISTENING":
        proc.kill()
        raise SystemExit(f"reference server did not start: {first}")
    # The server logs a line per event; drain them so it never blocks.
    subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
    return proc, int(first[1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    passed = failed = 0
    for wire in PARSERS:
        server, port = start_reference(wire)
        try:
            for round_no in range(1, max(1, args.rounds) + 1):
                for name in SCENARIOS:
                    for transport in TRANSPORTS:
                        cmd = [sys.executable, CLIENT, "--url", f"http://127.0.0.1:{port}",
                               "--scenario", name, "--transport", transport, "--parser", wire]
                        try:
                            out = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
                            ok = out.returncode == 0
                            tail = out.stdout.strip().splitlines()[-1:] or [out.stderr.strip()]
                        except subprocess.TimeoutExpired:
                            ok, tail = False, ["hung past 90 s"]
                        passed += ok
                        failed += not ok
                        verdict = "ok  " if ok else "FAIL"
                        print(f"{verdict} round {round_no} {wire:7} {transport:9} {name}", flush=True)
                        if not ok:
                            print(f"     {tail[0][:2000]}", flush=True)
        finally:
            server.kill()
            server.wait(timeout=10)
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
