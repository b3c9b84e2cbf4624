import type { GrantKind } from '../store/vocabulary.ts';
import type { Role } from './caller.ts';
import { EVERYTHING, type ReadScope } from './read-scope.ts';

/** One grant as stored: the columns a kind does not use hold '' or 0. */
export interface GrantRow {
  readonly kind: GrantKind;
  readonly corpid: string;
  readonly department_id: number;
  readonly conversation: string;
}

/**
 * What a user of `role` with `grants` may read, and whether it may export:
 * - admin: everything, and export;
 * - auditor: its corps only (everything in them), and export;
 * - viewer: the union of its corp, department and conversation grants; export only with the export grant.
 * A user without grants sees nothing (an empty limited scope), never everything.
 */
export function scopeOf(role: Role, grants: readonly GrantRow[]): { scope: ReadScope; mayExport: boolean } {
  if (role === 'admin') return { scope: EVERYTHING, mayExport: true };
  const corps = [...new Set(grants.filter((g) => g.kind === 'corp').map((g) => g.corpid))].sort();
  if (role === 'auditor') return { scope: Object.freeze({ kind: 'limited', corps, departments: [], conversations: [] }), mayExport: true };
  const departments = grants.filter((g) => g.kind === 'department').map((g) => Object.freeze({ corpid: g.corpid, departmentId: Number(g.department_id) }));
  const conversations = grants.filter((g) => g.kind === 'conversation').map((g) => Object.freeze({ corpid: g.corpid, conversation: g.conversation }));
  return {
    scope: Object.freeze({ kind: 'limited', corps, departments, conversations }),
    mayExport: grants.some((g) => g.kind === 'export'),
  };
}
