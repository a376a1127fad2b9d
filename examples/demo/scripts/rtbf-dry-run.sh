#!/bin/sh
# Stands in for a right-to-be-forgotten job: it "erases" the records of the
# deletion requests due and prints a JSON summary on stdout, which the
# command gate judges (erased >= 10M, nothing remaining, within 2h).
# RTBF_DELAY makes it slow, to show a job killed at its deadline.
set -eu
if [ -n "${RTBF_DELAY:-}" ]; then
  echo "rtbf: erasing, this will take ${RTBF_DELAY}s" >&2
  sleep "$RTBF_DELAY"
fi
echo "rtbf: erased 10000000 records in 3 tables" >&2
printf '{"erased": %d, "remaining": %d, "tables": ["users", "events", "audit_pii"]}\n' 10000000 0
