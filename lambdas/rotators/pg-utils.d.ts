// pg's escaping helpers on their own (pg/lib/utils, CommonJS), which @types/pg types on the package root only.
declare module 'pg/lib/utils.js' {
  import type pg from 'pg';

  const utils: Pick<typeof pg, 'escapeIdentifier' | 'escapeLiteral'>;
  export default utils;
}
