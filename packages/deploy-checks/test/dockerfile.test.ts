import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageTag, lintDockerfile, listFiles } from '../src/index.js';
import { APPS, DEPLOY, ROOT } from './paths.js';

const dockerfiles = listFiles(DEPLOY, ['Dockerfile']);
const text = readFileSync(join(DEPLOY, 'docker', 'Dockerfile'), 'utf8');

describe('Dockerfiles lint', () => {
  it('there is one, shared by the apps', () => {
    expect(dockerfiles).toEqual([join(DEPLOY, 'docker', 'Dockerfile')]);
  });

  it.each(APPS)('APP=%s: no findings', (app) => {
    expect(lintDockerfile(text, { buildArgs: { APP: app } })).toEqual([]);
  });

  it('builds with pnpm from the lockfile and deploys prod dependencies only', () => {
    expect(text).toMatch(/pnpm install --frozen-lockfile/);
    expect(text).toMatch(/pnpm turbo run build --filter "@ragline\/\$\{APP\}\.\.\."/);
    expect(text).toMatch(/deploy --legacy --prod \/out/);
    expect(text).toMatch(/^USER node$/m);
  });

  it('every COPY source from the build context exists and is not excluded by .dockerignore', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const sources = [...text.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(5);
    for (const s of sources) {
      expect(existsSync(join(ROOT, s)), s).toBe(true);
      const top = s.split('/')[0]!;
      const excluded = ignore.includes(top) && !ignore.includes(`!${s}`);
      expect(excluded, `${s} is excluded by .dockerignore`).toBe(false);
    }
  });

  it('.dockerignore keeps build output, dependencies and local data out of the context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
    for (const p of ['**/node_modules', '**/dist', '**/.ragline-data', '**/test-results.json', '.git']) expect(ignore).toContain(p);
  });

  it('flags root users, latest or missing tags, single stages and missing HEALTHCHECK or STOPSIGNAL', () => {
    const bad = 'FROM node:latest\nRUN echo hi\nUSER root\nCMD ["node"]\n';
    const rules = lintDockerfile(bad).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['multi-stage', 'no-latest', 'non-root-user', 'healthcheck', 'stopsignal']));
    const untagged = 'ARG BASE=node\nFROM ${BASE} AS a\nFROM a\nUSER node\nHEALTHCHECK CMD true\nSTOPSIGNAL SIGTERM\n';
    expect(lintDockerfile(untagged).map((f) => f.rule)).toEqual(['no-latest']);
    expect(lintDockerfile(untagged, { buildArgs: { BASE: 'node:20-bookworm-slim' } })).toEqual([]);
    expect(lintDockerfile('FROM node:20\nFROM node:20\nUSER node\nHEALTHCHECK NONE\nSTOPSIGNAL SIGTERM\n').map((f) => f.rule)).toEqual(['healthcheck']);
  });

  it('reports syntax problems from the Dockerfile language service', () => {
    const findings = lintDockerfile('FROM node:20 AS a\nFROM a\nUSER node\nHEALTHCHECK CMD true\nSTOPSIGNAL SIGTERM\nEXPOSE notaport\n');
    expect(findings.some((f) => f.rule.startsWith('dockerfile-utils/') && f.line === 6)).toBe(true);
  });

  it('reads image tags', () => {
    expect(imageTag('node:20-bookworm-slim')).toBe('20-bookworm-slim');
    expect(imageTag('localhost:5000/node')).toBeUndefined();
    expect(imageTag('quay.io/minio/minio:RELEASE.2025')).toBe('RELEASE.2025');
  });
});
