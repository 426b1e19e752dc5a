import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

// Reads the monitoring artefacts operators import (the Grafana dashboard, the Prometheus rules)
// and the docs, and pulls out the PromQL expressions and metric names they use, so that tests
// can hold them against promtool and against a live server's /metrics.

export const ROOT = join(import.meta.dirname, '..', '..');
export const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'registry-edge.json');
export const RULES = join(ROOT, 'deploy', 'prometheus', 'rules.yaml');
export const RULES_TEST = join(ROOT, 'deploy', 'prometheus', 'rules.test.yaml');
export const DOCS = ['docs/operations.md', 'docs/deploy.md'].map((file) => join(ROOT, file));

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
  annotations: { list: Array<{ expr?: string; name: string }> };
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

export function readRules(): Array<{ name: string; rules: Rule[] }> {
  return (parseYaml(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
}

/** Every panel, rows' children included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every PromQL expression of the dashboard, named by where it is. */
export function dashboardExpressions(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  const fromPanels = allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `panel ${panel.id} "${panel.title}" target ${target.refId}`, expr: target.expr })),
  );
  const fromAnnotations = dashboard.annotations.list
    .filter((annotation) => annotation.expr !== undefined)
    .map((annotation) => ({ where: `annotation "${annotation.name}"`, expr: annotation.expr as string }));
  return [...fromPanels, ...fromAnnotations];
}

/**
 * Grafana's variables replaced by values Prometheus accepts, so that promtool can parse what
 * Grafana would send: `$job`/`$instance` become regexes, interval variables durations.
 */
export function grafanaToPromql(expr: string): string {
  return expr
    .replaceAll(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replaceAll(/\$\{?(job|instance)\}?/g, '.+');
}

/** Names of exported metrics in a PromQL expression (not recording rules, which carry colons). */
export function metricNames(text: string): string[] {
  const found = text.match(/(?<![\w:])(registry_edge_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+)(?![\w:])/g) ?? [];
  return [...new Set(found)].sort();
}

/** Recording-rule names (level:metric:operations) used in a text. */
export function recordingNames(text: string): string[] {
  return [...new Set(text.match(/(?<![\w:])registry_edge:[a-z0-9_]+:[a-z0-9_]+(?![\w:])/g) ?? [])].sort();
}

export function docsText(): string {
  return DOCS.map((file) => readFileSync(file, 'utf8')).join('\n');
}
