import { describe, expect, it } from 'vitest';
import { ArchiveError, ConfigError, NotFoundError, ValidationError } from '../errors/errors.ts';
import { WeComApiError, WeComSdkError } from '../errors/wecom-codes.ts';
import { classifyPullError } from './retry-policy.ts';

describe('classifyPullError', () => {
  it('stops on errors only a change of input or configuration can fix, whatever their class', () => {
    expect(classifyPullError(new ConfigError('bad setting'))).toEqual({ action: 'stop', code: null });
    expect(classifyPullError(new ValidationError('PROXY_INVALID', 'bad proxy'))).toEqual({ action: 'stop', code: null });
    expect(classifyPullError(new ArchiveError('SDK_SPEC_INVALID', 'bad spec', { kind: 'invalid' }))).toEqual({ action: 'stop', code: null });
  });

  it('retries what may work on a later try', () => {
    expect(classifyPullError(new ArchiveError('DATABASE_UNREACHABLE', 'down', { httpStatus: 503 }))).toEqual({ action: 'retry', code: null });
    expect(classifyPullError(new NotFoundError('KEY_VERSION_NOT_FOUND', 'no key'))).toEqual({ action: 'retry', code: null });
    expect(classifyPullError(new Error('socket hang up'))).toEqual({ action: 'retry', code: null });
  });

  it('follows the WeCom code of SDK and API errors', () => {
    expect(classifyPullError(new WeComSdkError(10001, 'GetChatData'))).toEqual({ action: 'retry', code: 10001 });
    expect(classifyPullError(new WeComSdkError(10009, 'GetChatData'))).toEqual({ action: 'stop', code: 10009 });
    expect(classifyPullError(new WeComApiError(40001, 'GetChatData'))).toEqual({ action: 'stop', code: 40001 });
    expect(classifyPullError(new WeComApiError(45009, 'GetChatData'))).toEqual({ action: 'retry', code: 45009 });
  });
});
