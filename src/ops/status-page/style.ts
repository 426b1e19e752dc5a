/** The status page's style sheet: system fonts only, light and dark, nothing fetched. */
export const STATUS_PAGE_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #5d6677; --line: #dde1e8;
  --good: #1a7f37; --warn: #b35900; --bad: #c62828; --accent: #2457c5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171c; --card: #1c2027; --ink: #e6e9ef; --muted: #9aa3b2; --line: #2d333d;
    --good: #3fb950; --warn: #e3a008; --bad: #f85149; --accent: #6ea8fe; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: baseline; padding: .9rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { margin: 0; font-size: 1.25rem; }
header .meta { color: var(--muted); }
#live-state[data-state="paused"], #live-state[data-state="error"] { color: var(--warn); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; padding: 1rem 1.5rem 2rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1rem; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 .6rem; font-size: 1rem; }
.note { color: var(--muted); margin: .3rem 0 .6rem; font-size: .9em; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; }
.card { flex: 1 1 140px; border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem; }
.card .label { color: var(--muted); font-size: .85em; }
.card .value { font-size: 1.35rem; font-variant-numeric: tabular-nums; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .85em; }
td.num, th.num { text-align: right; }
.empty { color: var(--muted); font-style: italic; }
.state { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .85em; border: 1px solid currentColor; }
.state-closed { color: var(--good); } .state-half-open { color: var(--warn); } .state-open, .state-unknown { color: var(--bad); }
svg.chart { width: 100%; max-width: 900px; height: auto; display: block; }
svg.chart text { fill: var(--ink); font-size: 12px; }
svg.chart text.muted { fill: var(--muted); }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
label { display: flex; flex-direction: column; gap: .2rem; color: var(--muted); font-size: .85em; }
input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--ink); }
input.path { min-width: 26rem; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
.decision { font-size: 1.1rem; margin: .6rem 0; }
.decision code, td code { word-break: break-all; }
.error { color: var(--bad); }
#auth { background: var(--card); border-bottom: 1px solid var(--line); padding: .8rem 1.5rem; }
details summary { cursor: pointer; color: var(--muted); }
pre { overflow: auto; background: var(--bg); padding: .5rem; border-radius: 6px; }
`;
