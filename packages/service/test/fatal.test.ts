import { describe, expect, it } from 'vitest';
import { describeFatal } from '../src/index.js';

describe('describeFatal', () => {
  it('keeps messages of the error and its causes, drops other properties, redacts secrets', () => {
    const cause = Object.assign(new Error('WRONGPASS for redis://:s3cret-pw@h:1'), { name: 'ReplyError', command: { name: 'auth', args: ['s3cret-pw'] } });
    const err = new Error('XGROUP CREATE failed with s3cret-pw', { cause });
    const d = describeFatal(err, ['s3cret-pw']);
    expect(d.message).toBe('XGROUP CREATE failed with [redacted]');
    expect(d.causes).toEqual(['ReplyError: WRONGPASS for redis://:[redacted]@h:1']);
    expect(JSON.stringify(d)).not.toContain('s3cret-pw');
    expect(JSON.stringify(d)).not.toContain('command');
  });
});
