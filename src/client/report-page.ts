/**
 * The report as one self-contained HTML page: the figures as JSON inside the page, drawn by an
 * inline script into tables and SVG charts. Nothing is fetched when it is viewed (its content
 * security policy forbids it), and every text from the data is set as text, never as markup, so an
 * example that holds HTML shows as HTML source.
 */
import type { ReportData } from './report';

/** The page for `data`. */
export function renderReport(data: ReportData): string {
  // `<` escaped so that no text in the data can close the script element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dataset report: ${escapeHtml(data.runId)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>Dataset report</h1><p id="subtitle"></p></header>
<main id="report"><p id="no-script">This report is drawn by its inline script; enable JavaScript to see it.</p></main>
<script type="application/json" id="report-data">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:16px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9d1e0}
main{padding:8px 28px 40px;max-width:1200px}
section{background:#fff;border:1px solid #e1e5ec;border-radius:8px;padding:14px 18px;margin:16px 0}
h2{font-size:16px;margin:0 0 10px}h3{font-size:14px;margin:12px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #e1e5ec;border-radius:6px;padding:8px 12px;min-width:120px}
.card .v{font-size:20px;font-weight:600}.card .k{color:#5b6475;font-size:12px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f4;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f7f9;border-radius:4px;padding:8px;margin:4px 0;max-height:260px;overflow:auto}
.muted{color:#5b6475}.bad{color:#b42318}.tag{display:inline-block;background:#eef2ff;border-radius:4px;padding:0 6px;margin:0 4px 2px 0;font-size:12px}
svg text{font:11px system-ui,sans-serif;fill:#1d2330}
`;

/** The page's script: plain DOM calls, no library, every text through textContent. */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var d = JSON.parse(document.getElementById('report-data').textContent);
  var root = document.getElementById('report');
  root.textContent = '';
  var SVG = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c); });
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function fmt(n) { return typeof n === 'number' ? n.toLocaleString('en-US') : '-'; }
  function section(title, id) { var s = el('section', { id: id }, [el('h2', {}, [title])]); root.appendChild(s); return s; }
  function card(parent, key, value, figure) {
    parent.appendChild(el('div', { class: 'card' }, [el('div', { class: 'v', 'data-figure': figure }, [value]), el('div', { class: 'k' }, [key])]));
  }
  function table(head, rows) {
    return el('table', {}, [el('tr', {}, head.map(function (h) { return el('th', {}, [h]); }))].concat(rows));
  }
  /** A bar chart: bars [{label, value, figure?}], value labels above the bars. */
  function bars(items, opts) {
    var w = Math.max(280, items.length * 26 + 40), h = 150, max = 1;
    items.forEach(function (b) { if (b.value > max) max = b.value; });
    var s = svg('svg', { width: w, height: h + 40, viewBox: '0 0 ' + w + ' ' + (h + 40), role: 'img', 'aria-label': opts.title });
    var bw = (w - 40) / Math.max(1, items.length);
    items.forEach(function (b, i) {
      var bh = Math.round((b.value / max) * h), x = 30 + i * bw;
      var r = svg('rect', { x: x + 2, y: 10 + h - bh, width: Math.max(1, bw - 4), height: bh, fill: b.color || '#4f6bed' });
      r.appendChild(svg('title', {}, b.label + ': ' + b.value));
      s.appendChild(r);
      var v = svg('text', { x: x + bw / 2, y: 8 + h - bh, 'text-anchor': 'middle' }, b.value);
      if (b.figure) v.setAttribute('data-figure', b.figure);
      s.appendChild(v);
      if (items.length <= 24 || i % Math.ceil(items.length / 12) === 0) s.appendChild(svg('text', { x: x + bw / 2, y: h + 26, 'text-anchor': 'middle' }, b.label));
    });
    s.appendChild(svg('line', { x1: 28, y1: h + 10, x2: w - 8, y2: h + 10, stroke: '#9aa3b5' }));
    return s;
  }

  document.getElementById('subtitle').textContent =
    d.runId + (d.model ? ' · ' + d.model : '') + ' · ' + d.status + ' · report of ' + d.generatedAt +
    (d.source === 'batches' ? ' · running: figures from the batches finished so far' : '');

  var c = section('Counts', 'counts');
  var cards = el('div', { class: 'cards' });
  c.appendChild(cards);
  card(cards, 'records in the dataset', fmt(d.records), 'records');
  if (d.target !== undefined) card(cards, 'target', fmt(d.target), 'target');
  card(cards, 'accepted', fmt(d.accepted), 'accepted');
  card(cards, 'asked for', fmt(d.requested), 'requested');
  card(cards, 'batches done', fmt(d.batchesDone), 'batches-done');
  card(cards, 'batches failed', fmt(d.batchesFailed), 'batches-failed');
  card(cards, 'model calls', fmt(d.calls), 'calls');
  card(cards, 'retries', fmt(d.retries), 'retries');

  var q = d.quality || {};
  var t = section('Cost and tokens by stage', 'cost');
  var costRows = [el('tr', {}, [el('td', {}, ['generation']), el('td', { class: 'n', 'data-figure': 'input-tokens' }, [fmt(d.inputTokens)]),
    el('td', { class: 'n', 'data-figure': 'output-tokens' }, [fmt(d.outputTokens)]),
    el('td', { class: 'n' }, [d.costUsd !== undefined ? '$' + (d.costUsd - (d.judgeCostUsd || 0)).toFixed(4) : 'price unknown'])])];
  if (q.judgeCalls) costRows.push(el('tr', {}, [el('td', {}, ['judge (' + fmt(q.judgeCalls) + ' calls)']),
    el('td', { class: 'n', 'data-figure': 'judge-input-tokens' }, [fmt(q.judgeInputTokens || 0)]),
    el('td', { class: 'n', 'data-figure': 'judge-output-tokens' }, [fmt(q.judgeOutputTokens || 0)]),
    el('td', { class: 'n' }, [d.judgeCostUsd !== undefined ? '$' + d.judgeCostUsd.toFixed(4) : 'price unknown'])]));
  t.appendChild(table(['stage', 'input tokens', 'output tokens', 'estimated cost'], costRows));
  if (d.costUsd !== undefined) t.appendChild(el('p', {}, ['total estimated cost: ', el('b', { 'data-figure': 'cost' }, ['$' + d.costUsd.toFixed(4)])]));

  var r = section('Dropped examples by reason', 'rejected');
  var reasons = Object.keys(d.rejected).sort(function (a, b) { return d.rejected[b] - d.rejected[a]; });
  r.appendChild(reasons.length
    ? table(['reason', 'examples'], reasons.map(function (k) { return el('tr', {}, [el('td', {}, [k]), el('td', { class: 'n', 'data-figure': 'rejected:' + k }, [fmt(d.rejected[k])])]); }))
    : el('p', { class: 'muted' }, ['none dropped']));
  var errs = Object.keys(d.errors);
  if (errs.length) {
    r.appendChild(el('h3', {}, ['failed calls by error']));
    r.appendChild(table(['error', 'calls'], errs.map(function (k) { return el('tr', {}, [el('td', {}, [k]), el('td', { class: 'n', 'data-figure': 'error:' + k }, [fmt(d.errors[k])])]); })));
  }

  if (q.scores || (d.judge && d.judge.rubric)) {
    var j = section('Judge scores' + (d.judge ? ' (' + d.judge.model + ')' : ''), 'judge');
    var grid = el('div', { class: 'grid' });
    j.appendChild(grid);
    var rubric = d.judge ? d.judge.rubric : Object.keys(q.scores || {}).map(function (n) { return { name: n }; });
    rubric.forEach(function (item) {
      var hist = (q.scores || {})[item.name] || {};
      var keys = Object.keys(hist).map(Number);
      var lo = item.min !== undefined ? item.min : Math.min.apply(null, keys), hi = item.max !== undefined ? item.max : Math.max.apply(null, keys);
      var items = [];
      for (var s = lo; s <= hi; s++) items.push({ label: String(s), value: hist[s] || 0, figure: 'score:' + item.name + ':' + s,
        color: item.minScore !== undefined && s < item.minScore ? '#d92d20' : '#4f6bed' });
      grid.appendChild(el('div', {}, [el('h3', {}, [item.name + (item.minScore !== undefined ? ' (kept from ' + item.minScore + ')' : '')]),
        el('div', { class: 'muted' }, [item.description || '']), bars(items, { title: item.name })]));
    });
  }

  if (q.validators) {
    var v = section('Validators', 'validators');
    v.appendChild(table(['validator', 'passed', 'failed', 'pass rate'], Object.keys(q.validators).map(function (k) {
      var x = q.validators[k], n = x.passed + x.failed;
      return el('tr', {}, [el('td', {}, [k]), el('td', { class: 'n', 'data-figure': 'validator:' + k + ':passed' }, [fmt(x.passed)]),
        el('td', { class: 'n', 'data-figure': 'validator:' + k + ':failed' }, [fmt(x.failed)]),
        el('td', { class: 'n' }, [n ? (100 * x.passed / n).toFixed(1) + '%' : '-'])]);
    })));
  }

  var tp = section('Topic coverage', 'topics');
  tp.appendChild(el('p', {}, [el('b', { 'data-figure': 'topics-used' }, [fmt(d.topics.used)]), ' topic paths used',
    d.topics.total !== undefined ? ' of ' + fmt(d.topics.total) : '', '; ', el('b', { 'data-figure': 'topics-unused' }, [fmt(d.topics.unusedCount)]), ' never used']));
  tp.appendChild(table(['topic path', 'examples'], d.topics.perPath.map(function (p) { return el('tr', {}, [el('td', {}, [p.path]), el('td', { class: 'n' }, [fmt(p.n)])]); })));
  if (d.topics.unused.length) {
    tp.appendChild(el('h3', {}, ['never used' + (d.topics.unusedCount > d.topics.unused.length ? ' (first ' + d.topics.unused.length + ')' : '')]));
    tp.appendChild(el('div', {}, d.topics.unused.map(function (p) { return el('span', { class: 'tag' }, [p]); })));
  }

  var l = section('Example lengths (characters)', 'lengths');
  l.appendChild(el('p', {}, ['min ' + fmt(d.lengths.min) + ' · median ' + fmt(d.lengths.median) + ' · mean ' + fmt(d.lengths.mean) + ' · max ' + fmt(d.lengths.max) + ' · ', el('span', { 'data-figure': 'lengths-n' }, [fmt(d.lengths.n)]), ' examples']));
  l.appendChild(bars(d.lengths.bins.map(function (b) { return { label: String(b.from), value: b.n }; }), { title: 'example lengths' }));

  var tl = section('Timeline (every ' + d.timeline.binSeconds + ' s, by batch finish)', 'timeline');
  tl.appendChild(el('h3', {}, ['model calls per second']));
  tl.appendChild(bars(d.timeline.bins.map(function (b) { return { label: b.t + 's', value: Math.round(10 * b.calls / d.timeline.binSeconds) / 10 }; }), { title: 'calls per second' }));
  var limited = d.timeline.bins.reduce(function (a, b) { return a + b.rateLimited; }, 0), retried = d.timeline.bins.reduce(function (a, b) { return a + b.retries; }, 0);
  tl.appendChild(el('p', {}, [el('span', { 'data-figure': 'rate-limited' }, [fmt(limited)]), ' calls answered 429 · ', el('span', { 'data-figure': 'batch-retries' }, [fmt(retried)]), ' batch retries']));
  if (limited || retried) tl.appendChild(bars(d.timeline.bins.map(function (b) { return { label: b.t + 's', value: b.rateLimited + b.retries, color: '#d92d20' }; }), { title: '429s and retries' }));

  var sm = section('Sample of examples', 'samples');
  d.samples.forEach(function (s, i) {
    var box = el('div', { class: 'sample', 'data-sample': String(i) }, [el('div', { class: 'muted' }, ['batch ' + s.batch + (s.topic ? ' · ' + s.topic : '')])]);
    var n = s.note || {};
    if (n.scores) box.appendChild(el('div', {}, Object.keys(n.scores).map(function (k) { return el('span', { class: 'tag', 'data-score': k }, [k + ' ' + n.scores[k]]); })
      .concat(n.reason ? [el('span', { class: 'muted' }, [n.reason])] : [])));
    if (n.flags) box.appendChild(el('div', { class: 'bad' }, Object.keys(n.flags).map(function (k) { return el('span', { class: 'tag' }, ['flag ' + k + ': ' + n.flags[k]]); })));
    box.appendChild(el('pre', {}, [s.text]));
    sm.appendChild(box);
  });
})();
`;
