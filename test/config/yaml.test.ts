import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { scratch } from '../support/serve.js';

const dir = scratch('edge-config-yaml-');
afterAll(() => dir.cleanup());

async function yamlProblems(text: string): Promise<string[]> {
  try {
    await loadConfig(dir.file('config.yaml', text), {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('YAML syntax errors', () => {
  it('are shown whole: line, column, reason, and the line with a caret under the spot', async () => {
    expect(await yamlProblems('origin:\n  url: https://r.example\nlisten: { port: 8080 ]\n')).toEqual([
      [
        'not valid YAML at line 3, column 22: Flow map in block collection must be sufficiently indented and end with a }',
        '      3 | listen: { port: 8080 ]',
        '        |                      ^',
      ].join('\n'),
    ]);
  });

  it('show the line before when the error is found at the start of a line', async () => {
    expect(await yamlProblems('origin: { url: https://r.example }\norigin: { url: https://s.example }\n')).toEqual([
      [
        'not valid YAML at line 2, column 1: Map keys must be unique',
        '      1 | origin: { url: https://r.example }',
        '      2 | origin: { url: https://s.example }',
        '        | ^',
      ].join('\n'),
    ]);
  });

  it('are all reported, each with its own position', async () => {
    const found = await yamlProblems('a: 1\na: 2\nb:\n  c: 1\n d: 2\n');
    expect(found.map((problem) => problem.split('\n')[0])).toEqual([
      'not valid YAML at line 2, column 1: Map keys must be unique',
      'not valid YAML at line 5, column 1: All mapping items must start at the same column',
    ]);
  });

  it('put the caret under a tab-indented spot', async () => {
    expect((await yamlProblems('origin:\n\turl: x\n'))[0]).toContain('\n      2 | \turl: x\n        | ^');
  });

  it('an alias to no anchor is refused without a position', async () => {
    expect(await yamlProblems('origin: *nowhere\n')).toEqual(['not valid YAML: Unresolved alias (the anchor must be set before the alias): nowhere']);
  });
});
