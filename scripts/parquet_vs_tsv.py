#!/usr/bin/env python3
"""Checks that a Parquet file from `trailmerge process` holds the same rows, in the same order, as
the TSV output of the same run (NULL there is the empty field), reading it with pyarrow and DuckDB.

usage: parquet_vs_tsv.py OUT.parquet OUT.tsv   (exit 0 when equal; prints the counts)
"""
import datetime
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def unescape(field):
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\":
            out.append(ESCAPES[field[i + 1]])
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def millis(text):
    if text == "":
        return None
    text = text.replace("Z", "+00:00")
    moment = datetime.datetime.fromisoformat(text)
    return (moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(milliseconds=1)


def main():
    parquet_path, tsv_path = sys.argv[1], sys.argv[2]
    table = pq.read_table(parquet_path)
    columns = []
    for i in range(table.num_columns):
        column = table.column(i)
        columns.append(column.cast(pa.int64()).to_pylist() if pa.types.is_timestamp(column.type) else column.to_pylist())
    lines = open(tsv_path, encoding="utf-8", newline="\n").read().split("\n")[:-1]
    mismatches = 0
    if len(lines) != table.num_rows:
        mismatches += 1
    for r, line in enumerate(lines[: table.num_rows]):
        fields = line.split("\t")
        for c, field in enumerate(fields):
            value = columns[c][r]
            if isinstance(value, int) or (value is None and c < len(columns) and pa.types.is_timestamp(table.column(c).type)):
                if value != millis(field):
                    mismatches += 1
            elif (value or "") != unescape(field):
                mismatches += 1
    # DuckDB must read exactly the values pyarrow read.
    con = duckdb.connect()
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [parquet_path]).fetchall()
    select = ", ".join(
        ("epoch_ms(" + '"' + name + '"' + ")") if kind.startswith("TIMESTAMP") else '"' + name + '"'
        for name, kind, *_ in described)
    rows = con.execute(f"SELECT {select} FROM read_parquet(?)", [parquet_path]).fetchall()
    duck_same = len(rows) == table.num_rows and all(list(col) == columns[c] for c, col in enumerate(zip(*rows)))
    print(f"parquet rows {table.num_rows}, tsv rows {len(lines)}, mismatched values {mismatches}, "
          f"duckdb rows {len(rows)}, duckdb same values: {duck_same}")
    sys.exit(0 if mismatches == 0 and duck_same and table.num_rows == len(lines) else 1)


if __name__ == "__main__":
    main()
