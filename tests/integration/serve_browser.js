// The dashboard in a real browser (Debian's chromium through playwright-core), over the NK-2014
// demo database served by darkmap serve. Run by serve_browser.sh:
//   node serve_browser.js URL DBCOPY OUTDIR
// prints ok/not ok lines (tests/lib.sh). Expected values come from the API read independently
// (fetch from node) and from the database with the sqlite3 shell (the event appended).
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [url, db, out] = process.argv.slice(2);
const ok = (n) => console.log('ok ' + n);
const nok = (n, why) => console.log('not ok ' + n + ': ' + why);
const check = (n, cond, why) => (cond ? ok(n) : nok(n, why));
const T2000 = Date.UTC(2014, 11, 22, 20, 0) / 1000;
const T0300 = Date.UTC(2014, 11, 23, 3, 0) / 1000;

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'darkmap-chromium-'));
  // a fresh profile each run (playwright passes it as --user-data-dir)
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1100 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
    page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
    page.on('requestfailed', (r) => { if (!r.url().includes('/api/stream')) errors.push('request failed: ' + r.url()); });
    // no request may leave the loopback address the server listens on
    page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:')) errors.push('off-host request: ' + r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
    const n = await page.$$eval('#map path.country', (ps) => ps.length);
    check('browser_map_drawn', n > 150, n + ' country shapes');

    async function stateAt(t) {
      await page.$eval('#time', (s, v) => { s.value = String(v); s.dispatchEvent(new Event('input')); }, t);
      await page.waitForFunction((v) => document.getElementById('map-panel').getAttribute('data-at') === String(v), t);
      return page.$eval('#map path[data-cc="KP"]', (p) => [p.getAttribute('data-state'), p.getAttribute('data-unstable'),
        getComputedStyle(p).fill]);
    }
    const [s20, , fill20] = await stateAt(T2000);
    check('browser_kp_outage_2014-12-22T20:00', s20 === 'outage' && fill20 === 'rgb(209, 52, 47)', s20 + ' ' + fill20);
    await page.screenshot({ path: path.join(out, 'map-2014-12-22T2000.png') });
    const [s03, u03, fill03] = await stateAt(T0300);
    check('browser_kp_normal_2014-12-23T03:00', s03 === 'normal' && fill03 === 'rgb(140, 192, 132)', s03 + ' ' + fill03);
    // detect's instability event (21 Dec 02:50 - 23 Dec 07:55) still runs: the outline says so
    check('browser_kp_unstable_outline_2014-12-23T03:00', u03 === 'true', 'data-unstable ' + u03);
    await page.screenshot({ path: path.join(out, 'map-2014-12-23T0300.png') });

    // KP's timeline: the plotted arrays are /api/series's, read here independently
    await page.click('#map path[data-cc="KP"]');
    await page.waitForFunction(() => window.darkmap.charts.length === 3 && window.darkmap.series &&
      window.darkmap.series.entity === 'KP');
    const api = await (await fetch(url + 'api/series?entity=KP&signals=slash24,baseline_slash24,seeing_frac,peer_frac,interruptions,quality')).json();
    const plotted = await page.evaluate(() => window.darkmap.charts.map((c) => c.data.map((a) => Array.from(a))));
    const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
    check('browser_timeline_times', same(plotted[0][0], api.t), 'x ' + plotted[0][0].length + ' vs ' + api.t.length);
    check('browser_timeline_slash24', same(plotted[0][1], api.slash24), 'slash24 differs');
    check('browser_timeline_baseline', same(plotted[0][2], api.baseline_slash24), 'baseline differs');
    const pct = api.seeing_frac.map((v) => (v == null ? null : v * 100));
    check('browser_timeline_peers_share', same(plotted[1][1], pct), 'seeing share differs');
    // interruptions per hour: sums of the API's bins per UTC hour
    const sums = new Map();
    api.t.forEach((t, i) => sums.set(t - (t % 3600), (sums.get(t - (t % 3600)) || 0) + api.interruptions[i]));
    check('browser_interruptions_per_hour', same(plotted[2][0], [...sums.keys()]) && same(plotted[2][1], [...sums.values()]),
      'hourly bars differ');
    const i2000 = api.t.indexOf(T2000);
    check('browser_timeline_kp_zero_at_20:00', i2000 >= 0 && plotted[0][1][i2000] === 0 && api.slash24[i2000 - 60] === 4,
      'value at 20:00 ' + plotted[0][1][i2000]);
    await page.screenshot({ path: path.join(out, 'kp-timeline.png'), fullPage: true });

    // an event appended to the database while the page is open arrives over the stream
    const before = await page.$$eval('#events li', (l) => l.length);
    execFileSync('sqlite3', [db, "INSERT INTO events (entity, type, start_t, end_t, severity, baseline_slash24, slash24, " +
      "peers_lost, full_feed_peers, rate, baseline_rate, quality, affected, reason, evidence) SELECT id, 1, 1419811000, 0, " +
      "1, 4, 0, 24, 24, 0, 0, 0, '175.45.176.0/22', 'browser test: appended outage', 'appended by serve_browser.js' " +
      "FROM entities WHERE kind = 1 AND cc = 'KP' AND afi = 1"]);
    const id = Number(execFileSync('sqlite3', [db, 'SELECT max(id) FROM events']).toString().trim());
    try {
      await page.waitForSelector('#events li[data-id="' + id + '"]', { timeout: 15000 });
      const txt = await page.$eval('#events li[data-id="' + id + '"]', (l) => l.textContent);
      check('browser_stream_event', txt.includes('appended by serve_browser.js') && txt.includes('KP (North Korea)'), txt);
    } catch (e) {
      nok('browser_stream_event', 'event ' + id + ' not shown in 15 s (' + before + ' items)');
    }
    await page.screenshot({ path: path.join(out, 'events-after-stream.png'), fullPage: true });
    const credit = await page.$eval('footer', (f) => f.textContent);
    check('browser_dbip_credit', credit.includes('IP Geolocation by DB-IP'), credit);
    check('browser_no_console_errors', errors.length === 0, errors.join(' | '));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
main().catch((e) => { nok('browser_runs', String(e && e.stack || e).split('\n').slice(0, 3).join(' ')); });
