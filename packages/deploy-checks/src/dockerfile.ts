import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';

export interface DockerfileFinding {
  line: number;
  rule: string;
  severity: 'error' | 'warning';
  message: string;
}

/** Options of lintDockerfile. */
export interface DockerfileLintOptions {
  /** build args as `docker build --build-arg` would pass them; default: none (ARG defaults apply) */
  buildArgs?: Record<string, string>;
}

const ROOT_USERS = new Set(['root', '0', '0:0', 'root:root']);

/** `${NAME}`, `${NAME:-x}` and `$NAME` resolved against the ARG values known at that point. */
function expand(text: string, args: Map<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_w, a?: string, def?: string, b?: string) => {
    const v = args.get((a ?? b)!);
    return v === undefined || v === '' ? (def ?? '') : v;
  });
}

/** The tag of an image reference (undefined when untagged and not pinned by digest). */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? undefined : noDigest.slice(colon + 1);
}

/**
 * Lints a Dockerfile: syntax and instruction problems found by dockerfile-utils (the linter of the
 * Dockerfile language server), plus Ragline's image rules: multi-stage, every base image tagged (not
 * `latest`) or pinned by digest, the final stage runs as a non-root USER, declares a HEALTHCHECK and
 * STOPSIGNAL SIGTERM.
 */
export function lintDockerfile(text: string, options: DockerfileLintOptions = {}): DockerfileFinding[] {
  const out: DockerfileFinding[] = [];
  for (const d of validate(text)) {
    out.push({
      line: d.range.start.line + 1,
      rule: `dockerfile-utils/${String(d.code ?? 'syntax')}`,
      severity: d.severity === ValidationSeverity.ERROR ? 'error' : 'warning',
      message: typeof d.message === 'string' ? d.message : d.message.value,
    });
  }
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  // ARGs before the first FROM are the ones FROM lines may use
  for (const a of dockerfile.getInitialARGs()) {
    const p = a.getProperty();
    if (p) args.set(p.getName(), options.buildArgs?.[p.getName()] ?? p.getUnescapedValue() ?? '');
  }
  const froms = dockerfile.getFROMs();
  const stageNames = new Set(froms.map((f) => f.getBuildStage()).filter((s): s is string => Boolean(s)));
  const line = (i: Instruction) => i.getRange().start.line + 1;
  if (froms.length < 2) out.push({ line: 1, rule: 'multi-stage', severity: 'error', message: 'expected a multi-stage build (a build stage and a runtime stage)' });
  for (const f of froms) {
    const raw = (f.getArgumentsContent() ?? '').split(/\s+/).find((w) => w && !w.startsWith('--')) ?? '';
    const image = expand(raw, args);
    if (stageNames.has(image)) continue;
    const pinned = image.includes('@sha256:');
    const tag = imageTag(image);
    if (!pinned && (tag === undefined || tag === 'latest')) {
      out.push({ line: line(f), rule: 'no-latest', severity: 'error', message: `base image "${image}" must have an explicit tag other than latest, or a digest` });
    }
  }
  const last = froms.at(-1);
  const finalStage = last ? dockerfile.getInstructions().filter((i) => i.getRange().start.line >= last.getRange().start.line) : [];
  const users = finalStage.filter((i) => i.getKeyword() === 'USER');
  const user = users.at(-1)?.getArgumentsContent()?.trim();
  if (!user) out.push({ line: last ? line(last) : 1, rule: 'non-root-user', severity: 'error', message: 'the final stage must switch to a non-root USER' });
  else if (ROOT_USERS.has(user)) out.push({ line: line(users.at(-1)!), rule: 'non-root-user', severity: 'error', message: `final USER is ${user}` });
  const health = finalStage.filter((i) => i.getKeyword() === 'HEALTHCHECK');
  if (!health.length || /^NONE$/i.test(health.at(-1)!.getArgumentsContent()?.trim() ?? '')) {
    out.push({ line: last ? line(last) : 1, rule: 'healthcheck', severity: 'error', message: 'the final stage must declare a HEALTHCHECK' });
  }
  const stop = finalStage.filter((i) => i.getKeyword() === 'STOPSIGNAL').at(-1);
  if (stop?.getArgumentsContent()?.trim() !== 'SIGTERM') {
    out.push({ line: stop ? line(stop) : 1, rule: 'stopsignal', severity: 'error', message: 'the final stage must declare STOPSIGNAL SIGTERM (the apps drain on it)' });
  }
  return out;
}
