# The dashboard in Debian's chromium (playwright-core from npm) over the NK-2014 demo database:
# KP in outage at 2014-12-22 20:00 UTC and normal at 2014-12-23 03:00, KP's plotted timeline
# equal to /api/series, an event appended to the database arriving over /api/stream, the DB-IP
# credit, no console errors. Screenshots go to build/test-output/serve_browser/.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/serve_lib.sh"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then skip serve_browser "chromium not installed (scripts/bootstrap installs it)"; exit 0; fi
if ! command -v node >/dev/null || [ ! -d "$ROOT/node_modules/playwright-core" ]; then
	skip serve_browser "node or node_modules/playwright-core absent (scripts/bootstrap runs npm install)"; exit 0
fi
if [ ! -x "$REL_DARKMAP" ]; then skip serve_browser "build/rel/darkmap not built"; exit 0; fi
if ! db=$(serve_demo_db); then nok serve_browser_demo_db "darkmap demo failed"; exit 0; fi
cp "$db" "$TMP/db.sqlite"
out=$ROOT/build/test-output/serve_browser
rm -rf "$out"; mkdir -p "$out"
trap 'serve_stop; rm -rf "$TMP"' EXIT
if ! serve_start "$TMP/db.sqlite" --poll-ms 500; then nok serve_browser_starts "$(cat "$TMP/serve.err")"; exit 0; fi
NODE_PATH=$ROOT/node_modules CHROMIUM=$CHROMIUM timeout 180 node "$ROOT/tests/integration/serve_browser.js" "$SERVE_URL" \
	"$TMP/db.sqlite" "$out" 2>"$TMP/node.err" || nok serve_browser_node "exit $?: $(tail -3 "$TMP/node.err")"
ls "$out"/*.png >/dev/null 2>&1 && ok serve_browser_screenshots || nok serve_browser_screenshots "none in $out"
