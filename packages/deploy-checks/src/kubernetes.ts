import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { SchemaProblem } from './compose.js';
import { readYamlDocuments } from './yaml.js';

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

// validators generated from the Kubernetes OpenAPI schema (kubernetes-models) and KEDA's CRD
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

export const supportedKinds = (): string[] => Object.keys(MODELS);

/** Validates one manifest against its kind's schema; an unsupported apiVersion/kind is a problem too. */
export function validateKubernetesObject(obj: unknown): SchemaProblem[] {
  const o = obj as Partial<KubernetesObject> | null;
  if (!o || typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
    return [{ path: '/', message: 'not a Kubernetes object (apiVersion and kind are required)' }];
  }
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return [{ path: '/', message: `no schema for ${o.apiVersion} ${o.kind}` }];
  try {
    new Model(o as never).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: { instancePath?: string; message?: string; params?: unknown }[] }).errors;
    if (!errors?.length) return [{ path: '/', message: (e as Error).message }];
    return errors.map((x) => ({ path: x.instancePath || '/', message: `${x.message ?? 'invalid'} ${JSON.stringify(x.params ?? {})}` }));
  }
}

export interface Kustomization {
  resources?: string[];
  patches?: { path?: string; patch?: string; target?: unknown }[];
  patchesStrategicMerge?: string[];
  configMapGenerator?: { name: string; files?: string[]; envs?: string[] }[];
  secretGenerator?: { name: string; files?: string[]; envs?: string[] }[];
  namespace?: string;
  [k: string]: unknown;
}

/** The kustomization file of a kustomize directory. */
export function kustomizationFile(dir: string): string | undefined {
  return ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
}

/**
 * Every file a kustomization (and, recursively, the kustomizations it includes) refers to, with
 * those that do not exist. Resources that are directories must hold a kustomization file.
 */
export function kustomizationReferences(dir: string): { kustomization: string; ref: string; path: string; exists: boolean }[] {
  const file = kustomizationFile(dir);
  if (!file) return [{ kustomization: dir, ref: '.', path: dir, exists: false }];
  const k = readYamlDocuments(file)[0] as Kustomization;
  const out: { kustomization: string; ref: string; path: string; exists: boolean }[] = [];
  const add = (ref: string) => {
    const path = resolve(dirname(file), ref.replace(/^[^=]+=/, ''));
    out.push({ kustomization: file, ref, path, exists: existsSync(path) });
  };
  for (const r of k.resources ?? []) {
    add(r);
    const path = resolve(dir, r);
    if (existsSync(path) && statSync(path).isDirectory()) out.push(...kustomizationReferences(path));
  }
  for (const p of k.patches ?? []) if (p.path) add(p.path);
  for (const p of k.patchesStrategicMerge ?? []) add(p);
  for (const g of [...(k.configMapGenerator ?? []), ...(k.secretGenerator ?? [])]) for (const f of [...(g.files ?? []), ...(g.envs ?? [])]) add(f);
  return out;
}

/**
 * The objects a kustomization's `resources` produce (recursively), without applying patches: what
 * the schema checks run over. Patch files are returned separately since they are partial objects.
 */
export function kustomizationObjects(dir: string): { file: string; object: KubernetesObject }[] {
  const file = kustomizationFile(dir);
  if (!file) return [];
  const k = readYamlDocuments(file)[0] as Kustomization;
  const out: { file: string; object: KubernetesObject }[] = [];
  for (const r of k.resources ?? []) {
    const path = resolve(dir, r);
    if (statSync(path).isDirectory()) out.push(...kustomizationObjects(path));
    else for (const object of readYamlDocuments(path)) out.push({ file: path, object: object as KubernetesObject });
  }
  return out;
}
