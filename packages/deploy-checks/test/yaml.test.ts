import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeployFileError, listFiles, parseYamlDocuments, readYamlDocuments } from '../src/index.js';
import { DEPLOY } from './paths.js';

describe('YAML under deploy/', () => {
  const files = listFiles(DEPLOY, ['.yaml', '.yml']);

  it('finds the compose file and both kustomizations', () => {
    const rel = files.map((f) => relative(DEPLOY, f));
    expect(rel).toContain('compose.yaml');
    expect(rel).toContain('k8s/base/kustomization.yaml');
    expect(rel).toContain('k8s/overlays/production/kustomization.yaml');
  });

  it.each(files.map((f) => [relative(DEPLOY, f), f]))('%s parses (every document)', (_rel, file) => {
    const docs = readYamlDocuments(file);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect(typeof d).toBe('object');
  });

  it('reads every document of a multi-document file and rejects broken YAML and duplicate keys', () => {
    expect(parseYamlDocuments('a: 1\n---\nb: 2\n---\n')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(() => parseYamlDocuments('a: [1, 2\n', 'x.yaml')).toThrow(DeployFileError);
    expect(() => parseYamlDocuments('a: 1\na: 2\n', 'x.yaml')).toThrow(/x\.yaml/);
  });

  it('applies merge keys the way Compose does', () => {
    expect(parseYamlDocuments('base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n')[0]).toEqual({ base: { x: 1, y: 2 }, c: { x: 1, y: 3 } });
  });
});
