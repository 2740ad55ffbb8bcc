#!/usr/bin/env bash
# Damaged copies of the real archives (tests/damage/damage.py: seeded; zero runs, bit flips in
# lengths, types and timestamps, cut and spliced files, uncompressed so the damage hits MRT
# framing): lines each copy loses beyond the records overlapping the damage, darkmap dump -m
# against bgpdump -m on the same copies. DAMAGE_COPIES (default 1200), DAMAGE_SEED (default 9),
# DAMAGE_JOBS (default 2). About 6 minutes on the shared 2-core machine.
set -u
cd "$(dirname "$0")/.."
DATA=${DARKMAP_DATA:-$PWD/../shared/data}
echo "== damaged copies: lines lost beyond the damaged records, darkmap vs bgpdump"
if [ ! -d "$DATA/mrt" ]; then echo "bench damage: $DATA/mrt absent (skip)"; exit 0; fi
command -v bgpdump >/dev/null || { echo "bench damage: bgpdump not installed (skip)"; exit 0; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 tests/damage/damage.py measure --data "$DATA" --copies "${DAMAGE_COPIES:-1200}" \
	--seed "${DAMAGE_SEED:-9}" --jobs "${DAMAGE_JOBS:-2}" --darkmap build/rel/darkmap --tmp "$TMP" \
	--tsv "$TMP/copies.tsv"
