#!/usr/bin/env python3
"""Prints how botocore signs S3 requests, for trailmerge's SigV4 tests.

Reads a JSON list of cases on stdin; each is {"op": botocore S3 operation name (snake_case),
"params": {...}, "region": "...", "addressing": "virtual"|"path", "endpoint": null or URL,
"token": null or session token}. Every case is serialised and signed by a real botocore S3 client
(S3SigV4Auth) with access key AKIAIOSFODNN7EXAMPLE, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,
at 2013-05-24T00:00:00Z, and stopped before it is sent (no network). Writes a JSON list:
{"method", "url", "headers": [[name, value]...] as signed, "canonical_request", "authorization",
"body_b64"}.
"""
import base64
import datetime
import json
import logging
import sys
from unittest import mock

import botocore.auth
import botocore.session
from botocore.config import Config


class Captured(Exception):
    pass


class CanonicalRequestLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.last = None

    def emit(self, record):
        if record.msg.startswith("CanonicalRequest:"):
            self.last = record.args[0] if isinstance(record.args, tuple) else record.args


log = CanonicalRequestLog()
auth_logger = logging.getLogger("botocore.auth")
auth_logger.setLevel(logging.DEBUG)
auth_logger.addHandler(log)
auth_logger.propagate = False

fixed = datetime.datetime(2013, 5, 24, 0, 0, 0)
session = botocore.session.get_session()
results = []
with mock.patch.object(botocore.auth, "get_current_datetime", return_value=fixed):
    for case in json.load(sys.stdin):
        config = Config(
            region_name=case["region"],
            s3={"addressing_style": case.get("addressing", "virtual")},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 1},
        )
        client = session.create_client(
            "s3",
            endpoint_url=case.get("endpoint"),
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            aws_session_token=case.get("token"),
            config=config,
        )
        captured = {}

        def before_send(request, **kwargs):
            captured["method"] = request.method
            captured["url"] = request.url
            captured["headers"] = [[k, v.decode() if isinstance(v, bytes) else v] for k, v in request.headers.items()]
            body = request.body or b""
            if hasattr(body, "read"):
                body = body.read()
            if isinstance(body, str):
                body = body.encode()
            captured["body_b64"] = base64.b64encode(body).decode()
            raise Captured()

        client.meta.events.register("before-send.s3", before_send)
        params = dict(case["params"])
        if "Body" in params:
            params["Body"] = params["Body"].encode()
        try:
            getattr(client, case["op"])(**params)
        except Captured:
            pass
        authorization = dict((k.lower(), v) for k, v in captured["headers"])["authorization"]
        signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
        captured["headers"] = [[k, v] for k, v in captured["headers"] if k.lower() in signed]
        captured["canonical_request"] = log.last
        captured["authorization"] = authorization
        results.append(captured)
json.dump(results, sys.stdout)
