/*
 * Browser code of the status page, part 3: the route explorer. It asks the admin listener's
 * /debug/route (the server's own decision function) and shows the decision with its trace;
 * fields it does not know are still shown, as a table or in the raw answer.
 */
export const STATUS_SCRIPT_EXPLORER = String.raw`
function scalar(value) {
  if (value === null || value === undefined) return DASH;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A table whose columns are every key the rows have, in first-seen order. */
function objectTable(rows, empty) {
  var keys = [];
  rows.forEach(function (row) { Object.keys(row).forEach(function (key) { if (keys.indexOf(key) < 0) keys.push(key); }); });
  return table(keys.map(function (key) { return { title: key, value: function (row) { return scalar(row[key]); } }; }), rows, empty);
}

function facts(object) {
  var rows = Object.keys(object || {}).map(function (key) { return { field: key, value: object[key] }; });
  return table([{ title: 'field', value: function (r) { return r.field; } }, { title: 'value', value: function (r) { return scalar(r.value); } }], rows, 'unknown');
}

function renderDecision(answer) {
  var where = answer.location ? el('code', { text: answer.location }) : null;
  var headline = el('p', { class: 'decision', 'data-field': 'decision' }, [
    el('strong', { text: String(answer.status) }),
    ' ' + (answer.route || '') + ' → ' + (answer.target || DASH) + ' ',
    where,
  ]);
  var parts = [headline];
  if (answer.error) parts.push(el('p', { class: 'error', 'data-field': 'error', text: answer.error }));
  if (answer.client) parts.push(el('h3', { text: 'Client' }), facts(answer.client));
  if (answer.candidates) parts.push(el('h3', { text: 'Candidate buckets, best first' }), objectTable(answer.candidates, 'none: the origin serves this client'));
  var trace = answer.checks || answer.trace;
  if (trace) parts.push(el('h3', { text: 'Trace' }), objectTable(trace, 'no existence check was needed'));
  parts.push(el('details', {}, [el('summary', { text: 'raw answer' }), el('pre', { text: JSON.stringify(answer, null, 2) })]));
  return parts;
}

document.getElementById('explore-form').addEventListener('submit', function (event) {
  event.preventDefault();
  var params = new URLSearchParams({
    ip: document.getElementById('explore-ip').value.trim(),
    path: document.getElementById('explore-path').value.trim(),
    method: document.getElementById('explore-method').value,
  });
  replace('explore-result', [el('p', { class: 'note', text: 'asking…' })]);
  getJson(config.route_path + '?' + params.toString())
    .then(function (res) {
      if (res.status !== 200) {
        replace('explore-result', [el('p', { class: 'error', 'data-field': 'error', text: res.body.error || 'answered ' + res.status })]);
        return;
      }
      replace('explore-result', renderDecision(res.body));
    })
    .catch(function (error) { replace('explore-result', [el('p', { class: 'error', 'data-field': 'error', text: error.message })]); });
});
`;
