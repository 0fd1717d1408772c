#!/usr/bin/env python3
"""A moto S3 server on 127.0.0.1 for trailmerge's tests.

Usage: moto-server.py [--auth] [--seed BUCKET:PREFIX:COUNT]...

Starts moto's ThreadedMotoServer on a free loopback port, prints one JSON line
{"port": N, "access_key": ..., "secret_key": ...} and serves until its stdin is closed, so the
server goes away with the test process that started it (no leftover process, even on a crash).

With --auth, moto checks SigV4 signatures on every request (INITIAL_NO_AUTH_ACTION_COUNT=0) and
an IAM user allowed s3:* is created directly in moto's backend; its keys are printed. Without it,
moto accepts any credentials and the printed keys are placeholders.

--seed creates BUCKET and COUNT objects directly in moto's backend (fast, no HTTP): key
PREFIX + str(i) + "/file.json.gz" with a body of i % 7 bytes "A", for i in 0..<COUNT.
--seed-dir BUCKET:PREFIX:DIR creates BUCKET and puts every file under DIR at PREFIX + its path
relative to DIR, also directly in the backend (a generated tree of thousands of files in a second).
"""
import json
import os
import sys

auth = "--auth" in sys.argv[1:]
if auth:
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
else:
    os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)

from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
port = server._server.server_port

access_key, secret_key = "AKIDTRAILMERGETEST00", "trailmerge-test-secret-not-used"
if auth:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    iam.create_user("us-east-1", "trailmerge-test")
    key = iam.create_access_key("trailmerge-test")
    policy = iam.create_policy(
        description="",
        path="/",
        policy_document=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
        policy_name="trailmerge-s3",
        tags=[],
    )
    iam.attach_user_policy(policy.arn, "trailmerge-test")
    access_key, secret_key = key.access_key_id, key.secret_access_key

args = sys.argv[1:]
for i, arg in enumerate(args):
    if arg == "--seed":
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        bucket, prefix, count = args[i + 1].split(":")
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        if bucket not in backend.buckets:
            backend.create_bucket(bucket, "us-east-1")
        for n in range(int(count)):
            backend.put_object(bucket, f"{prefix}{n}/file.json.gz", b"A" * (n % 7))

for i, arg in enumerate(args):
    if arg == "--seed-dir":
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        bucket, prefix, folder = args[i + 1].split(":", 2)
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        if bucket not in backend.buckets:
            backend.create_bucket(bucket, "us-east-1")
        for root, _, names in sorted(os.walk(folder)):
            for name in sorted(names):
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    backend.put_object(bucket, prefix + os.path.relpath(path, folder), f.read())

print(json.dumps({"port": port, "access_key": access_key, "secret_key": secret_key}), flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
