// darkmap dashboard: world map by state at a chosen time, an entity's timelines, events, health.
// Everything comes from darkmap serve's JSON API (docs/serve.md); live updates from /api/stream.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const state = {
    bin: 300, first: 0, last: 0, at: 0, live: true,
    numToCC: {}, selected: null, events: [], charts: [], series: null, geo: null,
  };
  window.darkmap = state;   // for people in the console and the browser test

  const fmt = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');
  async function api(path) {
    const r = await fetch(path);
    const j = await r.json();
    if (!r.ok) throw new Error(path + ': ' + (j.error || r.status));
    return j;
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- the map ----
  async function drawMap() {
    const [topo, codes] = await Promise.all([api('lib/countries-110m.json'), api('lib/iso-codes.json')]);
    for (const c of codes) state.numToCC[c[2]] = c[0];
    const countries = topojson.feature(topo, topo.objects.countries);
    const proj = d3.geoEqualEarth().fitSize([960, 500], countries);
    const path = d3.geoPath(proj);
    const svg = $('map');
    const ns = 'http://www.w3.org/2000/svg';
    for (const f of countries.features) {
      const cc = state.numToCC[f.id];
      if (!cc) continue;
      const p = document.createElementNS(ns, 'path');
      p.setAttribute('d', path(f));
      p.setAttribute('class', 'country');
      p.setAttribute('data-cc', cc);
      p.setAttribute('data-state', 'none');
      const title = document.createElementNS(ns, 'title');
      title.textContent = f.properties.name + ' (' + cc + ')';
      p.appendChild(title);
      p.addEventListener('click', () => select(cc));
      svg.appendChild(p);
    }
  }

  async function colourMap() {
    const at = state.at;
    const j = await api('api/entities?type=country&at=' + at);
    if (at !== state.at) return;   // the slider moved on meanwhile
    const by = {};
    for (const e of j.entities) by[e.entity] = e;
    state.entities = by;
    for (const p of document.querySelectorAll('#map path.country')) {
      const e = by[p.getAttribute('data-cc')];
      p.setAttribute('data-state', e ? e.state : 'none');
      p.setAttribute('data-unstable', e && e.unstable ? 'true' : 'false');
      const t = p.querySelector('title');
      if (t) t.textContent = t.textContent.replace(/ —.*$/, '') + (e ? ' — ' + e.state + (e.unstable ? ', unstable' : '') +
        (e.slash24 !== undefined ? ', ' + e.slash24 + ' of ' + e.baseline_slash24 + ' /24s' : '') : ' — no series');
    }
    $('map-panel').setAttribute('data-at', String(at));
    if (state.selected) showState();
  }

  // ---- the time slider ----
  function setRange(first, last) {
    const s = $('time');
    state.first = first; state.last = last;
    s.min = first; s.max = last; s.step = state.bin;
  }
  function setTime(t, fromUser) {
    state.at = t;
    $('time').value = t;
    $('time-label').textContent = fmt(t) + ' UTC';
    state.live = t >= state.last;
    $('live').classList.toggle('on', state.live);
    colourMap().catch(report);
    if (state.selected) drawAses().catch(report);
  }
  $('time').addEventListener('input', () => setTime(Number($('time').value), true));

  // ---- an entity's timeline ----
  async function select(label) {
    state.selected = label;
    for (const p of document.querySelectorAll('#map path.selected')) p.classList.remove('selected');
    const p = document.querySelector('#map path[data-cc="' + label + '"]');
    if (p) p.classList.add('selected');
    const [s, ev] = await Promise.all([
      api('api/series?entity=' + encodeURIComponent(label) + '&signals=slash24,baseline_slash24,seeing_frac,peer_frac,interruptions,quality'),
      api('api/events?entity=' + encodeURIComponent(label)),
    ]);
    if (state.selected !== label) return;
    state.series = s;
    $('detail-title').textContent = s.entity + (s.name ? ' (' + s.name + ')' : '');
    $('detail').setAttribute('data-entity', s.entity);
    showState();
    drawCharts(s, ev.events);
    await drawAses();
  }

  function showState() {
    const e = state.entities && state.entities[state.selected];
    $('detail-state').textContent = e ? 'at ' + fmt(state.at) + ' UTC: ' + e.state + (e.unstable ? ' (unstable)' : '') +
      (e.slash24 !== undefined ? ', ' + e.slash24 + ' of ' + e.baseline_slash24 + ' /24s visible, seen by ' +
        e.peers_seeing + ' of ' + e.full_feed_peers + ' full-feed peers' : '') : '';
  }

  // outage/partial intervals shaded behind the series, data-quality bins grey
  function shadePlugin(spans) {
    return {
      hooks: {
        drawClear: (u) => {
          const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          for (const sp of spans) {
            const x0 = u.valToPos(sp[0], 'x', true), x1 = u.valToPos(sp[1], 'x', true);
            ctx.fillStyle = sp[2];
            ctx.fillRect(x0, top, Math.max(1, x1 - x0), h);
          }
          ctx.restore();
        },
      },
    };
  }

  function drawCharts(s, events) {
    for (const c of state.charts) c.destroy();
    state.charts = [];
    const width = Math.max(320, $('detail').clientWidth - 10);
    const end = s.to;
    const spans = [];
    for (const e of events) {
      if (e.kind === 'outage' || e.kind === 'partial')
        spans.push([e.start, e.end || end, e.kind === 'outage' ? 'rgba(209,52,47,.25)' : 'rgba(244,162,89,.3)']);
    }
    for (let i = 0; i < s.t.length; i++)
      if (s.quality[i]) spans.push([s.t[i], s.t[i] + s.bin, 'rgba(120,120,120,.25)']);
    const common = (title, h) => ({ title, width, height: h, plugins: [shadePlugin(spans)], cursor: { drag: { x: true } },
      scales: { x: { time: true } } });
    const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    const c1 = new uPlot(Object.assign(common('visible /24 networks', 170), {
      series: [{}, { label: '/24s', stroke: '#1f5fa8', width: 1.5, paths: stepped },
        { label: 'usual level', stroke: '#888', dash: [5, 5] }],
    }), [s.t, s.slash24, s.baseline_slash24], $('chart-slash24'));
    const pct = (v) => v == null ? null : v * 100;
    const c2 = new uPlot(Object.assign(common('peers seeing it (%)', 150), {
      scales: { x: { time: true }, y: { range: [0, 100] } },
      series: [{}, { label: 'share of full-feed peers that see it', stroke: '#1f5fa8', paths: stepped },
        { label: 'share of its usual /24s an average peer sees', stroke: '#e07b00', dash: [4, 4] }],
    }), [s.t, s.seeing_frac.map(pct), s.peer_frac.map(pct)], $('chart-peers'));
    // interruptions per UTC hour, as bars
    const hours = [], counts = [];
    for (let i = 0; i < s.t.length; i++) {
      const h = s.t[i] - (s.t[i] % 3600);
      if (!hours.length || hours[hours.length - 1] !== h) { hours.push(h); counts.push(0); }
      counts[counts.length - 1] += s.interruptions[i] || 0;
    }
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.9, 40], align: 1 }) : undefined;
    const c3 = new uPlot(Object.assign(common('interruptions per hour', 130), {
      series: [{}, { label: 'interruptions/hour', stroke: '#7b2cbf', fill: 'rgba(123,44,191,.4)', paths: bars }],
    }), [hours, counts], $('chart-intr'));
    state.charts = [c1, c2, c3];
  }

  async function drawAses() {
    const sel = state.selected;
    const tb = $('ases').querySelector('tbody');
    if (!sel || sel.length !== 2) { $('ases').hidden = $('ases-title').hidden = true; return; }
    const j = await api('api/entities?type=asn&cc=' + sel + '&at=' + state.at + '&limit=50');
    if (state.selected !== sel) return;
    tb.textContent = '';
    for (const a of j.entities) {
      const tr = el('tr', { class: 'clickable', 'data-asn': a.entity });
      tr.append(el('td', {}, a.entity), el('td', {}, a.name || ''), el('td', {}, a.state + (a.unstable ? ' (unstable)' : '')),
        el('td', {}, a.slash24 === undefined ? '-' : a.slash24 + '/' + a.baseline_slash24),
        el('td', {}, a.loss_slash24 === undefined ? '-' : String(a.loss_slash24)));
      tr.addEventListener('click', () => select(a.entity).catch(report));
      tb.appendChild(tr);
    }
    $('ases').hidden = $('ases-title').hidden = j.entities.length === 0;
  }

  // ---- events ----
  function eventItem(e, fresh) {
    const li = el('li', { class: 'k-' + e.kind + (fresh ? ' new' : ''), 'data-id': String(e.id), 'data-entity': e.entity });
    li.appendChild(el('div', { class: 'text' }, e.text));
    if (e.evidence) li.appendChild(el('div', { class: 'evidence' }, 'evidence: ' + e.evidence));
    li.addEventListener('click', () => {
      select(e.entity).catch(report);
      setTime(Math.max(state.first, Math.min(state.last, e.start - (e.start % state.bin))), true);
    });
    return li;
  }
  async function loadEvents() {
    const j = await api('api/events');
    const ol = $('events');
    ol.textContent = '';
    // alerts only: data-quality (unknown) events are the health panel's periods of unknown data
    for (const e of j.events.slice().reverse()) if (e.alert) ol.appendChild(eventItem(e, false));
  }

  // ---- health ----
  async function loadHealth() {
    const [p, c] = await Promise.all([api('api/peers'), api('api/collectors')]);
    const h = $('health');
    h.textContent = '';
    for (const g of p.full_feed)
      h.appendChild(el('p', {}, 'IPv' + g.afi + ': ' + g.full_feed_peers + ' full-feed peers, ' + g.peers_up +
        ' peers up in the last bin' + (g.quality ? ' (data quality flags ' + g.quality + ')' : '')));
    const t = el('table', { id: 'peers' });
    t.appendChild(el('tr')).append(el('th', {}, 'collector'), el('th', {}, 'peer'), el('th', {}, 'AS'),
      el('th', {}, 'visibility changes'), el('th', {}, 'last change'));
    for (const r of p.peers)
      t.appendChild(el('tr')).append(el('td', {}, r.collector || ''), el('td', {}, r.peer || ''),
        el('td', {}, String(r.peer_asn || '')), el('td', {}, String(r.visibility_changes || '')),
        el('td', {}, r.last_change ? fmt(r.last_change) : ''));
    h.appendChild(t);
    h.appendChild(el('h3', {}, 'periods of unknown data (' + c.quality_periods.length + ')'));
    const ul = el('ul', { id: 'quality' });
    for (const q of c.quality_periods) {
      const why = [q.gap && 'collector gap', q.peers_dropped && 'peers dropped', q.no_data && 'no data',
        q.full_feed_changed && 'full-feed set changed'].filter(Boolean).join(', ');
      ul.appendChild(el('li', { class: 'unknown' }, fmt(q.start) + ' – ' + fmt(q.end) + ': ' + why));
    }
    h.appendChild(ul);
  }

  // ---- live ----
  function stream() {
    const es = new EventSource('api/stream');
    es.addEventListener('event', (m) => {
      const e = JSON.parse(m.data);
      state.events.push(e);
      $('events').prepend(eventItem(e, true));
      colourMap().catch(report);
      if (state.selected === e.entity) select(e.entity).catch(report);
    });
    es.addEventListener('bin', (m) => {
      const b = JSON.parse(m.data);
      const follow = state.live;
      setRange(state.first, b.t);
      if (follow) setTime(b.t);
    });
  }

  function report(err) {
    $('map-status').textContent = String(err && err.message ? err.message : err);
  }

  async function start() {
    const j = await api('api/entities?type=country');
    state.bin = j.bin || 300;
    const g = await api('api/series?entity=global&signals=quality');
    setRange(g.from, j.at);
    await drawMap();
    setTime(j.at);
    await Promise.all([loadEvents(), loadHealth()]);
    stream();
    document.body.setAttribute('data-ready', 'true');
  }
  start().catch(report);
})();
