/*
 * Browser code of the status page, part 1: building DOM nodes, number formats, tables and the
 * bar chart. Plain ES2020 held as a string (the page is served as one self-contained file);
 * every value reaches the page through textContent or SVG attributes, never as HTML.
 */
export const STATUS_SCRIPT_DOM = String.raw`
var SVG_NS = 'http://www.w3.org/2000/svg';
var DASH = '—';

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function svg(tag, attrs, children) {
  var node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  Object.keys(attrs || {}).forEach(function (key) {
    if (key === 'text') node.textContent = attrs[key];
    else if (attrs[key] !== undefined && attrs[key] !== null) node.setAttribute(key, String(attrs[key]));
  });
}

function append(node, children) {
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) return;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  });
}

function replace(id, children) {
  var target = document.getElementById(id);
  while (target.firstChild) target.removeChild(target.firstChild);
  append(target, children);
}

function isNumber(value) {
  return typeof value === 'number' && isFinite(value);
}

function fmtNumber(value) {
  if (!isNumber(value)) return DASH;
  var abs = Math.abs(value);
  var digits = abs === 0 || abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtCount(value) {
  return isNumber(value) ? Math.round(value).toLocaleString('en-US') : DASH;
}

function fmtRate(value) {
  return isNumber(value) ? fmtNumber(value) + '/s' : DASH;
}

function fmtPercent(ratio) {
  return isNumber(ratio) ? (ratio * 100).toFixed(1) + '%' : DASH;
}

function fmtBytes(value) {
  if (!isNumber(value)) return DASH;
  var units = ['B', 'KiB', 'MiB', 'GiB'];
  var at = 0;
  while (value >= 1024 && at < units.length - 1) { value /= 1024; at++; }
  return (at === 0 ? String(value) : value.toFixed(1)) + ' ' + units[at];
}

function fmtDuration(seconds) {
  if (!isNumber(seconds)) return DASH;
  var s = Math.max(0, Math.round(seconds));
  var parts = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']];
  var out = [];
  for (var i = 0; i < parts.length && out.length < 2; i++) {
    var amount = Math.floor(s / parts[i][0]);
    if (amount > 0 || (out.length === 0 && i === parts.length - 1)) { out.push(amount + parts[i][1]); s -= amount * parts[i][0]; }
  }
  return out.join(' ');
}

/** A rate when the snapshot has a window, else the total since start. */
function fmtRateOrTotal(row) {
  return row.per_s === null ? fmtCount(row.total) + ' total' : fmtRate(row.per_s);
}

function cell(value, numeric) {
  return el('td', { class: numeric ? 'num' : null }, [value]);
}

/** columns: [{ title, value(row) -> string|Node, num }]. */
function table(columns, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'empty', text: empty || 'nothing yet' });
  var head = el('tr', {}, columns.map(function (c) { return el('th', { class: c.num ? 'num' : null, text: c.title }); }));
  var body = rows.map(function (row) {
    return el('tr', {}, columns.map(function (c) { return cell(c.value(row), c.num); }));
  });
  return el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)]);
}

function card(field, label, value) {
  return el('div', { class: 'card', 'data-field': field }, [el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value })]);
}

function stateBadge(state) {
  return el('span', { class: 'state state-' + state, text: state });
}

var PALETTE = ['#2457c5', '#1a7f37', '#b35900', '#8250df', '#c62828', '#0a7ea4', '#9a6700', '#bf3989'];

function colourFor(name, seen) {
  if (!(name in seen)) seen[name] = PALETTE[Object.keys(seen).length % PALETTE.length];
  return seen[name];
}

/** Horizontal bars, one per row: label, bar scaled to the largest value, value text. */
function barChart(rows, label, value, valueText, colourKey) {
  if (rows.length === 0) return el('p', { class: 'empty', text: 'no blob redirects yet' });
  var width = 720, labelWidth = 300, valueWidth = 90, barHeight = 18, gap = 6;
  var max = rows.reduce(function (m, row) { return Math.max(m, value(row)); }, 0) || 1;
  var colours = {};
  var height = rows.length * (barHeight + gap) + gap;
  var chart = svg('svg', { class: 'chart', viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'blob redirects by provider, region and target' });
  rows.forEach(function (row, i) {
    var y = gap + i * (barHeight + gap);
    var barWidth = Math.max(1, ((width - labelWidth - valueWidth) * value(row)) / max);
    var group = svg('g', { 'data-row': label(row) }, [
      svg('text', { x: 0, y: y + barHeight - 5, text: label(row) }),
      svg('rect', { x: labelWidth, y: y, width: barWidth.toFixed(1), height: barHeight, rx: 3, fill: colourFor(colourKey(row), colours) }),
      svg('text', { x: labelWidth + barWidth + 6, y: y + barHeight - 5, class: 'muted', text: valueText(row) }),
    ]);
    group.appendChild(svg('title', { text: label(row) + ': ' + valueText(row) }));
    chart.appendChild(group);
  });
  return chart;
}
`;
