#!/usr/bin/env python3
"""Prints the row count and sha256 of a peer's gzip TSV output after undoing its escaping, so outputs
that escape differently can be compared: pg (trailmerge, jq @tsv: \\ \\t \\n \\r), ch (ClickHouse TSV),
raw (no escaping)."""
import gzip, hashlib, sys

CH = {"b": "\b", "f": "\f", "r": "\r", "n": "\n", "t": "\t", "0": "\0", "'": "'", "\\": "\\", "a": "\a", "v": "\v"}
PG = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def unescape(value, table):
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in table:
            out.append(table[value[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def main(kind, path):
    table = {"pg": PG, "ch": CH, "raw": {}}[kind]
    digest, rows = hashlib.sha256(), 0
    with gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        for line in f:
            values = [unescape(v, table) for v in line.rstrip("\n").split("\t")]
            digest.update(("\x1f".join(values) + "\x1e").encode("utf-8", "surrogateescape"))
            rows += 1
    print(rows, digest.hexdigest())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
