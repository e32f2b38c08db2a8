import { parseDocument, ParseError, type ParseInput } from '../src/index.js';

/** The ParseError parseDocument rejects `input` with; fails the test when it parses or throws anything else. */
export async function parseError(input: ParseInput): Promise<ParseError> {
  try {
    await parseDocument(input);
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
  throw new Error(`expected ${input.name} to be rejected`);
}
