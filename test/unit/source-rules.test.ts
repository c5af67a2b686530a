import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROVIDER_FACTORIES } from '../../src/providers/registry.js';

/**
 * House rules checked on the source tree. C53 (SEMANTICS S1): no global `fetch`, `node:http(s)` request functions or
 * direct `undici` use outside the guarded client (provider clients for operator-configured base URLs will join
 * the allow-list). Config discipline: `process.env` only in src/config/ (the launcher in bin/ included). Layering
 * (issue 9): imports point down the layers only, only the composition points and the workflows import src/deps.ts,
 * and no provider id is written as a string outside src/providers/.
 */
const ROOT = join(import.meta.dirname, '..', '..', 'src');
/** The launcher (plain JavaScript): held to the environment rule too. */
const BIN = join(import.meta.dirname, '..', '..', 'bin');
const OUTBOUND_ALLOWED = new Set(['providers/shared/safe-fetch.ts', 'providers/shared/url-policy.ts', 'providers/shared/http.ts', 'providers/shared/http-stream.ts']);

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Import direction (issue 9: http → workflows → modules → providers/db/lib). A file's layer is its top folder under
 * src/ (`deps` and `main` for src/deps.ts and src/main.ts); it may import its own layer and the layers listed here,
 * nothing else — type-only imports included, since they tie a layer to another's shapes just the same.
 *
 * - `main` (src/main.ts, the process entry and CLI) may import anything.
 * - `http` and `worker` are the two entry adapters (requests, background loops): they drive workflows and may
 *   use everything below, never each other.
 * - `deps` (src/deps.ts, the composition root) builds the services: modules and what they stand on. It must not
 *   import workflows (a stateful service kept there, like the channel router, is in the wrong layer), http or the
 *   worker. Workflows may import it (the services' type, for their `Pick<Deps, …>` declarations); of the entry
 *   adapters only src/http/server.ts does (MAY_IMPORT_DEPS below).
 * - `config` sits with `lib` at the bottom: every layer reads it, so it imports nothing above it.
 */
const BASE_LAYERS = ['providers', 'db', 'lib', 'config'];
const MAY_IMPORT: Record<string, readonly string[] | 'anything'> = {
  main: 'anything',
  http: ['workflows', 'deps', 'modules', ...BASE_LAYERS],
  worker: ['workflows', 'modules', ...BASE_LAYERS],
  workflows: ['deps', 'modules', ...BASE_LAYERS],
  deps: ['modules', ...BASE_LAYERS],
  modules: BASE_LAYERS,
  providers: BASE_LAYERS,
  db: BASE_LAYERS,
  lib: BASE_LAYERS,
  config: BASE_LAYERS,
};

/**
 * Who may import src/deps.ts (issue 9: the composition root is the only place that knows them all). src/deps.ts
 * builds the bag, src/main.ts creates it, src/http/server.ts (the HTTP composition point) hands it to the routes.
 * Every route, plugin and the worker declares the narrow set it uses, composed from the workflow, plugin and module
 * types (`CreateTaskDeps & ApiKeyAuthDeps & { media: MediaService }`); the workflows declare theirs as
 * `Pick<Deps, …>`, so they may import the type — but not hand it on (a re-export would reopen the bag to everyone).
 */
const DEPS_FILE = 'deps.ts';
const MAY_IMPORT_DEPS = new Set([DEPS_FILE, 'main.ts', join('http', 'server.ts')]);

function mayImportDeps(path: string): boolean {
  return MAY_IMPORT_DEPS.has(path) || path.startsWith(`workflows${sep}`);
}

function layerOf(path: string): string {
  const [top] = path.split(sep);
  return path.includes(sep) ? top! : top!.replace(/\.ts$/, '');
}

/** Parsed with the TypeScript compiler itself, so strings, comments, templates and regular expressions are told apart. */
function parse(path: string, text: string): ts.SourceFile {
  return ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** Every relative module specifier of a file: imports, re-exports, side-effect imports, dynamic `import()`. */
function relativeImports(source: ts.SourceFile): string[] {
  const specifiers: string[] = [];
  walk(source, (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      specifiers.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specifiers.push(node.argument.literal.text);
    }
  });
  return specifiers.filter((specifier) => specifier.startsWith('.'));
}

/** The source file (relative to src/, `.ts`) a relative specifier of `path` points at. */
function importTarget(path: string, specifier: string): string {
  return relative(ROOT, resolve(ROOT, dirname(path), specifier)).replace(/\.js$/, '.ts');
}

/** Where a file hands the `Deps` type on: re-exports from src/deps.ts, `export { Deps }`, `export type X = Deps`. */
function depsReexports(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const line = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  walk(source, (node) => {
    if (ts.isExportDeclaration(node)) {
      const fromDeps = node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text.startsWith('.') && importTarget(source.fileName, node.moduleSpecifier.text) === DEPS_FILE;
      const namesDeps = node.exportClause && ts.isNamedExports(node.exportClause) && node.exportClause.elements.some((element) => (element.propertyName ?? element.name).text === 'Deps');
      if (fromDeps || namesDeps) found.push(`${source.fileName}:${line(node)}`);
    } else if (ts.isTypeAliasDeclaration(node) && node.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword) && ts.isTypeReferenceNode(node.type) && node.type.typeName.getText(source) === 'Deps' && !node.type.typeArguments) {
      found.push(`${source.fileName}:${line(node)}`);
    }
  });
  return found;
}

/** String literals (quoted, and templates without substitutions, in values and in types) with their line. */
function stringLiterals(source: ts.SourceFile): Array<{ value: string; line: number }> {
  const found: Array<{ value: string; line: number }> = [];
  walk(source, (node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      found.push({ value: node.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  });
  return found;
}

describe('source rules', () => {
  const files = sourceFiles(ROOT).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it('C53: outbound HTTP only through the guarded client', () => {
    const offenders = files
      .filter((file) => !OUTBOUND_ALLOWED.has(file.path))
      .filter((file) =>
        /(^|[^.\w])fetch\s*\(/m.test(file.text) ||
        /from ['"](node:)?https?['"]/.test(file.text) ||
        /from ['"]undici['"]/.test(file.text) ||
        /\bhttps?\.(request|get)\s*\(/.test(file.text),
      )
      .map((file) => file.path);
    expect(offenders).toEqual([]);
  });

  it('reads process.env only in src/config/, the launcher in bin/ included', () => {
    const launcher = readdirSync(BIN).filter((name) => /\.m?js$/.test(name)).map((name) => ({ path: `../bin/${name}`, text: readFileSync(join(BIN, name), 'utf8') }));
    expect(launcher.length).toBeGreaterThan(3);
    const offenders = [...files, ...launcher].filter((file) => !file.path.startsWith('config/') && /process\.env/.test(file.text)).map((file) => file.path);
    expect(offenders).toEqual([]);
  });

  it('keeps every source file under 500 lines', () => {
    const long = files.filter((file) => file.text.split('\n').length > 500).map((file) => file.path);
    expect(long).toEqual([]);
  });

  it('imports point down the layers: http → workflows → modules → providers/db/lib (deps.ts builds services only)', () => {
    const layers = new Set(files.map((file) => layerOf(file.path)));
    // Every layer in src/ has a rule, so a new top-level folder is placed deliberately.
    expect([...layers].filter((layer) => !(layer in MAY_IMPORT))).toEqual([]);
    const offenders: string[] = [];
    let checked = 0;
    for (const file of files) {
      const from = layerOf(file.path);
      const allowed = MAY_IMPORT[from]!;
      for (const specifier of relativeImports(parse(file.path, file.text))) {
        const target = importTarget(file.path, specifier);
        checked += 1;
        if (allowed === 'anything') continue;
        const to = target.startsWith('..') ? 'outside src/' : layerOf(target);
        if (to !== from && !allowed.includes(to)) offenders.push(`${file.path} → ${target} (${from} may not import ${to})`);
      }
    }
    expect(checked).toBeGreaterThan(300);
    expect(offenders).toEqual([]);
  });

  it('only src/deps.ts, src/main.ts, src/http/server.ts and the workflows import src/deps.ts (issue 9), and none hands Deps on', () => {
    const importers: string[] = [];
    const offenders: string[] = [];
    for (const file of files) {
      if (file.path === DEPS_FILE) continue;
      if (!relativeImports(parse(file.path, file.text)).some((specifier) => importTarget(file.path, specifier) === DEPS_FILE)) continue;
      importers.push(file.path);
      if (!mayImportDeps(file.path)) offenders.push(file.path);
    }
    // The rule sees the imports it is about: the entry point, the HTTP composition point and the workflows' Picks.
    expect(importers).toEqual(expect.arrayContaining(['main.ts', join('http', 'server.ts'), join('workflows', 'create-task.ts')]));
    expect(offenders).toEqual([]);
    // Re-exports are found in every form, and a narrowed `Pick<Deps, …>` is not one.
    const sample = parse(join('workflows', 'sample.ts'), "export type { Deps } from '../deps.js';\nexport * from '../deps.js';\nimport type { Deps } from '../deps.js';\nexport { type Deps as All };\nexport type Bag = Deps;\nexport type Narrow = Pick<Deps, 'clock'>;\n");
    expect(depsReexports(sample)).toEqual([1, 2, 4, 5].map((line) => `${join('workflows', 'sample.ts')}:${line}`));
    expect(files.filter((file) => file.path !== DEPS_FILE).flatMap((file) => depsReexports(parse(file.path, file.text)))).toEqual([]);
  });

  it('no provider id is written as a string outside src/providers/ (the registry is the one list)', () => {
    const ids = Object.keys(PROVIDER_FACTORIES);
    expect(ids).toEqual(expect.arrayContaining(['sandbox', 'ark', 'xai', 'dashscope', 'openai', 'newapi', 'suno', 'openai-compatible']));
    // Literals of every quoting style are found, in code and in types; comments and regular expressions are not strings.
    const sample = parse('sample.ts', "type T = 'xai';\na === 'ark'; // 'suno'\n/* 'dashscope' */ b(\"sandbox\", `openai`, `x${'newapi'}y`, /'suno'/);");
    expect(stringLiterals(sample).map((found) => found.value)).toEqual(['xai', 'ark', 'sandbox', 'openai', 'newapi']);
    // The face names (modules/tasks/types.ts FACES) equal two provider ids by coincidence; they are spelled there only.
    const FACE_NAMES_FILE = join('modules', 'tasks', 'types.ts');
    const offenders = files
      .filter((file) => !file.path.startsWith(`providers${sep}`))
      .flatMap((file) => stringLiterals(parse(file.path, file.text)).filter((literal) => ids.includes(literal.value) && !(file.path === FACE_NAMES_FILE && ['openai', 'newapi'].includes(literal.value))).map((literal) => `${file.path}:${literal.line} '${literal.value}'`));
    expect(offenders).toEqual([]);
  });
});
