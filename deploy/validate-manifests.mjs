#!/usr/bin/env node
// Validates the deployment manifests offline, in two passes, and exits non-zero on any problem:
//
//  1. schema: every document against the JSON schema of its apiVersion/kind, generated from the
//     official Kubernetes OpenAPI document (kubernetes-models), the Knative Serving CRDs
//     (@kubernetes-models/knative) or the Prometheus Operator CRDs
//     (@kubernetes-models/prometheus-operator). Catches wrong types, missing required fields, bad enums.
//  2. strict: the same documents type-checked by the TypeScript compiler against those
//     packages' declarations. OpenAPI schemas allow unknown fields, and the API server drops
//     them silently, so a misspelt field (`replica:`) would otherwise pass; TypeScript's
//     excess-property check rejects it, like `kubectl apply --validate=strict` would.
//
// kubectl cannot do either without a cluster: client-side validation downloads the OpenAPI
// document from the API server.
//
// Usage: node deploy/validate-manifests.mjs [FILE.yaml ...]
//        (no argument: every *.yaml in deploy/kubernetes, deploy/kubernetes/monitoring and
//        deploy/cloudrun)

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_DIRS = ['deploy/kubernetes', 'deploy/kubernetes/monitoring', 'deploy/cloudrun'];
// Searched in order; both lay models out as `<package>/<apiVersion>/<Kind>`.
const MODEL_PACKAGES = ['kubernetes-models', '@kubernetes-models/knative', '@kubernetes-models/prometheus-operator'];
// Guards the module specifier built from document fields against path tricks.
const API_VERSION = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

function defaultFiles() {
  return DEFAULT_DIRS.flatMap((dir) =>
    readdirSync(join(projectRoot, dir), { withFileTypes: true })
      .filter((entry) => entry.isFile() && (entry.name.endsWith('.yaml') || entry.name.endsWith('.yml')))
      .map((entry) => entry.name)
      .sort()
      .map((name) => join(projectRoot, dir, name)),
  );
}

/** Every non-empty YAML document of every file, or the parse errors. */
function readManifests(files, problems) {
  const manifests = [];
  for (const file of files) {
    const shown = relative(projectRoot, file);
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`${shown}: cannot read: ${error.message}`);
      continue;
    }
    parseAllDocuments(text).forEach((document, index) => {
      if (document.errors.length > 0) {
        for (const error of document.errors) problems.push(`${shown}: document ${index + 1}: ${error.message}`);
        return;
      }
      const value = document.toJS();
      if (value === null || value === undefined) return;
      manifests.push({ file: shown, index, value });
    });
  }
  return manifests;
}

function label(manifest) {
  const { value } = manifest;
  const name = value?.metadata?.name ?? '(unnamed)';
  return `${manifest.file}: ${value?.kind ?? '(no kind)'}/${name}`;
}

/** Finds the model for a document's apiVersion/kind; an unknown pair is an error, not a skip. */
async function resolveModel(manifest) {
  const { apiVersion, kind } = manifest.value ?? {};
  if (typeof apiVersion !== 'string' || !API_VERSION.test(apiVersion)) {
    return { error: `apiVersion ${JSON.stringify(apiVersion)} is missing or malformed` };
  }
  if (typeof kind !== 'string' || !KIND.test(kind)) {
    return { error: `kind ${JSON.stringify(kind)} is missing or malformed` };
  }
  for (const pkg of MODEL_PACKAGES) {
    const specifier = `${pkg}/${apiVersion}/${kind}`;
    try {
      const module = await import(specifier);
      const Model = module[kind];
      if (typeof Model === 'function') return { Model, specifier, typeName: `I${kind}` };
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND' && error?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error;
    }
  }
  return { error: `no schema for ${apiVersion} ${kind} in ${MODEL_PACKAGES.join(' or ')}` };
}

function schemaProblems(Model, value) {
  try {
    new Model(value).validate();
    return [];
  } catch (error) {
    return String(error.message)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .map((line) => `schema: ${line}`);
  }
}

/** Deepest AST node that spans `position`. */
function nodeAt(node, position) {
  let found = node;
  ts.forEachChild(node, function visit(child) {
    if (child.getStart() <= position && position < child.getEnd()) {
      found = child;
      ts.forEachChild(child, visit);
    }
  });
  return found;
}

/** Keys and indices from a manifest's object literal down to `node`. */
function fieldPath(node) {
  const path = [];
  for (let current = node; current !== undefined && !ts.isVariableDeclaration(current); current = current.parent) {
    const parent = current.parent;
    if (ts.isPropertyAssignment(current)) {
      path.unshift(ts.isStringLiteral(current.name) ? current.name.text : current.name.getText());
    } else if (parent !== undefined && ts.isArrayLiteralExpression(parent)) {
      path.unshift(parent.elements.indexOf(current));
    }
  }
  return path;
}

function showPath(path) {
  return path.map((part, at) => (typeof part === 'number' ? `[${part}]` : at === 0 ? part : `.${part}`)).join('');
}

// Stands for "any value" in the generated source, so that a field already reported as wrong
// neither hides nor causes other problems in the next round.
const ANY = '\u0000any\u0000';
const ANY_SOURCE = JSON.stringify(ANY);
const EXCESS_PROPERTY = new Set([2353, 2561]);
const MISSING_PROPERTY = 2741;

function parentOf(value, path) {
  let parent = value;
  for (const part of path.slice(0, -1)) parent = parent?.[part];
  return parent !== null && typeof parent === 'object' ? parent : undefined;
}

/** Changes the document so that this problem is not reported again; false if it cannot. */
function neutralise(value, { code, path, message }) {
  if (code === MISSING_PROPERTY) {
    const name = /Property '"?([^'"]+)"?' is missing/.exec(message)?.[1];
    const target = path.length === 0 ? value : parentOf(value, path)?.[path[path.length - 1]];
    if (name === undefined || target === null || typeof target !== 'object') return false;
    target[name] = ANY;
    return true;
  }
  const parent = parentOf(value, path);
  if (path.length === 0 || parent === undefined) return false;
  const last = path[path.length - 1];
  if (EXCESS_PROPERTY.has(code) && !Array.isArray(parent)) delete parent[last];
  else parent[last] = ANY;
  return true;
}

/**
 * One TypeScript pass over all documents, held in a single in-memory file. TypeScript reports
 * at most one problem per declaration, so the result is at most one problem per document.
 */
function typeCheck(entries) {
  const lines = [];
  for (const entry of entries) {
    lines.push(`import type { ${entry.typeName} as T${entry.id} } from ${JSON.stringify(entry.specifier)};`);
  }
  for (const entry of entries) {
    const literal = JSON.stringify(entry.value, null, 2).replaceAll(ANY_SOURCE, '(null as any)');
    lines.push(`export const manifest${entry.id}: T${entry.id} = ${literal};`);
  }
  const source = `${lines.join('\n')}\n`;
  // Beside the project's node_modules so that module resolution finds the packages; it is
  // never written to disk.
  const virtualPath = join(projectRoot, 'deploy', '__manifests__.ts').replaceAll('\\', '/');
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options, true);
  const realGetSourceFile = host.getSourceFile.bind(host);
  const realFileExists = host.fileExists.bind(host);
  const realReadFile = host.readFile.bind(host);
  const virtualFile = ts.createSourceFile(virtualPath, source, ts.ScriptTarget.ES2022, true);
  host.getSourceFile = (fileName, ...rest) => (fileName === virtualPath ? virtualFile : realGetSourceFile(fileName, ...rest));
  host.fileExists = (fileName) => fileName === virtualPath || realFileExists(fileName);
  host.readFile = (fileName) => (fileName === virtualPath ? source : realReadFile(fileName));

  const program = ts.createProgram([virtualPath], options, host);
  const found = [];
  for (const diagnostic of [...program.getSyntacticDiagnostics(virtualFile), ...program.getSemanticDiagnostics(virtualFile)]) {
    const full = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    // TypeScript spells out whole anonymous types; the field path already says where.
    const message = full.length > 240 ? `${full.slice(0, 240)}...` : full;
    const node = diagnostic.start === undefined ? undefined : nodeAt(virtualFile, diagnostic.start);
    let declaration = node;
    while (declaration !== undefined && !ts.isVariableDeclaration(declaration)) declaration = declaration.parent;
    const id = declaration === undefined ? undefined : Number(declaration.name.getText().replace('manifest', ''));
    found.push({ id, code: diagnostic.code, path: node === undefined ? [] : fieldPath(node), message });
  }
  return found;
}

/**
 * Strict problems per document. To report every misspelt field rather than the first one,
 * each reported problem is neutralised in a copy (misspelt field removed, wrong or missing value
 * replaced by `any`) and the check runs again, a bounded number of times.
 */
function strictProblems(checked) {
  const byDocument = new Map(checked.map((entry) => [entry.id, []]));
  let pending = checked.map((entry) => ({ ...entry, value: JSON.parse(JSON.stringify(entry.value)) }));
  for (let round = 0; round < 25 && pending.length > 0; round += 1) {
    const found = typeCheck(pending);
    const again = new Set();
    for (const problem of found) {
      const { id, path, message } = problem;
      const text = `strict: ${path.length === 0 ? '' : `${showPath(path)}: `}${message}`;
      if (id === undefined || !byDocument.has(id)) {
        // A problem outside any manifest (a package that failed to load) fails them all.
        for (const list of byDocument.values()) list.push(text);
        return byDocument;
      }
      const list = byDocument.get(id);
      // The same report twice means neutralising did not help: stop checking that document.
      if (list.includes(text)) continue;
      list.push(text);
      const entry = pending.find((candidate) => candidate.id === id);
      if (entry !== undefined && neutralise(entry.value, problem)) again.add(id);
    }
    pending = pending.filter((entry) => again.has(entry.id));
  }
  return byDocument;
}

async function main(argv) {
  const files = argv.length > 0 ? argv.map((file) => resolve(file)) : defaultFiles();
  const problems = [];
  const manifests = readManifests(files, problems);
  if (manifests.length === 0 && problems.length === 0) problems.push(`no manifests found in ${files.length} file(s)`);

  const checked = [];
  const reports = [];
  for (const manifest of manifests) {
    const report = { label: label(manifest), problems: [] };
    reports.push(report);
    const model = await resolveModel(manifest);
    if (model.error !== undefined) {
      report.problems.push(model.error);
      continue;
    }
    report.problems.push(...schemaProblems(model.Model, manifest.value));
    checked.push({ id: checked.length, report, value: manifest.value, specifier: model.specifier, typeName: model.typeName });
  }
  for (const [id, list] of strictProblems(checked)) checked[id].report.problems.push(...list);

  for (const problem of problems) console.error(`FAIL ${problem}`);
  for (const report of reports) {
    if (report.problems.length === 0) console.log(`ok   ${report.label}`);
    else for (const problem of report.problems) console.error(`FAIL ${report.label}: ${problem}`);
  }
  const failed = problems.length + reports.filter((report) => report.problems.length > 0).length;
  console.log(`${reports.length - reports.filter((report) => report.problems.length > 0).length} valid, ${failed} invalid`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
