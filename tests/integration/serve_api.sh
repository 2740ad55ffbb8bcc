# darkmap serve's API over the NK-2014 demo database, every answer checked against the database
# read independently (python's sqlite3 module, the SQL written here from docs/plot.md's schema);
# bad parameters (400 naming the parameter), static-file traversal (encoded and doubled dots),
# request limits, slow clients, the connection limit, the bearer token, read-only opening.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/serve_lib.sh"
if [ ! -x "$REL_DARKMAP" ]; then skip serve_api "build/rel/darkmap not built"; exit 0; fi
if ! db=$(serve_demo_db); then nok serve_api_demo_db "darkmap demo failed: $(tail -3 "$ROOT/build/test-cache/serve-demo/demo.log")"; exit 0; fi
cp "$db" "$TMP/db.sqlite"
sum_before=$(sha256sum <"$TMP/db.sqlite")
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$TMP/token"
trap 'serve_stop; rm -rf "$TMP"' EXIT
if ! serve_start "$TMP/db.sqlite" --token-file "$TMP/token" --timeout 2 --max-conns 6; then
	nok serve_api_starts "$(cat "$TMP/serve.err")"; exit 0
fi
ok serve_api_starts
python3 - "$SERVE_URL" "$TMP/db.sqlite" "$(cat "$TMP/token")" "$ROOT" <<'PY'
import json, socket, sqlite3, sys, time, urllib.request, urllib.error
url, dbp, token, root = sys.argv[1:5]
host, port = url.split('//')[1].strip('/').split(':'); port = int(port)
db = sqlite3.connect('file:' + dbp + '?mode=ro', uri=True)
def check(name, cond, why=''):
    print(('ok ' if cond else 'not ok ') + name + ('' if cond else ': ' + str(why)[:300]))
def get(path, method='GET', headers=None):
    req = urllib.request.Request(url + path.lstrip('/'), method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
def getj(path, **kw):
    s, b, h = get(path, **kw)
    return s, json.loads(b)
def read_all(s):
    out = b''
    try:
        while True:
            c = s.recv(65536)
            if not c: break
            out += c
    except socket.timeout:
        pass
    return out
def raw(data, wait=3.0):
    s = socket.create_connection((host, port), timeout=wait)
    s.sendall(data)
    out = read_all(s)
    s.close()
    return out
def status_of(resp):
    try: return int(resp.split(b' ')[1])
    except Exception: return None

T20, T03 = 1419278400, 1419303600   # 2014-12-22 20:00, 2014-12-23 03:00 UTC
kp = db.execute("SELECT id FROM entities WHERE kind = 1 AND afi = 1 AND cc = 'KP'").fetchone()[0]
def row_at(eid, t):
    return db.execute("SELECT slash24, baseline_slash24, peers_seeing, full_feed_peers, quality FROM bins "
                      "WHERE entity = ? AND t = (SELECT max(t) FROM bins WHERE entity = ? AND t <= ?)", (eid, eid, t)).fetchone()
def open_ev(eid, t, typ):
    return [r[0] for r in db.execute("SELECT id FROM events WHERE entity = ? AND type = ? AND start_t <= ? AND (end_t > ? OR end_t = 0)",
                                     (eid, typ, t, t))]

# /api/entities: KP at 20:00 (outage) and 03:00 (routes back; detect's instability still open)
for name, t, want in (('2014-12-22T20:00', T20, 'outage'), ('2014-12-23T03:00', T03, 'normal')):
    s, j = getj('/api/entities?type=country&at=' + name)
    e = [x for x in j['entities'] if x['entity'] == 'KP']
    r = row_at(kp, t)
    oe = open_ev(kp, t, 1)
    check('api_entities_kp_%s_state' % name, s == 200 and e and e[0]['state'] == want, (s, e))
    check('api_entities_kp_%s_values' % name, e and (e[0]['slash24'], e[0]['baseline_slash24'], e[0]['peers_seeing'],
          e[0]['full_feed_peers'], e[0]['quality']) == r, (e and e[0], r))
    check('api_entities_kp_%s_event' % name, e and (e[0].get('event', {}).get('id') if oe else e[0].get('event')) == (oe[0] if oe else None),
          (e and e[0].get('event'), oe))
    check('api_entities_kp_%s_unstable' % name, e and e[0]['unstable'] == bool(open_ev(kp, t, 4)), e and e[0]['unstable'])
    n = db.execute("SELECT count(*) FROM entities WHERE kind = 1 AND afi = 1").fetchone()[0]
    check('api_entities_count_%s' % name, j['count'] == n and len(j['entities']) == n, (j['count'], n))
# every country's state at 20:00 against the events table: outage only for KP
s, j = getj('/api/entities?at=1419278400')
outs = sorted(x['entity'] for x in j['entities'] if x['state'] == 'outage')
want = sorted(r[0] for r in db.execute("SELECT DISTINCT e.cc FROM events v JOIN entities e ON e.id = v.entity WHERE e.kind = 1 AND e.afi = 1 "
                                       "AND v.type = 1 AND v.start_t <= ?1 AND (v.end_t > ?1 OR v.end_t = 0)", (T20,)))
check('api_entities_outages_at_20:00', outs == want == ['KP'], (outs, want))
# ASes of KP ranked by loss
s, j = getj('/api/entities?type=asn&cc=KP&at=1419278400')
check('api_entities_asn_in_kp', s == 200 and [x['entity'] for x in j['entities']] == ['AS131279'] and j['entities'][0]['loss_slash24'] == 4, j)

# /api/series: dense series against the run-length rows expanded here
f, t = 1419264000 - 3600, 1419300000
s, j = getj('/api/series?entity=KP&from=%d&to=%d&signals=slash24,peers_seeing,full_feed_peers,seeing_frac,interruptions' % (f, t))
rows = db.execute("SELECT t, slash24, peers_seeing, full_feed_peers, interruptions FROM bins WHERE entity = ? AND t < ? ORDER BY t", (kp, t)).fetchall()
dense, cur, i = [], None, 0
for bt in range(f, t, 300):
    while i < len(rows) and rows[i][0] <= bt:
        cur = rows[i]; i += 1
    dense.append(cur)
check('api_series_times', s == 200 and j['t'] == list(range(f, t, 300)), (s, j.get('n')))
check('api_series_slash24', j.get('slash24') == [r[1] for r in dense], 'differs')
check('api_series_peers', j.get('peers_seeing') == [r[2] for r in dense] and j.get('full_feed_peers') == [r[3] for r in dense], 'differs')
check('api_series_seeing_frac', j.get('seeing_frac') == [r[2] / r[3] if r[3] else None for r in dense], 'differs')
check('api_series_interruptions', j.get('interruptions') == [r[4] for r in dense], 'differs')
check('api_series_no_extra_signal', 'quality' not in j and 'peer_frac' not in j, list(j))

# /api/events
s, j = getj('/api/events?entity=KP&kind=outage')
ids = [r[0] for r in db.execute("SELECT id FROM events WHERE entity = ? AND type = 1 ORDER BY start_t, type, id", (kp,))]
check('api_events_kp_outages', s == 200 and [e['id'] for e in j['events']] == ids and j['count'] == len(ids), ([e['id'] for e in j['events']], ids))
ev = [e for e in j['events'] if e['start'] == 1419264900]
dbev = db.execute("SELECT end_t, reason, evidence FROM events WHERE entity = ? AND type = 1 AND start_t = 1419264900", (kp,)).fetchone()
check('api_events_fields', ev and (ev[0]['end'], ev[0]['reason'], ev[0]['evidence']) == dbev, (ev and ev[0], dbev))
check('api_events_alert_text', ev and ev[0]['text'].startswith('KP (North Korea): 4 of 4 /24s unreachable'), ev and ev[0]['text'])
s, j = getj('/api/events?from=2014-12-22T16:00&to=2014-12-22T17:00')
want = [r[0] for r in db.execute("SELECT id FROM events WHERE start_t < ?2 AND (end_t > ?1 OR end_t = 0 OR start_t >= ?1) ORDER BY start_t, type, id",
                                 (1419264000, 1419267600))]
check('api_events_range', [e['id'] for e in j['events']] == want, ([e['id'] for e in j['events']], want))

# /api/peers, /api/collectors, /metrics
s, j = getj('/api/peers')
peers = db.execute("SELECT collector, peer, peer_asn, count(*) FROM vis_changes GROUP BY 1, 2, 3 ORDER BY 1, 3, 2").fetchall()
check('api_peers', s == 200 and [(p['collector'], p['peer'], p['peer_asn'], p['visibility_changes']) for p in j['peers']] == peers, j.get('peers'))
g = db.execute("SELECT b.full_feed_peers FROM bins b JOIN entities e ON e.id = b.entity WHERE e.kind = 3 AND e.afi = 1 ORDER BY b.t DESC LIMIT 1").fetchone()[0]
check('api_peers_full_feed', j['full_feed'][0]['full_feed_peers'] == g, (j['full_feed'], g))
s, j = getj('/api/collectors')
# flagged stretches of the global IPv4 series, merged here from the rows
end = db.execute("SELECT value FROM meta WHERE key = 'series_end'").fetchone()[0]
rows = db.execute("SELECT b.t, b.quality FROM bins b JOIN entities e ON e.id = b.entity WHERE e.kind = 3 AND e.afi = 1 ORDER BY b.t").fetchall()
periods = []
for k, (t, qf) in enumerate(rows):
    nxt = rows[k + 1][0] if k + 1 < len(rows) else int(end)
    if qf and periods and periods[-1][2] == qf and periods[-1][1] == t:
        periods[-1][1] = nxt
    elif qf:
        periods.append([t, nxt, qf])
got = [[p['start'], p['end'], p['quality']] for p in j.get('quality_periods', [])]
check('api_collectors_quality_periods', s == 200 and got == periods and len(periods) > 0, (got[:4], periods[:4]))
s, b, h = get('/metrics')
m = dict(l.rsplit(' ', 1) for l in b.decode().splitlines() if l and not l.startswith('#'))
no = db.execute("SELECT count(*) FROM events WHERE type = 1").fetchone()[0]
nc = db.execute("SELECT count(*) FROM entities WHERE kind = 1 AND afi = 1").fetchone()[0]
check('metrics_events', m.get('darkmap_events_stored{kind="outage"}') == str(no), (m.get('darkmap_events_stored{kind="outage"}'), no))
check('metrics_entities', m.get('darkmap_entities{kind="country",afi="4"}') == str(nc), nc)
check('metrics_content_type', h.get('Content-Type', '').startswith('text/plain; version=0.0.4'), h.get('Content-Type'))
# the whole exposition through Prometheus' own parser (Debian's python3-prometheus-client, for
# /usr/bin/python3): every family once, each sample after its family's TYPE
import subprocess
pp = subprocess.run(['/usr/bin/python3', '-c', '''
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = [f.name for f in text_string_to_metric_families(sys.stdin.read())]
print(len(fams), len(set(fams)))
'''], input=b, capture_output=True)
if pp.returncode and b'No module named' in pp.stderr:
    print('skip metrics_prometheus_parser: python3-prometheus-client not installed (scripts/bootstrap installs it)')
else:
    nf = pp.stdout.split()
    check('metrics_prometheus_parser', pp.returncode == 0 and len(nf) == 2 and nf[0] == nf[1] and int(nf[0]) >= 18,
          (pp.returncode, pp.stdout, pp.stderr[-300:]))

# 400 with a JSON error naming the parameter
for path, param, code in (('/api/entities?at=2014-02-30', 'at', 400), ('/api/entities?type=city', 'type', 400),
                          ('/api/entities?colour=red', 'colour', 400), ('/api/series?entity=K%25P', 'entity', 400),
                          ('/api/series', 'entity', 400), ('/api/series?entity=KP&signals=slash24,bogus', 'signals', 400),
                          ('/api/series?entity=AS4200000000', 'entity', 404), ('/api/events?kind=storm', 'kind', 400),
                          ('/api/events?limit=-1', 'limit', 400), ('/api/entities?at=1&at=2', 'at', 400),
                          ('/api/stream?since=x', 'since', 400)):
    s, b, h = get(path)
    try: j = json.loads(b)
    except Exception: j = {}
    check('api_error_%s' % path.split('/')[-1].replace('?', '_'), s == code and j.get('param') == param and j.get('error'), (s, b[:200]))

# static files only from web/: encoded, doubled and mixed dots, backslashes, the npm list only
mk = open(root + '/Makefile', 'rb').read(60)
for i, p in enumerate(('/../Makefile', '/%2e%2e/Makefile', '/%2E%2E/Makefile', '/..%2fMakefile', '/%2e%2e%2fMakefile',
                       '/.%2e/Makefile', '/%252e%252e/Makefile', '/....//Makefile', '/lib/../../Makefile', '/web/../../Makefile',
                       '//etc/passwd', '/%2f%2fetc/passwd', '/..%5cMakefile', '/.%00./Makefile', '/lib/..%2f..%2fpackage.json',
                       '/.git/config', '/%2e/index.html')):
    r = raw(('GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' % p).encode())
    st = status_of(r)
    check('static_traversal_%d' % i, st in (400, 404) and mk not in r and b'root:' not in r, (p, st, r[:120]))
s, b, h = get('/')
check('static_index', s == 200 and b'<svg id="map"' in b and h.get('Content-Type', '').startswith('text/html'), (s, h))
s, b, h = get('/lib/countries-110m.json')
check('static_npm_lib', s == 200 and b'"countries"' in b[:200], s)

# request limits
r = raw(b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 9000 + b'\r\n\r\n')
check('limit_head_size_431', status_of(r) == 431, r[:80])
r = raw(b'GET / HTTP/1.1\r\n' + b''.join(b'X-H%d: 1\r\n' % i for i in range(60)) + b'\r\n')
check('limit_header_count_431', status_of(r) == 431, r[:80])
r = raw(b'GET /' + b'a' * 3000 + b' HTTP/1.1\r\nHost: x\r\n\r\n')
check('limit_target_414', status_of(r) == 414, r[:80])
r = raw(b'POST /api/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n')
check('limit_body_413', status_of(r) == 413, r[:80])
r = raw(b'POST /api/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
check('limit_chunked_501', status_of(r) == 501, r[:80])
r = raw(b'GET / HTTP/2.0\r\n\r\n')
check('limit_version_505', status_of(r) == 505, r[:80])
r = raw(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n')
check('limit_garbage_400', status_of(r) == 400, r[:80])
r = raw(b'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')
check('limit_conflicting_length_400', status_of(r) == 400, r[:80])
# a slow client: half a request, then nothing; the server answers 408 and closes (--timeout 2)
t0 = time.time()
r = raw(b'GET /api/entities HTTP/1.1\r\nHost: x\r\n', wait=10)
check('slow_client_408', status_of(r) == 408 and time.time() - t0 < 9.5, (r[:80], round(time.time() - t0, 1)))
# the server still answers after all that
s, b, h = get('/api/entities')
check('alive_after_bad_clients', s == 200, s)
# connection limit 6: six idle connections held, a seventh is not served until one closes
held = [socket.create_connection((host, port)) for _ in range(6)]
time.sleep(0.3)
c7 = socket.create_connection((host, port), timeout=1.0)
c7.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
try:
    early = c7.recv(100)
except socket.timeout:
    early = b''
held.pop().close()
c7.settimeout(5)
late = read_all(c7)
check('limit_connections_waits', early == b'' and status_of(late) == 200, (early[:40], late[:40]))
for h in held: h.close()
c7.close()

# state changes need the bearer token; the database is never written
eid = ids[0]
s, b, h = get('/api/events/%d/ack' % eid, method='POST')
check('token_missing_401', s == 401 and h.get('WWW-Authenticate') == 'Bearer', (s, b))
s, b, h = get('/api/events/%d/ack' % eid, method='POST', headers={'Authorization': 'Bearer ' + token[:-1] + 'x'})
check('token_wrong_401', s == 401, (s, b))
s, b, h = get('/api/events/%d/ack' % eid, method='POST', headers={'Authorization': 'Bearer ' + token})
check('token_ack_200', s == 200 and json.loads(b) == {'id': eid, 'acked': True}, (s, b))
s, j = getj('/api/events?entity=KP&kind=outage')
check('ack_shown', [e['acked'] for e in j['events']] == [e['id'] == eid for e in j['events']], [e['acked'] for e in j['events']])
s, b, h = get('/api/events/999999/ack', method='POST', headers={'Authorization': 'Bearer ' + token})
check('ack_unknown_404', s == 404, s)
s, b, h = get('/api/entities', method='DELETE')
check('method_405', s == 405, s)
PY
serve_stop
if [ "$SERVE_RC" = 0 ] && ! grep -qE 'Sanitizer|runtime error' "$TMP/serve.err"; then
	ok serve_clean_stop_no_sanitizer_report
else
	nok serve_clean_stop_no_sanitizer_report "exit $SERVE_RC: $(grep -m3 -E 'Sanitizer|runtime error|SUMMARY' "$TMP/serve.err")"
fi
if [ "$(sha256sum <"$TMP/db.sqlite")" = "$sum_before" ]; then ok serve_db_unchanged; else nok serve_db_unchanged "database file changed"; fi
# without --token-file, state changes are off; a non-darkmap file is refused at start
if serve_start "$TMP/db.sqlite"; then
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${SERVE_URL}api/reload")
	[ "$code" = 403 ] && ok token_off_403 || nok token_off_403 "got $code"
	serve_stop
else
	nok token_off_403 "serve did not start: $(cat "$TMP/serve.err")"
fi
echo "not sqlite" >"$TMP/junk.sqlite"
"$DARKMAP" serve --db "$TMP/junk.sqlite" --port 0 >/dev/null 2>"$TMP/junk.err"; rc=$?
if [ $rc = 3 ] && grep -q "junk.sqlite: not a darkmap database" "$TMP/junk.err"; then ok serve_refuses_non_darkmap_db; else nok serve_refuses_non_darkmap_db "exit $rc: $(cat "$TMP/junk.err")"; fi
"$DARKMAP" serve --db "$TMP/db.sqlite" --port 70000 >/dev/null 2>"$TMP/port.err"; rc=$?
if [ $rc = 2 ] && grep -q "^darkmap serve: --port '70000'" "$TMP/port.err"; then ok serve_usage_port; else nok serve_usage_port "exit $rc"; fi
