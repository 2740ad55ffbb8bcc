#!/usr/bin/env bash
# darkmap dump --json: every line is a JSON object (python3 json), one element per bgpdump -m
# line (same count and same A/W/STATE/B kinds as the bgpdump 1.6.2 reference), and chosen
# elements have exact field values taken from the reference lines:
#  - updates.et-header.2015.gz: the four North Korea /24s, announced by 206.220.231.55 AS3856
#    at 1445565708.372152 with AS path 2914 1239 4837 131279, next hop 129.250.10.57, MED 0,
#    LOCAL_PREF 100, community 3856:50800, ORIGIN INCOMPLETE (reference lines 464795-464798;
#    `bgpdump FILE` shows the MED attribute present with value 0);
#  - updates.20070211.0141.gz: an aggregator and an AS_SET origin;
#  - bview.ipv4_unicast_add_path.gz: RIB elements with path ids and the collector BGP id.
. "$(dirname "$0")/../lib.sh"
if ! have_data mrt; then
	skip dump_json "../shared/data/mrt absent"
	exit 0
fi
command -v python3 >/dev/null || { skip dump_json "python3 absent"; exit 0; }
M=$DATA/mrt
for f in updates.et-header.2015.gz updates.20070211.0141.gz bview.ipv4_unicast_add_path.gz quagga_bgp; do
	(cd "$M" && "$DARKMAP" dump --json "$f") >"$TMP/$f.json" 2>"$TMP/$f.err"
	xzcat "$M/$f.bgpdump-m.xz" >"$TMP/$f.ref"
done
python3 - "$TMP" <<'PY'
import json, sys, collections
tmp = sys.argv[1]
def load(f):
    out = []
    with open(f"{tmp}/{f}.json") as fh:
        for i, line in enumerate(fh, 1):
            try:
                out.append(json.loads(line))
            except ValueError as e:
                print(f"not ok dump_json:{f}:valid: line {i}: {e}")
                return None
    print(f"ok dump_json:{f}:valid")
    return out

def kinds_ref(f):
    c = collections.Counter()
    for line in open(f"{tmp}/{f}.ref", errors="replace"):
        k = line.split("|")[2]
        c[{"B": "R", "STATE": "S"}.get(k, k)] += 1
    return c

def check(name, cond, why):
    print(f"ok dump_json:{name}" if cond else f"not ok dump_json:{name}: {why}")

els = {}
for f in ["updates.et-header.2015.gz", "updates.20070211.0141.gz", "bview.ipv4_unicast_add_path.gz", "quagga_bgp"]:
    e = load(f)
    if e is None:
        continue
    els[f] = e
    got = collections.Counter(x["type"] for x in e)
    want = kinds_ref(f)
    check(f"{f}:counts", got == want, f"elements {dict(got)} vs bgpdump lines {dict(want)}")

e = els.get("updates.et-header.2015.gz", [])
kp = [x for x in e if x.get("prefix", "").startswith("175.45.17")]
check("kp:four", sorted(x["prefix"] for x in kp) == ["175.45.176.0/24", "175.45.177.0/24", "175.45.178.0/24", "175.45.179.0/24"],
      f"KP elements: {[x.get('prefix') for x in kp]}")
want = {"type": "A", "timestamp": 1445565708.372152, "collector": "updates.et-header.2015.gz",
        "peer_address": "206.220.231.55", "peer_asn": 3856, "next_hop": "129.250.10.57",
        "as_path": "2914 1239 4837 131279", "origin_asns": [131279], "origin": "INCOMPLETE",
        "med": 0, "local_pref": 100, "communities": ["3856:50800"], "extended_communities": [],
        "large_communities": [], "aggregator": None, "atomic_aggregate": False}
for x in kp:
    bad = {k: (x.get(k), v) for k, v in want.items() if x.get(k) != v}
    check(f"kp:{x['prefix']}", not bad, f"field (got, want): {bad}")
st = [x for x in e if x["type"] == "S"]
check("state:first", st and st[0] == {"type": "S", "timestamp": 1445565678.509481, "collector": "updates.et-header.2015.gz",
                                      "peer_address": "206.220.231.55", "peer_asn": 3856, "old_state": 1, "new_state": 2},
      f"got {st[:1]}")

# updates.20070211.0141.gz reference: "BGP4MP|1171158307|A|2001:7f8:4::d1c:1|3356|2001:410::/32|3356 6175 6830 6830
# 6830 6939 6939 278 18592 6509 {271,2884,7860,8111,15296,26677}|IGP|2001:7f8:4::d1c:1|0|0||NAG|6509 205.189.32.44|"
e = els.get("updates.20070211.0141.gz", [])
m = [x for x in e if x.get("prefix") == "2001:410::/32" and x.get("peer_address") == "2001:7f8:4::d1c:1" and x["timestamp"] == 1171158307.0]
ok_ = bool(m) and m[0]["as_path"] == "3356 6175 6830 6830 6830 6939 6939 278 18592 6509 {271,2884,7860,8111,15296,26677}" \
    and m[0]["origin_asns"] == [271, 2884, 7860, 8111, 15296, 26677] and m[0]["aggregator"] == "6509 205.189.32.44" \
    and m[0]["next_hop"] == "2001:7f8:4::d1c:1" and m[0]["origin"] == "IGP"
check("as-set-aggregator", ok_, f"got {m[:1]}")

# bview.ipv4_unicast_add_path.gz reference: "TABLE_DUMP2_AP|1452168107|B|10.0.15.1|65015|10.0.10.0/24|36|65015 65014
# 65013 65012 65011|IGP|10.0.15.1|100|0||NAG||"
e = els.get("bview.ipv4_unicast_add_path.gz", [])
m = [x for x in e if x.get("prefix") == "10.0.10.0/24" and x.get("path_id") == 36]
ok_ = bool(m) and m[0]["type"] == "R" and m[0]["peer_address"] == "10.0.15.1" and m[0]["peer_asn"] == 65015 \
    and m[0]["as_path"] == "65015 65014 65013 65012 65011" and m[0]["local_pref"] == 100 and "collector_bgp_id" in m[0]
check("rib-addpath", ok_, f"got {m[:1]}")
PY
