#!/usr/bin/env bash
# Peer: the default trailmerge job as zcat | jq @tsv | LC_ALL=C sort --parallel=2 | gzip -1.
set -euo pipefail
root=$1 out=$2
find "$root" -name '*.json.gz' -not -path '*/CloudTrail-Digest/*' -print0 | xargs -0 zcat | jq -r '
  .Records[]? |
  [.eventTime, .eventName, .eventSource, .awsRegion, (try .userIdentity.userName catch null), .sourceIPAddress] as $base |
  ((try .requestParameters.instancesSet.items catch null) as $items |
    if ($items | type) == "array" and ($items | length) > 0
    then $items[] | (if type == "object" then .instanceId else null end)
    else null end) as $id |
  ($base + [$id]) | map(if . == null then "" elif type == "string" then . else tojson end) | @tsv' |
  LC_ALL=C sort --parallel=2 -S 1G | gzip -1 > "$out"
