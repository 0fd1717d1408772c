#!/usr/bin/env python3
"""Reads Parquet files with Spark (PySpark, local mode) and checks that Spark sees exactly the
values pyarrow sees (timestamps as epoch milliseconds). Prints one JSON object keyed by file.

usage: parquet_spark_check.py FILE...
Exit status 3 when pyspark or pyarrow is missing; 0 when every file matched, 1 otherwise.
"""
import json
import sys

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
except ImportError as error:
    print(f"parquet_spark_check: {error}", file=sys.stderr)
    sys.exit(3)


def main():
    spark = (SparkSession.builder.master("local[1]").appName("trailmerge-parquet-check")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    report, ok = {}, True
    for path in sys.argv[1:]:
        table = pq.read_table(path)
        expected = []
        for i in range(table.num_columns):
            column = table.column(i)
            expected.append(column.cast(pa.int64()).to_pylist() if pa.types.is_timestamp(column.type) else column.to_pylist())
        frame = spark.read.parquet(path)
        select = []
        for field in frame.schema.fields:
            column = F.col("`" + field.name.replace("`", "``") + "`")
            select.append(F.unix_millis(column) if field.dataType.typeName() == "timestamp" else column)
        rows = frame.select(*select).collect()
        got = [list(column) for column in zip(*rows)] if rows else [[] for _ in frame.schema.fields]
        same = len(rows) == table.num_rows and got == expected
        ok = ok and same
        report[path] = {
            "rows": len(rows),
            "schema": frame.schema.simpleString(),
            "same_values_as_pyarrow": same,
        }
    spark.stop()
    json.dump(report, sys.stdout)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
