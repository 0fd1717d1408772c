#!/usr/bin/env python3
"""Fake AWS credential endpoints on 127.0.0.1 for trailmerge's tests: an ECS container endpoint
(GET /ecs, requires Authorization: test-auth-token) and EC2 instance metadata IMDSv2
(PUT /latest/api/token, then GET /latest/meta-data/iam/security-credentials/[role] with the token).
Prints {"port": N} and serves until stdin closes.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "imds-session-token"


def creds(prefix):
    return json.dumps({"AccessKeyId": prefix + "AKID", "SecretAccessKey": prefix + "-secret", "Token": prefix + "-token",
                       "Expiration": "2099-01-01T00:00:00Z"}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.answer(200, TOKEN.encode())
        self.answer(400)

    def do_GET(self):
        if self.path == "/ecs":
            if self.headers.get("Authorization") != "test-auth-token":
                return self.answer(401)
            return self.answer(200, creds("ECS"))
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self.answer(401)
            role = self.path.rsplit("/", 1)[1]
            if role == "":
                return self.answer(200, b"test-role")
            if role == "test-role":
                return self.answer(200, creds("IMDS"))
        self.answer(404)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps({"port": server.server_address[1]}), flush=True)
sys.stdin.read()
server.shutdown()
