#!/usr/bin/env bash
# The scenario language, checked with an independent decoder (Debian's bgpdump -m) and an
# independent recomputation (python below, from the RIB dump, the update files and the
# hand-written mapping tests/golden/scenario/lang.rir) on tests/golden/scenario/lang.tsv:
#  - outage fraction=0.5: every peer withdraws the same half of AS8452's /24s at the row's
#    second (a /22 together with the /24s inside it), and truth's fraction for AS8452 and EG is what those withdrawals take away;
#  - a staged outage (EG except=AS36992 joins at 04:00): truth has one row per step, the
#    fractions recomputed after the second step's withdrawals; AS36992 is never withdrawn;
#  - spread=600 restore_spread=300: LY's withdrawals fall in [start, start+600) over several
#    seconds, its re-announcements in [end, end+300); truth's tolerance is 600;
#  - reorigin to=AS5438: the last AS of the path changes, nothing before it; back at the end;
#  - upstream via=AS6762: the hop before the origin changes, the origin does not; back at the end;
#  - a flap of a prefix split between TN and DZ: truth's fractions match the split of lang.rir;
#  - the same seed gives the same bytes; --rib reads the table back from the RIB dump.
source "$(dirname "$0")/../lib.sh"
command -v bgpdump >/dev/null || { skip scenario_lang "bgpdump not installed"; exit 0; }
command -v python3 >/dev/null || { skip scenario_lang "python3 not installed"; exit 0; }
S=$ROOT/tests/golden/scenario
out=$TMP/sc_lang
rm -rf "$out" "$out.2" "$out.rib"
if ! "$DARKMAP" scenario "$S/lang.tsv" --out "$out" --world 300 --rir "$S/lang.rir" >"$TMP/lang.log" 2>"$TMP/lang.err"; then
	nok scenario_lang_run "$(tail -3 "$TMP/lang.err")"
	exit 0
fi
ok scenario_lang_run
bgpdump -m "$out/route-views.sim/bgpdata/2011.01/RIBS/rib.20110127.0000.bz2" >"$TMP/lang.rib" 2>/dev/null
bgpdump -m "$out/rrc.sim/2011.01/bview.20110127.0000.gz" >>"$TMP/lang.rib" 2>/dev/null
for f in $(find "$out" -name 'updates.*' | sort); do bgpdump -m "$f" 2>/dev/null; done >"$TMP/lang.upd"

python3 - "$TMP/lang.rib" "$TMP/lang.upd" "$out/truth.tsv" "$S/lang.rir" <<'PY'
import sys, ipaddress, calendar, time
ribf, updf, truthf, rirf = sys.argv[1:]
def ok(name, cond, why=''):
    print(('ok ' if cond else 'not ok ') + name + ('' if cond else ': ' + str(why)))
def ts(s):
    return calendar.timegm(time.strptime(s, '%Y-%m-%dT%H:%MZ'))
# the table and every peer's path, from the RIB dumps
table, ribpath, peers = {}, {}, set()
for l in open(ribf):
    f = l.rstrip('\n').split('|')
    path = f[6].split()
    table[f[5]] = int(path[-1]); ribpath[(f[3], f[5])] = path; peers.add(f[3])
upd = [l.rstrip('\n').split('|') for l in open(updf)]
W = [(float(f[1]), f[3], f[5]) for f in upd if f[2] == 'W']
A = [(float(f[1]), f[3], f[5], f[6].split()) for f in upd if f[2] == 'A']
# the mapping: address ranges -> country
ranges = []
for l in open(rirf):
    f = l.strip().split('|')
    if len(f) >= 7 and f[2] == 'ipv4' and f[1] != '*':
        a = int(ipaddress.IPv4Address(f[3])); ranges.append((a, a + int(f[4]) - 1, f[1]))
def shares(p):
    n = ipaddress.IPv4Network(p); a, b = int(n.network_address), int(n.broadcast_address)
    out, cov = {}, 0
    for lo, hi, cc in ranges:
        x, y = max(a, lo), min(b, hi)
        if x <= y:
            out[cc] = out.get(cc, 0) + y - x + 1; cov += y - x + 1
    if cov < b - a + 1:
        out['ZZ'] = out.get('ZZ', 0) + b - a + 1 - cov
    return out
# /24s of an entity with the prefixes in `down` invisible: distinct space under visible
# prefixes /8../24 (a prefix under a visible one does not count again), rounded to /24s
def s24(entity, down=()):
    nets = sorted((ipaddress.IPv4Network(p) for p in table if p not in down and 8 <= ipaddress.IPv4Network(p).prefixlen <= 24),
                  key=lambda n: (int(n.network_address), n.prefixlen))
    tot, end, ends = 0, -1, {}
    for n in nets:
        a, b, p = int(n.network_address), int(n.broadcast_address), str(n)
        if entity.startswith('AS'):
            if table[p] == int(entity[2:]) and a > ends.get(entity, -1):
                tot += b - a + 1; ends[entity] = b
        elif a > end:
            tot += shares(p).get(entity, 0); end = b
    return (tot + 128) // 256
def frac(entity, down):
    base = s24(entity)
    return '%.4f' % round((base - s24(entity, down)) / base, 4)
T = [dict(zip(['kind', 'start', 'end', 's', 'e', 'entity', 'fraction', 'tolerance', 'collector', 'peer', 'note'], l.rstrip('\n').split('\t')))
     for l in open(truthf) if not l.startswith('#') and not l.startswith('kind\t')]
def truth(kind, entity, start):
    r = [t for t in T if t['kind'] == kind and t['entity'] == entity and int(t['start']) == ts(start)]
    return r[0] if len(r) == 1 else None
byas = lambda asn: {p for p in table if table[p] == asn}

# 1. fraction=0.5 at 02:00: the same half of AS8452 at every peer
t1 = ts('2011-01-27T02:00Z')
w1 = {}
for t, peer, p in W:
    if int(t) == t1:
        w1.setdefault(peer, set()).add(p)
sets = set(frozenset(s) for s in w1.values())
half = set(next(iter(sets))) if len(sets) == 1 else set()
ok('scenario_lang_partial_same_at_every_peer', len(w1) == len(peers) == 4 and len(sets) == 1, w1)
ok('scenario_lang_partial_is_subset', half and half < byas(8452), half)
for ent in ('AS8452', 'EG'):
    r = truth('outage', ent, '2011-01-27T02:00Z')
    ok('scenario_lang_partial_truth_' + ent, r and r['fraction'] == frac(ent, half) and r['end'] == str(ts('2011-01-27T04:00Z')),
       '%s vs recomputed %s' % (r, frac(ent, half)))
r = truth('outage', 'AS8452', '2011-01-27T02:00Z')
ok('scenario_lang_partial_prefix_count', r and ('%d of %d prefixes, 4 of 4 peers' % (len(half), len(byas(8452)))) in r['note'], (len(half), r))
# a network goes as a whole: 41.32.16.0/22 with the four /24s inside it (seed 1 takes it)
ok('scenario_lang_partial_takes_networks', {'41.32.16.0/22', '41.32.16.0/24', '41.32.17.0/24', '41.32.18.0/24', '41.32.19.0/24'} <= half, sorted(half))
ok('scenario_lang_partial_is_half', frac('AS8452', half) == '0.5000', frac('AS8452', half))
# 2. the staged step at 04:00 (EG except AS36992) and the exception
t2 = ts('2011-01-27T04:00Z')
w2 = {p for t, peer, p in W if int(t) == t2}
eg = {p for p in table if shares(p).get('EG', 0) * 2 > 2 ** (32 - int(p.split('/')[1]))}
ok('scenario_lang_staged_withdraws_rest', w2 == eg - byas(36992) - half, sorted(w2 ^ (eg - byas(36992) - half)))
ok('scenario_lang_except_stays_up', not [x for x in W if x[2] in byas(36992)], [x for x in W if x[2] in byas(36992)][:3])
down2 = half | w2
for ent in ('EG', 'AS8452', 'AS24863'):
    r = truth('outage', ent, '2011-01-27T04:00Z')
    ok('scenario_lang_staged_truth_' + ent, r and r['fraction'] == frac(ent, down2) and r['end'] == str(ts('2011-01-27T06:00Z')),
       '%s vs recomputed %s' % (r, frac(ent, down2)))
ok('scenario_lang_staged_two_steps', len([t for t in T if t['kind'] == 'outage' and t['entity'] == 'EG']) == 2, [t for t in T if t['entity'] == 'EG'])
# 3. spread: LY withdrawn in [03:00, 03:10), back in [05:00, 05:05)
t3, t4 = ts('2011-01-27T03:00Z'), ts('2011-01-27T05:00Z')
ly = byas(21003)
wl = [t for t, peer, p in W if p in ly]
al = [t for t, peer, p, path in A if p in ly and t4 <= t < t4 + 3600]
ok('scenario_lang_spread_withdrawals', len(wl) == 4 * len(ly) and all(t3 <= t < t3 + 600 for t in wl) and len({int(t) for t in wl}) > 1,
   sorted(wl))
ok('scenario_lang_restore_spread', len(al) == 4 * len(ly) and all(t4 <= t < t4 + 300 for t in al) and len({int(t) for t in al}) > 1, sorted(al))
r = truth('outage', 'LY', '2011-01-27T03:00Z')
ok('scenario_lang_spread_tolerance', r and r['tolerance'] == '600' and r['fraction'] == frac('LY', ly), r)
# 4. reorigin: last AS 2609 -> 5438 at 07:00, back at 08:00, the rest of the path unchanged
t5, t6 = ts('2011-01-27T07:00Z'), ts('2011-01-27T08:00Z')
p = '41.224.0.0/20'
ra = [(peer, path) for t, peer, q, path in A if q == p and int(t) == t5]
rb = [(peer, path) for t, peer, q, path in A if q == p and int(t) == t6]
ok('scenario_lang_reorigin', len(ra) == 4 and all(path[-1] == '5438' and path[:-1] == ribpath[(peer, p)][:-1] for peer, path in ra), ra)
ok('scenario_lang_reorigin_back', len(rb) == 4 and all(path == ribpath[(peer, p)] for peer, path in rb), rb)
r = truth('reorigin', 'AS2609', '2011-01-27T07:00Z')
ok('scenario_lang_reorigin_truth', r and r['fraction'] == '1.0000' and r['end'] == str(t6), r)
# 5. upstream: the hop before AS21003 becomes AS6762 at 07:00, back at 09:00
t7 = ts('2011-01-27T09:00Z')
ua = [(peer, q, path) for t, peer, q, path in A if q in ly and int(t) == t5]
ub = [(peer, q, path) for t, peer, q, path in A if q in ly and int(t) == t7]
ok('scenario_lang_upstream', len(ua) == 4 * len(ly) and all(path[-1] == '21003' and path[-2] == '6762' and ribpath[(peer, q)][-2] != '6762' and path[0] == ribpath[(peer, q)][0] for peer, q, path in ua), ua[:3])
ok('scenario_lang_upstream_back', len(ub) == 4 * len(ly) and all(path == ribpath[(peer, q)] for peer, q, path in ub), ub[:3])
r = truth('upstream', 'AS21003', '2011-01-27T07:00Z')
ok('scenario_lang_upstream_truth', r and r['fraction'] == '0.0000' and r['end'] == str(t7), r)
# 6. the flap of a prefix split between TN and DZ
for ent in ('TN', 'DZ', 'AS37705'):
    r = truth('flap', ent, '2011-01-27T09:00Z')
    ok('scenario_lang_flap_truth_' + ent, r and r['fraction'] == frac(ent, {'41.230.0.0/16'}), '%s vs %s' % (r, frac(ent, {'41.230.0.0/16'})))
# nothing else lost: every outage/flap/reorigin row of truth was checked above
ok('scenario_lang_truth_rows', len([t for t in T if t['kind'] != 'scenario']) == 12, len(T))
PY

# Same seed, same bytes.
"$DARKMAP" scenario "$S/lang.tsv" --out "$out.2" --world 300 --rir "$S/lang.rir" >/dev/null 2>&1
a=$(cd "$out" && find . -type f | sort | xargs md5sum | md5sum)
b=$(cd "$out.2" && find . -type f | sort | xargs md5sum | md5sum)
[ "$a" = "$b" ] && ok scenario_lang_deterministic || nok scenario_lang_deterministic "two runs with the same seed differ"
# --rib: the table read back from the RIB dump with darkmap's MRT reader gives the same truth.
if "$DARKMAP" scenario "$S/lang.tsv" --out "$out.rib" --rib "$out/route-views.sim/bgpdata/2011.01/RIBS/rib.20110127.0000.bz2" \
	--sample 0 --rir "$S/lang.rir" >"$TMP/lang.rib.log" 2>&1; then
	a=$(grep -v '^#' "$out/truth.tsv" | grep -v '^scenario' | cut -f1-10)
	b=$(grep -v '^#' "$out.rib/truth.tsv" | grep -v '^scenario' | cut -f1-10)
	n=$(sed -n 's/^table\t.*\tprefixes=\([0-9]*\)\t.*/\1/p' "$TMP/lang.rib.log")
	[ "$a" = "$b" ] && [ "$n" = 22 ] && ok scenario_lang_rib_table || nok scenario_lang_rib_table "prefixes $n (want 22), truth differs: $(diff <(echo "$a") <(echo "$b") | head -5)"
else
	nok scenario_lang_rib_table "$(tail -2 "$TMP/lang.rib.log")"
fi
exit 0
