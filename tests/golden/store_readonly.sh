#!/usr/bin/env bash
# plot, detect --no-store and eval read a WAL database on a read-only file system or directory
# (issue 9: SQLite could not create the -shm file beside it and they failed with "unable to open
# database file"). A database in WAL mode built with python3's sqlite3 from docs/plot.md's
# schema; its folder made read-only by a read-only bind mount in a private mount namespace
# (root; chmod does not stop root) or by chmod 0555 (other users). The read-only runs must print
# exactly what the same commands print on the writable original. A -wal file still holding
# transactions cannot be read without the -shm: a clear error, not stale data.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v python3 >/dev/null || { skip store_readonly "python3 absent"; exit 0; }
D=$TMP/db
mkdir -p "$D"
python3 - "$D/d.sqlite" docs/plot.md <<'PY' || { nok store_readonly "generator failed"; exit 0; }
import sys
sys.path.insert(0, "tests")
from docdb import new_db
con = new_db(sys.argv[1], sys.argv[2])
con.execute("PRAGMA journal_mode = WAL")
con.execute("INSERT INTO entities (id, kind, afi, cc, asn, name) VALUES (1, 1, 1, 'KP', 0, 'North Korea')")
T0, BIN = 1419120000, 300
for i in range(48):
    t = T0 + i * BIN
    s24 = 0 if 20 <= i < 30 else 4
    con.execute("INSERT INTO bins (entity, t, visible_prefixes, slash24, baseline_slash24, peers_seeing, "
                "full_feed_peers, peers_up, peer_frac, announcements, withdrawals, interruptions, "
                "more_specifics, quality) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (1, t, s24, s24, 4, 40 if s24 else 0, 40, 40, 1.0 if s24 else 0.0, 0, 0, 0, 0, 0))
con.commit()
con.close()
PY
run_all() {  # dir tag: plot CSV, detect --no-store alerts
	"$DARKMAP" plot --db "$1/d.sqlite" --country KP --out "$TMP/$2.png" --csv "$TMP/$2.csv" >"$TMP/$2.plot.out" 2>&1
	echo "plot $?" >"$TMP/$2.rc"
	"$DARKMAP" detect --no-store --db "$1/d.sqlite" >"$TMP/$2.detect" 2>&1
	echo "detect $?" >>"$TMP/$2.rc"
}
run_all "$D" rw
[ -e "$D/d.sqlite-wal" ] && [ -s "$D/d.sqlite-wal" ] && { nok store_readonly "the writable run left a -wal with content"; exit 0; }
rm -f "$D/d.sqlite-shm" "$D/d.sqlite-wal"
export -f run_all
export DARKMAP TMP
if [ "$(id -u)" = 0 ]; then
	if ! unshare -m true 2>/dev/null; then
		skip store_readonly "root without unshare -m (no private mount namespace): chmod cannot make a folder read-only for root"
		exit 0
	fi
	how="read-only bind mount"
	unshare -m bash -c 'mount --bind -o ro "$1" "$1" && run_all "$1" ro && { touch "$1/x" 2>/dev/null && echo writable >"$TMP/ro.rc"; true; }' _ "$D"
else
	how="chmod 0555"
	chmod 0555 "$D"
	run_all "$D" ro
	chmod 0755 "$D"
fi
if [ ! -e "$D/d.sqlite-shm" ] && cmp -s "$TMP/rw.rc" "$TMP/ro.rc" && cmp -s "$TMP/rw.csv" "$TMP/ro.csv" &&
	cmp -s "$TMP/rw.detect" "$TMP/ro.detect" && cmp -s "$TMP/rw.png" "$TMP/ro.png" && [ "$(head -c 4 "$TMP/ro.rc")" = plot ]; then
	ok "store_readonly:read ($how)"
else
	nok "store_readonly:read ($how)" "$(tr '\n' ' ' <"$TMP/ro.rc") vs $(tr '\n' ' ' <"$TMP/rw.rc"); $(head -c 300 "$TMP/ro.plot.out")"
fi
# A -wal holding a transaction beside the database on the read-only folder
python3 - "$D/d.sqlite" <<'PY'
import shutil, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA wal_autocheckpoint = 0")
con.execute("INSERT INTO meta (key, value) VALUES ('pending', 'x')")
con.commit()
shutil.copy(sys.argv[1] + "-wal", sys.argv[1] + "-wal.keep")
con.close()
shutil.move(sys.argv[1] + "-wal.keep", sys.argv[1] + "-wal")
PY
rm -f "$D/d.sqlite-shm"
want="darkmap detect: $D/d.sqlite: cannot read in a read-only folder: its -wal file holds transactions not yet in the database (open it once where it can be written)"
if [ "$(id -u)" = 0 ]; then
	unshare -m bash -c 'mount --bind -o ro "$1" "$1" && "$DARKMAP" detect --no-store --db "$1/d.sqlite"' _ "$D" >"$TMP/w.out" 2>&1; rc=$?
else
	chmod 0555 "$D"; "$DARKMAP" detect --no-store --db "$D/d.sqlite" >"$TMP/w.out" 2>&1; rc=$?; chmod 0755 "$D"
fi
if [ $rc = 3 ] && [ "$(cat "$TMP/w.out")" = "$want" ]; then
	ok store_readonly:pending-wal
else
	nok store_readonly:pending-wal "exit $rc: $(cat "$TMP/w.out")"
fi
