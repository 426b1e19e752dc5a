/*
 * Browser code of the status page, part 2: the sections drawn from one snapshot, live updates
 * that run only while the page is visible, the admin token prompt, and the route explorer.
 */
export const STATUS_SCRIPT_APP = String.raw`
var config = JSON.parse(document.getElementById('status-config').textContent);
var TOKEN_KEY = 'registry-edge-admin-token';
var query = new URLSearchParams(window.location.search);
var intervalMs = Math.max(1000, Number(query.get('refresh')) * 1000 || config.interval_ms);
var timer = null;
var waitingForToken = false;

function rateColumn(title) {
  return { title: title || 'per second', num: true, value: fmtRateOrTotal };
}

function renderSummary(s) {
  var origin = s.origin_fallbacks.total;
  var blobs = s.blob_redirects.reduce(function (sum, row) { return sum + (row.per_s === null ? row.total : row.per_s); }, 0);
  var originShare = blobs > 0 ? (origin.per_s === null ? origin.total : origin.per_s) / blobs : null;
  replace('summary-cards', [
    card('requests', 'Requests', fmtRateOrTotal(s.requests.total)),
    card('origin-share', 'Blobs to the origin', fmtPercent(originShare)),
    card('hit-ratio', 'Existence-cache hit ratio', fmtPercent(s.existence_cache.hit_ratio)),
    card('refused', 'Rate-limit refusals', fmtRateOrTotal(s.rate_limit.refused)),
    card('ranges-age', 'Cloud ranges age', s.geo.ranges_loaded === false ? 'not loaded' : fmtDuration(s.geo.ranges_age_s)),
    card('reload-failures', 'Reload failures', fmtCount(s.reloads.failure.total)),
  ]);
}

function checksText(checks) {
  if (checks.length === 0) return DASH;
  return checks.map(function (c) { return c.result + ' ' + fmtRateOrTotal(c); }).join(', ');
}

function renderBuckets(s) {
  var cache = s.existence_cache;
  replace('cache-ratio', [
    'Existence-cache hit ratio ' + fmtPercent(cache.hit_ratio) + (cache.hit_ratio_over === 'window' ? ' (last ' + fmtDuration(s.window_s) + ')' : ' (since start)') +
      '; ' + fmtCount(cache.entries) + ' answers cached, ' + fmtCount(cache.inflight) + ' HEADs in flight, ' +
      fmtCount(cache.skipped) + ' lookups skipped (bucket cooling down), ' + fmtCount(cache.overflow) + ' over the in-flight bound.',
  ]);
  replace('bucket-table', [table([
    { title: 'bucket', value: function (b) { return b.name; } },
    { title: 'health', value: function (b) { return stateBadge(b.state); } },
    { title: 'breaker transitions', num: true, value: function (b) { return b.transitions === null ? DASH : fmtCount(b.transitions.total); } },
    { title: 'existence checks', value: function (b) { return checksText(b.checks); } },
  ], s.buckets, 'no buckets configured')]);
}

function renderRequests(s) {
  replace('request-table', [table([
    { title: 'route', value: function (r) { return r.route; } },
    { title: 'status', value: function (r) { return r.status; } },
    rateColumn(),
    { title: 'total', num: true, value: function (r) { return fmtCount(r.total); } },
  ], s.requests.by_route_status, 'no requests yet')]);
}

function renderRedirects(s) {
  var rows = s.blob_redirects.slice(0, 16);
  var windowed = s.window_s !== null;
  replace('redirect-chart', [barChart(
    rows,
    function (r) { return r.provider + ' / ' + r.region + ' → ' + r.target; },
    function (r) { return windowed ? r.per_s || 0 : r.total; },
    fmtRateOrTotal,
    function (r) { return r.target; }
  )]);
}

function renderFallbacks(s) {
  var f = s.origin_fallbacks;
  replace('fallback-total', ['Blobs sent to the origin: ' + fmtRateOrTotal(f.total) + ' (' + fmtCount(f.total.total) + ' since start).']);
  replace('fallback-reasons', [
    el('p', { class: 'note', text: f.reasons_source === 'metric' ? 'Why, per fallback:' : 'Why (existence lookups that did not find the blob in a bucket; one fallback can follow several):' }),
    table([{ title: 'reason', value: function (r) { return r.reason; } }, rateColumn(), { title: 'total', num: true, value: function (r) { return fmtCount(r.total); } }], f.by_reason),
    el('p', { class: 'note', text: 'From where:' }),
    table([{ title: 'provider', value: function (r) { return r.provider; } }, { title: 'region', value: function (r) { return r.region; } }, rateColumn()], f.by_client, 'no fallbacks'),
  ]);
}

function renderOperations(s) {
  replace('reload-facts', [table([
    { title: 'result', value: function (r) { return r.name; } },
    { title: 'total', num: true, value: function (r) { return fmtCount(r.rate.total); } },
  ], [{ name: 'success', rate: s.reloads.success }, { name: 'failure', rate: s.reloads.failure }])]);
  replace('config-loaded', ['Running configuration loaded ' + (s.config_loaded_at === null ? DASH : new Date(s.config_loaded_at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC') + '.']);
  replace('geo-facts', [
    s.geo.ranges_loaded === false ? el('p', { class: 'error', text: 'No cloud ranges loaded: blobs are routed by geography only.' }) : null,
    el('p', { text: 'Cloud ranges built ' + fmtDuration(s.geo.ranges_age_s) + ' ago; refreshes: ' + fmtCount(s.geo.refreshes.success) + ' ok, ' + fmtCount(s.geo.refreshes.failure) + ' failed.' }),
  ]);
  replace('cache-table', [table([
    { title: 'cache', value: function (c) { return c.name; } },
    { title: 'entries', num: true, value: function (c) { return fmtCount(c.entries) + (c.max_entries === null ? '' : ' of ' + fmtCount(c.max_entries)); } },
    { title: 'bytes', num: true, value: function (c) { return fmtBytes(c.bytes) + (c.max_bytes === null ? '' : ' of ' + fmtBytes(c.max_bytes)); } },
  ], s.caches, 'no cache figures')]);
}

function render(s) {
  replace('version', [s.version === null ? '' : 'version ' + s.version]);
  replace('updated', ['updated ' + s.generated_at.replace('T', ' ').slice(0, 19) + ' UTC' + (s.window_s === null ? '' : ', rates over ' + fmtDuration(s.window_s))]);
  renderSummary(s);
  renderBuckets(s);
  renderRequests(s);
  renderRedirects(s);
  renderFallbacks(s);
  renderOperations(s);
  document.body.setAttribute('data-rendered', s.generated_at);
}

function setLive(state, text) {
  var node = document.getElementById('live-state');
  node.setAttribute('data-state', state);
  node.textContent = text;
}

function authHeaders() {
  var token = window.sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: 'Bearer ' + token } : {};
}

function getJson(url) {
  return fetch(url, { headers: authHeaders(), cache: 'no-store' }).then(function (res) {
    if (res.status === 401) { askForToken(); throw new Error('the admin token is missing or wrong'); }
    return res.json().then(function (body) { return { status: res.status, body: body }; });
  });
}

function askForToken() {
  waitingForToken = true;
  document.getElementById('auth').hidden = false;
  setLive('paused', 'waiting for the admin token');
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (document.visibilityState === 'visible' && !waitingForToken) timer = setTimeout(refresh, intervalMs);
}

function refresh() {
  if (document.visibilityState !== 'visible' || waitingForToken) return;
  getJson(config.snapshot_path)
    .then(function (res) {
      if (res.status !== 200) throw new Error('snapshot answered ' + res.status);
      render(res.body);
      setLive('live', 'live, every ' + fmtDuration(intervalMs / 1000));
    })
    .catch(function (error) { if (!waitingForToken) setLive('error', 'update failed: ' + error.message); })
    .then(schedule);
}

document.addEventListener('visibilitychange', function () {
  if (document.visibilityState === 'visible') refresh();
  else { clearTimeout(timer); timer = null; setLive('paused', 'paused while hidden'); }
});

document.getElementById('auth-form').addEventListener('submit', function (event) {
  event.preventDefault();
  window.sessionStorage.setItem(TOKEN_KEY, document.getElementById('token').value);
  document.getElementById('auth').hidden = true;
  waitingForToken = false;
  refresh();
});
`;
