#!/bin/sh
# Stands in for a rollback dry-run: it plans the rollback to the previous
# release without applying it and reports the plan.
set -eu
echo "rollback: target ${PREVIOUS_VERSION:-v1.3.9}"
echo "rollback: 2 migrations to revert, both reversible"
echo "rollback plan: ok"
