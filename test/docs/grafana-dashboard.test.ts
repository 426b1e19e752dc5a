import { describe, expect, it } from 'vitest';
import { allPanels, dashboardExpressions, readDashboard } from '../support/monitoring-artefacts.js';

// What an operator needs from the imported dashboard: it follows the job/instance/data-source
// choice on every query, covers the subjects issue 16 lists, and lays out without overlaps.

const dashboard = readDashboard();
const panels = allPanels(dashboard);

describe('deploy/grafana/registry-edge.json', () => {
  it('has the data source, job and instance variables, job and instance multi-valued with All', () => {
    const variables = Object.fromEntries(dashboard.templating.list.map((variable) => [variable.name, variable as Record<string, any>]));
    expect(variables.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.job).toMatchObject({ type: 'query', includeAll: true, multi: true, query: { query: 'label_values(registry_edge_build_info, job)' } });
    expect(variables.instance).toMatchObject({ type: 'query', includeAll: true, multi: true, query: { query: 'label_values(registry_edge_build_info{job=~"$job"}, instance)' } });
    expect(dashboard.uid).toBe('registry-edge');
  });

  it('every query uses the chosen data source and filters every metric by $job and $instance', () => {
    for (const panel of panels.filter((entry) => entry.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      const selectors = [...expr.matchAll(/(?<![\w:])(registry_edge[\w:]*|process_\w+|nodejs_\w+)(\{[^}]*\})?/g)];
      expect(selectors.length, where).toBeGreaterThan(0);
      for (const [whole, , matchers] of selectors) {
        expect(matchers, `${where}: ${whole}`).toContain('job=~"$job"');
        expect(matchers, `${where}: ${whole}`).toContain('instance=~"$instance"');
      }
    }
  });

  it('covers buckets, breaker transitions, cache hit ratio, traffic, blob redirects, origin fallbacks, reloads, ranges age, latency and rate limits', () => {
    const titles = panels.map((panel) => panel.title.toLowerCase());
    const has = (words: string) => expect(titles.some((title) => title.includes(words)), words).toBe(true);
    for (const subject of [
      'bucket health state',
      'breaker transitions',
      'hit ratio',
      'requests per second by route and status',
      'blob redirects by provider, region and target',
      'origin fallbacks and why',
      'reloads',
      'ranges data age',
      'latency',
      'rate-limit refusals',
    ]) {
      has(subject);
    }
    const expressions = dashboardExpressions(dashboard).map(({ expr }) => expr);
    expect(expressions.some((expr) => expr.includes('by (provider, region, target)'))).toBe(true);
    expect(expressions.some((expr) => expr.includes('by (kind, status)'))).toBe(true);
  });

  it('panels have unique ids and tile the 24-column grid without overlapping', () => {
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x >= 0 && w > 0 && x + w <= 24 && h > 0, panel.title).toBe(true);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const cell = `${row}:${column}`;
          expect(cells.has(cell), `${panel.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
    }
  });

  it('each target has a unique refId within its panel', () => {
    for (const panel of panels) {
      const refs = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refs).size, panel.title).toBe(refs.length);
    }
  });
});
