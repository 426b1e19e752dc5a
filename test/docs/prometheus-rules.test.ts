import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardExpressions, grafanaToPromql, readDashboard, readRules, recordingNames, ROOT, RULES, RULES_TEST } from '../support/monitoring-artefacts.js';
import { promtool, runsWith, toolPath } from '../support/tools.js';

// The rules and the dashboard's queries are checked by Prometheus' own tool: promtool parses
// every expression, and its unit tests evaluate the alerts over synthetic series.

const run = promisify(execFile);
const tool = promtool();

async function promtoolRun(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(toolPath(tool), args, { timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe.runIf(runsWith(tool))('deploy/prometheus/rules.yaml with promtool', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'registry-edge-promtool-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('promtool check rules accepts every rule', async () => {
    const groups = readRules();
    const count = groups.reduce((sum, group) => sum + group.rules.length, 0);
    const { code, output } = await promtoolRun('check', 'rules', RULES);
    expect(output).toContain(`SUCCESS: ${count} rules found`);
    expect(code).toBe(0);
  });

  it('promtool test rules: every alert fires from its synthetic series and stays silent without them', async () => {
    const { code, output } = await promtoolRun('test', 'rules', RULES_TEST);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('every alert has a unit test that expects it to fire and one that expects silence', async () => {
    const tests = parseYaml(await readFile(RULES_TEST, 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const checks = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    const alerts = new Set(readRules().flatMap((group) => group.rules.map((rule) => rule.alert).filter((name): name is string => name !== undefined)));
    expect(alerts.size).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) {
      expect(checks.some((check) => check.alertname === alert && check.exp_alerts.length > 0), `${alert} fires somewhere`).toBe(true);
      expect(checks.some((check) => check.alertname === alert && check.exp_alerts.length === 0), `${alert} is silent somewhere`).toBe(true);
    }
  });

  it('the unit tests fail when a threshold moves (they can catch a broken rule)', async () => {
    const rules = await readFile(RULES, 'utf8');
    const broken = rules.replace('registry_edge:blob_origin_ratio:rate5m > 0.2', 'registry_edge:blob_origin_ratio:rate5m > 0.5');
    expect(broken).not.toBe(rules);
    await writeFile(join(scratch, 'rules.yaml'), broken);
    await copyFile(RULES_TEST, join(scratch, 'rules.test.yaml'));
    const { code, output } = await promtoolRun('test', 'rules', join(scratch, 'rules.test.yaml'));
    expect(code).not.toBe(0);
    expect(output).toContain('alertname: RegistryEdgeOriginFallbackRatioHigh');
  });

  it('every dashboard expression parses (a rules file made of them passes promtool check rules)', async () => {
    const expressions = dashboardExpressions(readDashboard());
    expect(expressions.length).toBeGreaterThan(20);
    const rules = expressions.map(({ expr }, index) => ({ record: `dashboard:expression_${index}:check`, expr: grafanaToPromql(expr) }));
    const file = join(scratch, 'dashboard-rules.yaml');
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const { code, output } = await promtoolRun('check', 'rules', file);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(code).toBe(0);

    // The same check refuses a broken expression, so it is a real check.
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules: [...rules, { record: 'dashboard:broken:check', expr: 'sum by (kind (registry_edge_requests_total)' }] }] }));
    expect((await promtoolRun('check', 'rules', file)).code).not.toBe(0);
  });
});

describe('dashboard and rules agree', () => {
  it('every recording rule the dashboard reads is defined in rules.yaml', () => {
    const recorded = new Set(readRules().flatMap((group) => group.rules.map((rule) => rule.record).filter((name) => name !== undefined)));
    const used = recordingNames(dashboardExpressions(readDashboard()).map(({ expr }) => expr).join('\n'));
    expect(used.length).toBeGreaterThan(3);
    for (const name of used) expect(recorded, name).toContain(name);
  });

  it('every alert says how bad it is and what to do', () => {
    for (const rule of readRules().flatMap((group) => group.rules).filter((entry) => entry.alert !== undefined)) {
      const alert = rule as { labels?: { severity?: string }; annotations?: { summary?: string; description?: string } };
      expect(['warning', 'critical'], rule.alert).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary, rule.alert).toBeTruthy();
      expect(alert.annotations?.description, rule.alert).toBeTruthy();
    }
  });
});

describe('the PrometheusRule that docs/operations.md makes from rules.yaml', () => {
  it('is a valid PrometheusRule carrying exactly the rules file', async () => {
    const docs = await readFile(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const line = docs.split('\n').find((entry) => entry.startsWith("{ printf 'apiVersion: monitoring.coreos.com/v1"));
    expect(line, 'the PrometheusRule one-liner in docs/operations.md').toBeDefined();
    const [generator, apply] = (line as string).split(' | ');
    expect(apply).toBe('kubectl -n registry-edge apply -f -');
    const { stdout } = await run('bash', ['-c', generator as string], { cwd: ROOT });
    const resource = parseYaml(stdout) as { kind: string; spec: unknown };
    expect(resource.kind).toBe('PrometheusRule');
    expect(resource.spec).toEqual({ groups: readRules() });

    const scratch = await mkdtemp(join(tmpdir(), 'registry-edge-prometheusrule-'));
    try {
      const file = join(scratch, 'prometheusrule.yaml');
      await writeFile(file, stdout);
      const result = await run(process.execPath, [join(ROOT, 'deploy', 'validate-manifests.mjs'), file], { cwd: ROOT });
      expect(result.stdout).toContain('1 valid, 0 invalid');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
