export { PyFloat, pythonStr, pythonRepr, pythonFloatRepr, comparePython } from './python.js';
export { pythonJsonDumps, type JsonDumpsOptions } from './json.js';
export { utf8SurrogatePass } from './encode.js';
export { reviveFloats } from './floats.js';
