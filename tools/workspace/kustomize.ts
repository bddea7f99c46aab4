import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * Renders a kustomization the way `kubectl kustomize` would, for the subset of features k8s/ uses.
 * There is no kustomize binary on these machines; anything outside that subset throws, so a manifest
 * cannot silently escape the checks.
 */
export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'labels', 'images', 'replicas', 'patches']);

interface Kustomization {
  namespace?: string;
  resources?: string[];
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  replicas?: Array<{ name: string; count: number }>;
  patches?: Array<{ path: string }>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
    return document.toJS() as unknown;
  }).filter((value) => value !== null);
}

function asManifest(value: unknown, file: string): Manifest {
  if (!isRecord(value) || typeof value['apiVersion'] !== 'string' || typeof value['kind'] !== 'string' || !isRecord(value['metadata']) || typeof value['metadata']['name'] !== 'string') {
    throw new Error(`${file}: every document needs apiVersion, kind and metadata.name`);
  }
  return value as Manifest;
}

/**
 * Strategic merge, simplified: maps merge key by key; lists whose items all carry `name` merge item by
 * item on it (containers, env, ports, volumes); any other list is replaced, as Kubernetes does for lists
 * without a merge key (Ingress rules, tls).
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isRecord(base) && isRecord(patch)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch)) merged[key] = key in base ? strategicMerge(base[key], value) : value;
    return merged;
  }
  const named = (list: unknown[]): list is Array<Record<string, unknown> & { name: string }> => list.length > 0 && list.every((item) => isRecord(item) && typeof item['name'] === 'string');
  if (Array.isArray(base) && Array.isArray(patch) && named(base) && named(patch)) {
    const merged = base.map((item) => {
      const match = patch.find((candidate) => candidate.name === item.name);
      return match ? strategicMerge(item, match) : item;
    });
    for (const item of patch) if (!base.some((existing) => existing.name === item.name)) merged.push(item);
    return merged;
  }
  return patch;
}

function podSpecOf(manifest: Manifest): Record<string, unknown> | null {
  const spec = manifest['spec'];
  if (!isRecord(spec) || !isRecord(spec['template']) || !isRecord(spec['template']['spec'])) return null;
  return spec['template']['spec'];
}

export function containersOf(manifest: Manifest): Array<Record<string, unknown>> {
  const podSpec = podSpecOf(manifest);
  return Array.isArray(podSpec?.['containers']) ? (podSpec['containers'] as Array<Record<string, unknown>>) : [];
}

export function renderKustomization(directory: string): Manifest[] {
  const file = join(directory, 'kustomization.yaml');
  const [document] = readYamlDocuments(file);
  if (!isRecord(document)) throw new Error(`${file}: not a kustomization`);
  const unsupported = Object.keys(document).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) throw new Error(`${file}: this renderer does not implement ${unsupported.join(', ')}`);
  const kustomization = document as Kustomization;

  let manifests: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = resolve(directory, resource);
    if (statSync(path).isDirectory()) manifests.push(...renderKustomization(path));
    else manifests.push(...readYamlDocuments(path).map((value) => asManifest(value, path)));
  }
  for (const { path } of kustomization.patches ?? []) {
    const patchFile = resolve(directory, path);
    for (const patch of readYamlDocuments(patchFile).map((value) => asManifest(value, patchFile))) {
      const index = manifests.findIndex((manifest) => manifest.kind === patch.kind && manifest.metadata.name === patch.metadata.name);
      if (index < 0) throw new Error(`${patchFile}: patch for ${patch.kind}/${patch.metadata.name} matches no resource`);
      manifests[index] = strategicMerge(manifests[index], patch) as Manifest;
    }
  }
  for (const { name, count } of kustomization.replicas ?? []) {
    const index = manifests.findIndex((manifest) => manifest.kind === 'Deployment' && manifest.metadata.name === name);
    if (index < 0) throw new Error(`${file}: replicas for ${name} matches no Deployment`);
    manifests[index] = strategicMerge(manifests[index], { spec: { replicas: count } }) as Manifest;
  }
  for (const image of kustomization.images ?? []) {
    for (const manifest of manifests) {
      for (const container of containersOf(manifest)) {
        const [repository, tag] = String(container['image']).split(':');
        if (repository !== image.name) continue;
        container['image'] = `${image.newName ?? repository}:${image.newTag ?? tag ?? 'latest'}`;
      }
    }
  }
  for (const { pairs, includeSelectors } of kustomization.labels ?? []) {
    if (includeSelectors) throw new Error(`${file}: labels with includeSelectors are not implemented`);
    manifests = manifests.map((manifest) => strategicMerge(manifest, { metadata: { labels: pairs } }) as Manifest);
  }
  if (kustomization.namespace !== undefined) {
    const namespace = kustomization.namespace;
    manifests = manifests.map((manifest) => strategicMerge(manifest, { metadata: { namespace } }) as Manifest);
  }
  return manifests;
}

export function kustomizationDirectory(...parts: string[]): string {
  return resolve(dirname(new URL(import.meta.url).pathname), '..', '..', 'k8s', ...parts);
}
