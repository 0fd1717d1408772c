#!/usr/bin/env python3
"""Peer: the default trailmerge job in ClickHouse embedded (chdb), max_threads=2."""
import sys
import chdb

root, out, threads = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "2"
items = "JSONExtractArrayRaw(r, 'requestParameters', 'instancesSet', 'items')"
query = f"""
SELECT JSONExtractString(r, 'eventTime') AS a, JSONExtractString(r, 'eventName') AS b,
       JSONExtractString(r, 'eventSource') AS c, JSONExtractString(r, 'awsRegion') AS d,
       JSONExtractString(r, 'userIdentity', 'userName') AS e, JSONExtractString(r, 'sourceIPAddress') AS f,
       JSONExtractString(item, 'instanceId') AS g
FROM (SELECT arrayJoin(JSONExtractArrayRaw(json, 'Records')) AS r
      FROM file('{root}/**/*.json.gz', 'JSONAsString'))
ARRAY JOIN if(empty({items}), [''], {items}) AS item
ORDER BY a, b, c, d, e, f, g
INTO OUTFILE '{out}' COMPRESSION 'gzip' FORMAT TSV
SETTINGS max_threads = {threads}
"""
chdb.query(query, "TSV")
