import { describe, expect, it } from 'vitest';
import { ArchiveError, ConfigError, CryptoError, NotFoundError, ValidationError } from '../errors/errors.ts';
import { exitCodeOf } from './exit-codes.ts';

describe('exitCodeOf', () => {
  it('asks for a change of input or settings with 2, names a missing thing with 3, and fails with 1 otherwise', () => {
    expect(exitCodeOf(new ConfigError('bad setting'))).toBe(2);
    expect(exitCodeOf(new ValidationError('OPTION_INVALID', 'bad option'))).toBe(2);
    expect(exitCodeOf(new ArchiveError('NO_CORPS', 'no corps', { kind: 'invalid' }))).toBe(2);
    expect(exitCodeOf(new NotFoundError('CORP_NOT_FOUND', 'no such corp'))).toBe(3);
    expect(exitCodeOf(new CryptoError('RSA_DECRYPT_FAILED', 'failed'))).toBe(1);
    expect(exitCodeOf(new ArchiveError('DATABASE_UNREACHABLE', 'down'))).toBe(1);
  });
});
