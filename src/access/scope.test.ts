import { describe, expect, it } from 'vitest';
import { NOTHING } from './read-scope.ts';
import { type GrantRow, scopeOf } from './scope.ts';

const g = (kind: GrantRow['kind'], corpid = '', department_id = 0, conversation = ''): GrantRow => ({ kind, corpid, department_id, conversation });

describe('scopeOf', () => {
  const grants = [g('corp', 'wwB'), g('corp', 'wwA'), g('department', 'wwA', 12), g('conversation', 'wwC', 0, 'room:wr1'), g('export')];

  it('gives an admin everything, whatever rows it has', () => {
    expect(scopeOf('admin', [])).toEqual({ scope: { kind: 'everything' }, mayExport: true });
  });

  it('limits an auditor to its corps, with export, and ignores any other grant', () => {
    expect(scopeOf('auditor', grants)).toEqual({ scope: { kind: 'limited', corps: ['wwA', 'wwB'], departments: [], conversations: [] }, mayExport: true });
    expect(scopeOf('auditor', [])).toEqual({ scope: NOTHING, mayExport: true });
  });

  it('gives a viewer the union of its grants, and export only when granted', () => {
    expect(scopeOf('viewer', grants)).toEqual({
      scope: { kind: 'limited', corps: ['wwA', 'wwB'], departments: [{ corpid: 'wwA', departmentId: 12 }], conversations: [{ corpid: 'wwC', conversation: 'room:wr1' }] },
      mayExport: true,
    });
    expect(scopeOf('viewer', grants.slice(0, 4)).mayExport).toBe(false);
    expect(scopeOf('viewer', [])).toEqual({ scope: NOTHING, mayExport: false });
  });
});
