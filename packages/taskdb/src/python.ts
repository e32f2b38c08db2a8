export { PyFloat, pythonStr, pythonRepr, comparePython } from '@ragline/python-repr';
