export { DeployFileError } from './errors.js';
export { parseYamlDocuments, readYamlDocuments, listFiles } from './yaml.js';
export { composeSchemaPath, interpolateCompose, validateCompose, loadCompose, type SchemaProblem } from './compose.js';
export {
  validateKubernetesObject,
  supportedKinds,
  kustomizationFile,
  kustomizationReferences,
  kustomizationObjects,
  type KubernetesObject,
  type Kustomization,
} from './kubernetes.js';
export { lintDockerfile, imageTag, type DockerfileFinding, type DockerfileLintOptions } from './dockerfile.js';
export { checkAppDependencies, type AppDependencyProblem } from './app-deps.js';
