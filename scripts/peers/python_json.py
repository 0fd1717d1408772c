#!/usr/bin/env python3
"""Peer: the default trailmerge job as a plain Python json script (json + sorted + gzip)."""
import gzip, json, os, re, sys

FIELDS = ["eventTime", "eventName", "eventSource", "awsRegion", "userIdentity.userName", "sourceIPAddress"]


def text(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def get(o, path):
    for k in path:
        if not isinstance(o, dict) or k not in o:
            return None
        o = o[k]
    return o


def esc(v):
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main(root, out):
    paths = [FIELDS_PATH for FIELDS_PATH in (f.split(".") for f in FIELDS)]
    rows = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = os.path.join(dirpath, name)
            if "CloudTrail-Digest" in p or not re.search(r"\.json(\.gz)?$", p):
                continue
            with open(p, "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            s, i, dec = data.decode("utf-8"), 0, json.JSONDecoder()
            while True:
                while i < len(s) and s[i] in " \t\r\n":
                    i += 1
                if i >= len(s):
                    break
                doc, i = dec.raw_decode(s, i)
                records = doc.get("Records") if isinstance(doc, dict) else None
                for r in records or []:
                    base = [text(get(r, p)) for p in paths]
                    items = get(r, ["requestParameters", "instancesSet", "items"])
                    if isinstance(items, list) and items:
                        for it in items:
                            rows.append(base + [text(it.get("instanceId")) if isinstance(it, dict) else ""])
                    else:
                        rows.append(base + [""])
    rows.sort(key=lambda r: [x.encode() for x in r])
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write("".join("\t".join(esc(x) for x in r) + "\n" for r in rows).encode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
