#!/usr/bin/env python3
"""A seeded fault-injecting HTTP proxy on 127.0.0.1, for trailmerge's S3 retry tests.

Usage: fault-proxy.py UPSTREAM_PORT [--seed N] [--slowdown P] [--reset P] [--truncate P]
                      [--delay P:SECONDS] [--always-503 SUBSTRING]

Forwards every request to 127.0.0.1:UPSTREAM_PORT (a moto server) and, drawing from one seeded
random stream, answers instead with 503 SlowDown (probability P, before forwarding), resets the
connection without answering (before forwarding, so no request is applied twice), truncates a
response body (GET answers with a body: headers announce the full length, half is sent, the
connection is closed), or delays the answer. --always-503 answers 503 SlowDown to every request
whose path contains SUBSTRING (a permanent fault). --bucket-region REGION answers 400
AuthorizationHeaderMalformed with x-amz-bucket-region: REGION to requests not signed for REGION. GET /__stats answers JSON counts:
requests, in_flight, max_in_flight and each fault. Prints {"port": N} and serves until stdin closes.
"""
import http.client
import json
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
upstream = int(args[0])
options = {"bucket-region": None, "seed": "1", "slowdown": "0", "reset": "0", "truncate": "0", "delay": "0:0", "always-503": None}
i = 1
while i < len(args):
    options[args[i].lstrip("-")] = args[i + 1]
    i += 2
rng = random.Random(int(options["seed"]))
delay_p, delay_s = (float(x) for x in options["delay"].split(":"))
lock = threading.Lock()
stats = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "slowdown": 0, "reset": 0, "truncate": 0, "delay": 0,
         "always_503": 0}

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b'<Message>Please reduce your request rate.</Message></Error>')


def draw():
    with lock:
        return rng.random(), rng.random(), rng.random(), rng.random()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle(self):
        try:
            super().handle()
        except (ValueError, OSError):
            pass  # a connection this proxy reset on purpose

    def reset(self):
        # SO_LINGER 0 makes close() send RST; the file objects hold references to the socket, so
        # they are closed first or close() would be deferred (and the client would wait).
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()
        self.wfile.close()
        self.connection.close()

    def send_slowdown(self):
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(SLOWDOWN)))
        self.end_headers()
        self.wfile.write(SLOWDOWN)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__stats":
            data = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        with lock:
            stats["requests"] += 1
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        try:
            self.forward(body)
        finally:
            with lock:
                stats["in_flight"] -= 1

    def forward(self, body):
        r_slow, r_reset, r_trunc, r_delay = draw()
        region = options["bucket-region"]
        if region and "/" + region + "/s3/aws4_request" not in (self.headers.get("Authorization") or ""):
            # Like S3 for a request signed for the wrong region: 400 with the bucket's region.
            with lock:
                stats["wrong_region"] = stats.get("wrong_region", 0) + 1
            body = (b"<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region is wrong; expecting '"
                    + region.encode() + b"'</Message><Region>" + region.encode() + b"</Region></Error>")
            self.send_response(400)
            self.send_header("x-amz-bucket-region", region)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if options["always-503"] and options["always-503"] in self.path:
            with lock:
                stats["always_503"] += 1
            self.send_slowdown()
            return
        if r_slow < float(options["slowdown"]):
            with lock:
                stats["slowdown"] += 1
            self.send_slowdown()
            return
        if r_reset < float(options["reset"]):
            with lock:
                stats["reset"] += 1
            self.reset()
            return
        if r_delay < delay_p:
            with lock:
                stats["delay"] += 1
            time.sleep(delay_s)
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
        conn.request(self.command, self.path, body=body if body else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        if self.command == "GET" and len(data) > 1 and r_trunc < float(options["truncate"]):
            with lock:
                stats["truncate"] += 1
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.reset()
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps({"port": server.server_address[1]}), flush=True)
sys.stdin.read()
server.shutdown()
