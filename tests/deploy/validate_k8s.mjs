// Validates Kubernetes objects against the Kubernetes OpenAPI schemas, offline.
//
// The schemas come from the npm packages of kubernetes-models-ts: `kubernetes-models` (every
// built-in kind, generated from the Kubernetes OpenAPI spec), `@kubernetes-models/keda` and
// `@kubernetes-models/prometheus-operator` (generated from those projects' published CRDs). Each
// kind ships as an ajv validator compiled from its JSON schema, so this checks types, required
// fields, enums and formats. Like the API server's OpenAPI, those schemas allow unknown fields.
//
// Usage: node validate_k8s.mjs NODE_MODULES_DIR < objects.json
//   objects.json: [{"source": "where it came from", "object": {...}}, ...]
// Prints one line per object; exits 1 if any object is invalid or of a kind with no schema.
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modulesDir = process.argv[2];
if (!modulesDir) {
  console.error('usage: node validate_k8s.mjs NODE_MODULES_DIR < objects.json');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modulesDir), 'noop.js'));

// apiVersion group -> package that holds its models.
const thirdParty = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

async function modelFor(apiVersion, kind) {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const pkg = thirdParty[group] ?? 'kubernetes-models';
  const dir = path.dirname(require.resolve(`${pkg}/package.json`));
  // Packages ship ES modules as .mjs (or .js in "type": "module" packages).
  let modelPath = path.join(dir, apiVersion, `${kind}.mjs`);
  if (!existsSync(modelPath)) modelPath = path.join(dir, apiVersion, `${kind}.js`);
  if (!existsSync(modelPath)) throw new Error(`${pkg} has no ${apiVersion} ${kind}`);
  const mod = await import(pathToFileURL(modelPath).href);
  const Model = mod[kind];
  if (typeof Model !== 'function') throw new Error(`${modelPath} has no model ${kind}`);
  return Model;
}

const items = JSON.parse(readFileSync(0, 'utf8'));
let failures = 0;
for (const { source, object } of items) {
  const id = `${source}: ${object?.kind ?? '?'}/${object?.metadata?.name ?? '?'} (${object?.apiVersion ?? '?'})`;
  let Model;
  try {
    Model = await modelFor(object.apiVersion, object.kind);
  } catch (e) {
    console.log(`FAIL ${id}: no schema for this kind (${e.message.split('\n')[0]})`);
    failures++;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`ok   ${id}`);
  } catch (e) {
    console.log(`FAIL ${id}: ${e.message}`);
    failures++;
  }
}
console.log(`${items.length - failures} valid, ${failures} invalid`);
process.exit(failures ? 1 : 0);
