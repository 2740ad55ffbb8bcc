#!/usr/bin/env bash
# Issue 9, "every failure reported": a write that fails (/dev/full, a read-only or full
# database) is an error naming what failed, exit 3, and no summary that reads like success.
# And one RIB record of 20,000 bad entries: every problem counted, exactly (the error storage
# was quadratic and lost 2,400 of them at the arena limit).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
MNT=
cleanup() {
	[ -n "$MNT" ] && { mount -o remount,rw "$MNT" 2>/dev/null; umount "$MNT" 2>/dev/null; }
	[ -n "$TMP_TEST" ] || rm -rf "$TMP"
}
trap cleanup EXIT
[ -w /dev/full ] || { skip write_errors "/dev/full absent"; exit 0; }

# --- dump to /dev/full: -m and --json
F=$DATA/mrt/rib.20140523.0600_firstMB.bz2
if [ -f "$F" ]; then
	for mode in m json; do
		"$DARKMAP" dump -${mode/json/-json} "$F" >/dev/full 2>"$TMP/e"; rc=$?
		[ $rc = 3 ] && grep -q "^darkmap dump: writing standard output failed: No space left on device; output incomplete" "$TMP/e" \
			&& ! grep -q "^darkmap dump: 1 file" "$TMP/e" && ok "dump_${mode}_dev_full" \
			|| nok "dump_${mode}_dev_full" "exit $rc: $(tail -3 "$TMP/e")"
	done
	# -q silences data errors, never a failed write
	"$DARKMAP" dump -q "$F" >/dev/full 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "writing standard output failed" "$TMP/e" && ok dump_quiet_dev_full || nok dump_quiet_dev_full "exit $rc: $(cat "$TMP/e")"
else
	skip dump_dev_full "$F absent"
fi
# a small output fails only at the last flush: still exit 3
Q=$DATA/mrt/quagga_bgp
if [ -f "$Q" ]; then
	"$DARKMAP" dump -m "$Q" >/dev/full 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "writing standard output failed" "$TMP/e" && ok dump_small_dev_full || nok dump_small_dev_full "exit $rc: $(cat "$TMP/e")"
	# --- replay --csv to /dev/full
	"$DARKMAP" replay --no-geo --csv "$Q" >/dev/full 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "^darkmap replay: writing the CSV to standard output failed: No space left on device" "$TMP/e" \
		&& grep -q "the CSV on standard output is incomplete" "$TMP/e" && ok replay_csv_dev_full \
		|| nok replay_csv_dev_full "exit $rc: $(cat "$TMP/e")"
	"$DARKMAP" replay --no-geo --changes /dev/full --quality /dev/full "$Q" >/dev/null 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "^darkmap replay: --changes /dev/full: write failed" "$TMP/e" \
		&& grep -q "^darkmap replay: --quality /dev/full: write failed" "$TMP/e" && ok replay_changes_quality_dev_full \
		|| nok replay_changes_quality_dev_full "exit $rc: $(cat "$TMP/e")"
else
	skip replay_csv_dev_full "$Q absent"
fi

# --- what commands print with stdio is checked when stdout is closed (main.c)
"$DARKMAP" --help >/dev/full 2>"$TMP/e"; rc=$?
[ $rc = 3 ] && grep -qx "darkmap --help: writing standard output failed: No space left on device" "$TMP/e" \
	&& ok help_dev_full || nok help_dev_full "exit $rc: $(cat "$TMP/e")"
"$DARKMAP" geo AS131279 >/dev/full 2>"$TMP/e"; rc=$?
[ $rc = 3 ] && grep -q "^darkmap geo: writing standard output failed" "$TMP/e" && ok geo_dev_full || nok geo_dev_full "exit $rc: $(cat "$TMP/e")"

# --- detect: alerts and JSON to /dev/full (a KP outage made with python from the documented schema)
if command -v python3 >/dev/null; then
	DB=$TMP/kp.sqlite
	python3 - "$DB" docs/plot.md <<'EOF'
import sys
sys.path.insert(0, "tests")
from docdb import new_db
con = new_db(*sys.argv[1:3])
con.execute("INSERT INTO entities (id, kind, afi, cc, asn, name) VALUES (1, 1, 1, 'KP', 0, 'North Korea')")
T0, BIN, DOWN, END = 1418515200, 300, 1419210000, 1419228000
for t in range(T0, END, BIN):
    s24, seeing = (4, 40) if t < DOWN else (0, 0)
    con.execute("INSERT INTO bins (entity, t, visible_prefixes, slash24, baseline_slash24, peers_seeing, full_feed_peers,"
                " peers_up, peer_frac, announcements, withdrawals, interruptions, more_specifics, quality)"
                " VALUES (1, ?, ?, ?, 4, ?, 40, 40, ?, 0, 0, 0, 0, 0)", (t, s24, s24, seeing, s24 / 4.0))
con.commit()
EOF
	"$DARKMAP" detect --db "$DB" --no-store >"$TMP/ok.out" 2>&1; rc0=$?
	"$DARKMAP" detect --db "$DB" --no-store >/dev/full 2>"$TMP/e"; rc=$?
	[ $rc0 = 0 ] && [ $rc = 3 ] && grep -q "^darkmap detect: writing the alerts to standard output failed: No space left on device" "$TMP/e" \
		&& ok detect_alerts_dev_full || nok detect_alerts_dev_full "exit $rc0/$rc: $(cat "$TMP/ok.out" "$TMP/e")"
	"$DARKMAP" detect --db "$DB" --no-store --quiet --json /dev/full >/dev/null 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "^darkmap detect: writing the JSON to /dev/full failed: No space left on device" "$TMP/e" \
		&& ok detect_json_dev_full || nok detect_json_dev_full "exit $rc: $(cat "$TMP/e")"
	"$DARKMAP" detect --db "$DB" --no-store --quiet --json - >/dev/full 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "failed: No space left on device" "$TMP/e" && ok detect_json_stdout_dev_full \
		|| nok detect_json_stdout_dev_full "exit $rc: $(cat "$TMP/e")"
	# detect stores its events, then eval's table and JSON to /dev/full
	"$DARKMAP" detect --db "$DB" --quiet 2>/dev/null
	H=$(printf 'kind\tstart\tend\tstart_utc\tend_utc\tentity\tfraction\ttolerance\tcollector\tpeer\tnote')
	printf '%s\nscenario\t1418515200\t1419228000\t-\t-\tall\t-\t0\tall\tall\tspan\noutage\t1419210000\t1419228000\t-\t-\tKP\t1.0000\t0\tall\tall\tdown\n' "$H" >"$TMP/truth.tsv"
	"$DARKMAP" eval --truth "$TMP/truth.tsv" --db "$DB" >"$TMP/ok.out" 2>&1; rc0=$?
	"$DARKMAP" eval --truth "$TMP/truth.tsv" --db "$DB" >/dev/full 2>"$TMP/e"; rc=$?
	[ $rc0 != 3 ] && [ $rc = 3 ] && grep -q "^darkmap eval: writing the table to standard output failed: No space left on device" "$TMP/e" \
		&& ok eval_table_dev_full || nok eval_table_dev_full "exit $rc0/$rc: $(cat "$TMP/ok.out" "$TMP/e")"
	"$DARKMAP" eval --truth "$TMP/truth.tsv" --db "$DB" --json /dev/full >/dev/null 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "^darkmap eval: /dev/full: No space left on device" "$TMP/e" \
		&& ok eval_json_dev_full || nok eval_json_dev_full "exit $rc: $(cat "$TMP/e")"
	"$DARKMAP" plot --db "$DB" --country KP --out "$TMP/kp.png" --csv - >/dev/full 2>"$TMP/e"; rc=$?
	[ $rc = 3 ] && grep -q "^darkmap plot: -: write failed" "$TMP/e" && ok plot_csv_dev_full || nok plot_csv_dev_full "exit $rc: $(cat "$TMP/e")"
else
	skip detect_dev_full "python3 absent"
fi

# --- replay --db: a read-only database, a full file system. As root, a 512 KiB tmpfs (read-only
# by remount; full by a filler file); otherwise a write-protected file, and no full-disk check.
F=$DATA/mrt/rib.20080501.0644_firstMB.bz2
if [ -f "$Q" ] && [ -f "$F" ]; then
	if [ "$(id -u)" = 0 ] && mkdir -p "$TMP/mnt" && mount -t tmpfs -o size=512k tmpfs "$TMP/mnt" 2>/dev/null; then
		MNT=$TMP/mnt
		"$DARKMAP" replay --no-geo --db "$MNT/ro.sqlite" "$Q" >/dev/null 2>&1
		mount -o remount,ro "$MNT"
		"$DARKMAP" replay --no-geo --db "$MNT/ro.sqlite" "$Q" >/dev/null 2>"$TMP/e"; rc=$?
		"$DARKMAP" detect --db "$MNT/ro.sqlite" >/dev/null 2>"$TMP/de"; drc=$?
		mount -o remount,rw "$MNT"
		rm -f "$MNT"/ro.sqlite*
		ro_how="read-only file system"
	else
		cp /dev/null "$TMP/ro.sqlite"
		"$DARKMAP" replay --no-geo --db "$TMP/ro.sqlite" "$Q" >/dev/null 2>&1
		chmod 444 "$TMP/ro.sqlite"
		"$DARKMAP" replay --no-geo --db "$TMP/ro.sqlite" "$Q" >/dev/null 2>"$TMP/e"; rc=$?
		"$DARKMAP" detect --db "$TMP/ro.sqlite" >/dev/null 2>"$TMP/de"; drc=$?
		ro_how="write-protected file"
	fi
	# detect stores its events: refused the same way (--no-store would open it read-only)
	[ $drc = 3 ] && grep -q "cannot write: the file or its file system is read-only" "$TMP/de" \
		&& ok "detect_db_read_only ($ro_how)" || nok detect_db_read_only "$ro_how: exit $drc: $(cat "$TMP/de")"
	[ $rc = 3 ] && grep -q "cannot write: the file or its file system is read-only" "$TMP/e" \
		&& ! grep -q "rows (.* stored)" "$TMP/e" && ok "replay_db_read_only ($ro_how)" \
		|| nok replay_db_read_only "$ro_how: exit $rc: $(cat "$TMP/e")"
	if [ -n "$MNT" ]; then
		# 384 KiB of 512 taken: the schema fits, the first commit of rows does not
		head -c $((384 * 1024)) /dev/zero >"$MNT/filler"
		"$DARKMAP" replay --no-geo --db "$MNT/full.sqlite" "$F" >/dev/null 2>"$TMP/e"; rc=$?
		[ $rc = 3 ] && grep -q "^darkmap replay: database commit failed: $MNT/full.sqlite: commit: database or disk is full; [0-9]* rows" "$TMP/e" \
			&& grep -q "^darkmap replay: $MNT/full.sqlite is incomplete: 0 of [0-9]* rows" "$TMP/e" && grep -q "rows (0 stored)" "$TMP/e" \
			&& ok replay_db_full_disk || nok replay_db_full_disk "exit $rc: $(cat "$TMP/e")"
		# scenario's MRT files and truth.tsv on the same full file system
		rm -f "$MNT"/full.sqlite*
		"$DARKMAP" scenario nk-2014 --out "$MNT/scen" --world 50 --rir tests/golden/scenario/lang.rir >/dev/null 2>"$TMP/e"; rc=$?
		[ $rc = 3 ] && grep -q "^darkmap scenario: $MNT/scen/truth.tsv: write failed: No space left on device" "$TMP/e" \
			&& grep -q "^darkmap scenario: $MNT/scen/.*\.\(gz\|bz2\): write failed" "$TMP/e" \
			&& grep -q "^darkmap scenario: [0-9]* more files could not be written ([0-9]* in all)$" "$TMP/e" \
			&& [ "$(wc -l <"$TMP/e")" -lt 20 ] \
			&& ok scenario_full_disk || nok scenario_full_disk "exit $rc: $(tail -3 "$TMP/e")"
	else
		skip replay_db_full_disk "not root or no tmpfs: no small file system to fill"
	fi
else
	skip replay_db_read_only "$Q or $F absent"
fi

# --- one RIB record of 20,000 bad entries: every problem counted (10,000 bad peer indexes,
# 10,000 ORIGIN values 7), 20 messages of each kind printed, the rest counted as suppressed.
if command -v python3 >/dev/null; then
	python3 - "$TMP/bad20k.mrt" <<'EOF'
import struct, sys
n, ts = 20000, 1418428800
pi = struct.pack(">IHH", 0x0a000001, 0, 1) + struct.pack(">BIIH", 0, 0x0a000002, 0xc0000201, 64512)
ents = b"".join(struct.pack(">HIH", 5, ts, 0) if i % 2 == 0 else struct.pack(">HIH", 0, ts, 4) + bytes([0x40, 1, 1, 7])
                for i in range(n))
rib = struct.pack(">I", 0) + bytes([24, 198, 51, 100]) + struct.pack(">H", n) + ents
out = struct.pack(">IHHI", ts, 13, 1, len(pi)) + pi + struct.pack(">IHHI", ts, 13, 2, len(rib)) + rib
open(sys.argv[1], "wb").write(out)
EOF
	"$DARKMAP" dump -m "$TMP/bad20k.mrt" >/dev/null 2>"$TMP/e"; rc=$?
	# the ORIGIN 7 entries are no routes (RFC 7606 treat-as-withdraw, docs/dump.md): no line
	[ $rc = 1 ] && grep -q "^darkmap dump: 1 file, 2 records, 0 lines, 20000 errors" "$TMP/e" \
		&& grep -qx "darkmap dump: errors by kind: bad-value 10000, bad-attribute 10000" "$TMP/e" \
		&& [ "$(grep -c "offset .*: RIB entry .* peer index 5 not in PEER_INDEX_TABLE" "$TMP/e")" = 20 ] \
		&& grep -qx "darkmap: 9980 more messages of this kind (4) suppressed" "$TMP/e" \
		&& grep -qx "darkmap: 9980 more messages of this kind (6) suppressed" "$TMP/e" \
		&& ok dump_20000_bad_entries_counted || nok dump_20000_bad_entries_counted "exit $rc: $(tail -5 "$TMP/e")"
	"$DARKMAP" replay --no-geo -q "$TMP/bad20k.mrt" >/dev/null 2>"$TMP/e"; rc=$?
	grep -q "^replay: input problems (skipped, counted): bad-value(entry) 10000 bad-attribute(entry) 10000$" "$TMP/e" \
		&& ok replay_20000_bad_entries_counted || nok replay_20000_bad_entries_counted "exit $rc: $(tail -5 "$TMP/e")"
else
	skip bad_entries_counted "python3 absent"
fi
