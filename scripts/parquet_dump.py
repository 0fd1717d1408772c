#!/usr/bin/env python3
"""Reads a Parquet file with pyarrow and DuckDB (readers trailmerge did not write) and prints, as
JSON: the schema, each column chunk's codec, encodings and statistics, every value as pyarrow reads
it (timestamps as epoch milliseconds), and whether DuckDB reads exactly the same values.

usage: parquet_dump.py FILE [--no-values]
Exit status 3 when pyarrow or duckdb is missing (so a caller can tell that apart from a bad file).
"""
import json
import sys

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import duckdb
except ImportError as error:  # a missing reader must never look like a passing check
    print(f"parquet_dump: {error}; run scripts/install-deps.sh", file=sys.stderr)
    sys.exit(3)


def text(raw):
    if raw is None:
        return None
    if isinstance(raw, bytes):
        return raw.decode("utf-8")
    return raw


def main():
    path = sys.argv[1]
    with_values = "--no-values" not in sys.argv
    pf = pq.ParquetFile(path)
    md = pf.metadata
    out = {
        "num_rows": md.num_rows,
        "num_row_groups": md.num_row_groups,
        "created_by": md.created_by,
        "schema": [],
        "row_groups": [],
    }
    arrow_schema = pf.schema_arrow
    for i in range(md.num_columns):
        col = pf.schema.column(i)
        out["schema"].append({
            "name": col.name,
            "physical_type": col.physical_type,
            "logical_type": str(col.logical_type),
            "converted_type": col.converted_type,
            "max_definition_level": col.max_definition_level,
            "arrow_type": str(arrow_schema.field(i).type),
        })
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        cols = []
        for i in range(rg.num_columns):
            c = rg.column(i)
            s = c.statistics
            stats = None
            if s is not None:
                stats = {
                    "has_min_max": s.has_min_max,
                    "null_count": s.null_count if s.has_null_count else None,
                    "min": text(s.min_raw) if s.has_min_max else None,
                    "max": text(s.max_raw) if s.has_min_max else None,
                }
            cols.append({
                "path": c.path_in_schema,
                "compression": c.compression,
                "encodings": sorted(c.encodings),
                "has_dictionary_page": c.has_dictionary_page,
                "num_values": c.num_values,
                "statistics": stats,
            })
        out["row_groups"].append({"num_rows": rg.num_rows, "columns": cols})

    table = pf.read()
    values = {}
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        values[name] = column.to_pylist()

    # DuckDB, on its own parquet reader: timestamps through epoch_ms, everything else as text.
    con = duckdb.connect()
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    select = []
    for name, kind, *_ in described:
        quoted = '"' + name.replace('"', '""') + '"'
        select.append(f"epoch_ms({quoted})" if kind.startswith("TIMESTAMP") else quoted)
    rows = con.execute(f"SELECT {', '.join(select)} FROM read_parquet(?)", [path]).fetchall()
    duck = [list(col) for col in zip(*rows)] if rows else [[] for _ in described]
    out["duckdb"] = {
        "rows": len(rows),
        "types": [kind for _, kind, *_ in described],
        "same_values_as_pyarrow": all(duck[i] == values[name] for i, name in enumerate(table.column_names)),
    }
    if with_values:
        out["values"] = values
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
