// Reads one JSON string per line on stdin, writes its cl100k_base token count per line
// (the generator's stand-in for RAGFlow's num_tokens_from_string, which needs tiktoken).
import { createInterface } from 'node:readline';
import { countTokens } from '@ragline/tokenizer';

const rl = createInterface({ input: process.stdin });
for await (const line of rl) process.stdout.write(`${countTokens(JSON.parse(line))}\n`);
