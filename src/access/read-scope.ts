/**
 * What one caller may read of the archive. Every read function of archived content (conversations,
 * messages, media, search, directory) takes a ReadScope as an argument and applies it inside its own
 * SQL, so no route or command can forget it: access is enforced where the data is read.
 *
 * - `everything`: an admin.
 * - `limited`: the union of what was granted. `corps` are whole corps (an auditor's corps, or a
 *   viewer granted a corp); `departments` are the conversations in which a member of that department
 *   (of that corp) takes part; `conversations` are listed conversations (by conversation key).
 *   An empty limited scope sees nothing.
 */
export type ReadScope =
  | { readonly kind: 'everything' }
  | {
      readonly kind: 'limited';
      readonly corps: readonly string[];
      readonly departments: ReadonlyArray<{ readonly corpid: string; readonly departmentId: number }>;
      readonly conversations: ReadonlyArray<{ readonly corpid: string; readonly conversation: string }>;
    };

export const EVERYTHING: ReadScope = Object.freeze({ kind: 'everything' });

/** A scope that sees nothing: what a caller without grants gets. */
export const NOTHING: ReadScope = Object.freeze({ kind: 'limited', corps: [], departments: [], conversations: [] });
