import { describe, expect, it } from 'vitest';
import { argon2Hasher, checkPasswordRules } from './passwords.ts';

describe('password rules', () => {
  it('refuses a password under 10 characters, counting characters, not bytes', () => {
    expect(() => checkPasswordRules('alice', 'short-pw9')).toThrow(/at least 10 characters; it has 9/);
    expect(() => checkPasswordRules('alice', '短密码短密码短密码')).toThrow(/it has 9/);
    expect(() => checkPasswordRules('alice', '短密码短密码短密码好')).not.toThrow();
  });

  it('refuses the username as the password, whatever its case', () => {
    expect(() => checkPasswordRules('Administrator', 'administrator')).toThrow(/must not be the username/);
    expect(() => checkPasswordRules('administrator', 'ADMINISTRATOR')).toThrow(/must not be the username/);
    expect(() => checkPasswordRules('administrator', 'administrator1')).not.toThrow();
  });

  it('refuses a password too long to be one', () => {
    expect(() => checkPasswordRules('alice', 'x'.repeat(1025))).toThrow(/at most 1024/);
  });

  it('hashes with argon2id and verifies only the right password; a malformed hash verifies nothing', async () => {
    const hasher = argon2Hasher({ memoryCost: 1024, timeCost: 1 });
    const h = await hasher.hash('correct horse battery');
    expect(h).toMatch(/^\$argon2id\$/);
    expect(h).not.toContain('correct horse');
    expect(await hasher.verify(h, 'correct horse battery')).toBe(true);
    expect(await hasher.verify(h, 'correct horse batterY')).toBe(false);
    expect(await hasher.verify('not-a-hash', 'correct horse battery')).toBe(false);
  });
});
