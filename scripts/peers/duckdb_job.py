#!/usr/bin/env python3
"""Peer: the default trailmerge job in DuckDB, 2 threads."""
import sys
import duckdb

root, out, threads = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "2"
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute(f"""
COPY (
  WITH docs AS (SELECT json AS doc FROM read_json_objects('{root}/**/*.json.gz', format = 'auto')),
  recs AS (SELECT unnest(json_extract(doc, '$.Records[*]')) AS r FROM docs),
  flat AS (
    SELECT coalesce(json_extract_string(r, '$.eventTime'), '') AS a,
           coalesce(json_extract_string(r, '$.eventName'), '') AS b,
           coalesce(json_extract_string(r, '$.eventSource'), '') AS c,
           coalesce(json_extract_string(r, '$.awsRegion'), '') AS d,
           coalesce(json_extract_string(r, '$.userIdentity.userName'), '') AS e,
           coalesce(json_extract_string(r, '$.sourceIPAddress'), '') AS f,
           json_extract(r, '$.requestParameters.instancesSet.items') AS items
    FROM recs)
  SELECT a, b, c, d, e, f, coalesce(json_extract_string(item, '$.instanceId'), '') AS g
  FROM flat, LATERAL (SELECT unnest(CASE WHEN json_type(items) = 'ARRAY' AND json_array_length(items) > 0
                                         THEN json_extract(items, '$[*]') ELSE [NULL::JSON] END) AS item)
  ORDER BY a, b, c, d, e, f, g
) TO '{out}' (FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', ESCAPE '', COMPRESSION gzip)
""")
