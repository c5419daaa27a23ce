/** Browse the secret store by path (`?path=prefix/`), one page of keys at a time. */
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, getRouteApi, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';

import { ListSecretsResponse } from '../../../lambdas/shared/contracts/secrets.js';
import { encodePath } from '../api/client.js';
import { useApi, useIdentity } from '../app/context.js';
import { ErrorAlert, Loading, PageHeader, TextField } from '../components/ui.js';

const route = getRouteApi('/app/secrets');

/** `a/b` and `a/b/` are the same folder; the root is ''. */
export function folderOf(path: string | undefined): string {
  const trimmed = (path ?? '').replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

export function SecretsPage() {
  const api = useApi();
  const { can } = useIdentity();
  const folder = folderOf(route.useSearch().path);
  const listing = useInfiniteQuery({
    queryKey: ['secrets', 'list', folder],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      api.request({
        path: folder === '' ? '/secrets/metadata' : `/secrets/metadata/${encodePath(folder.slice(0, -1))}`,
        query: { list: 'true', limit: 200, cursor: pageParam },
        schema: ListSecretsResponse,
        action: 'list the secrets under this path',
        signal,
      }),
    getNextPageParam: (page) => page.data.next_cursor,
  });
  const keys = listing.data?.pages.flatMap((page) => page.data.keys) ?? [];
  const segments = folder.split('/').filter(Boolean);

  return (
    <>
      <PageHeader title="Secrets" />
      <nav aria-label="Path" className="mb-3 text-sm">
        <ol className="flex flex-wrap gap-1">
          <li>
            <Link to="/secrets" search={{}}>
              (root)
            </Link>
          </li>
          {segments.map((segment, index) => {
            const path = `${segments.slice(0, index + 1).join('/')}/`;
            const last = index === segments.length - 1;
            return (
              <li key={path}>
                <span aria-hidden="true">/ </span>
                <Link to="/secrets" search={{ path }} aria-current={last ? 'page' : undefined}>
                  {segment}
                </Link>
              </li>
            );
          })}
        </ol>
      </nav>
      {can.useSecretValues && <NewSecret folder={folder} />}
      <ErrorAlert error={listing.error} />
      {listing.isPending ? (
        <Loading what="secrets" />
      ) : (
        <section aria-labelledby="keys-heading" className="panel">
          <h2 id="keys-heading" className="mb-2">
            {folder === '' ? 'Top level' : folder}
          </h2>
          {keys.length === 0 ? (
            <p className="muted text-sm">Nothing under this path.</p>
          ) : (
            <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800">
              {keys.map((key) => (
                <li key={key} className="py-1">
                  {key.endsWith('/') ? (
                    <Link to="/secrets" search={{ path: `${folder}${key}` }}>
                      <span aria-hidden="true">▸ </span>
                      {key}
                      <span className="sr-only"> (folder)</span>
                    </Link>
                  ) : (
                    <Link to="/secrets/view" search={{ path: `${folder}${key}` }}>
                      {key}
                    </Link>
                  )}
                </li>
              ))}
            </ul>
          )}
          {listing.hasNextPage && (
            <button
              type="button"
              className="btn mt-2"
              disabled={listing.isFetchingNextPage}
              onClick={() => void listing.fetchNextPage()}
            >
              Load more
            </button>
          )}
        </section>
      )}
    </>
  );
}

function NewSecret({ folder }: { folder: string }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const path = `${folder}${name.trim().replace(/^\/+/, '')}`;
    if (name.trim() !== '') void navigate({ to: '/secrets/view', search: { path } });
  };
  return (
    <form
      onSubmit={submit}
      className="mb-4 flex flex-wrap items-end gap-2"
      aria-label="Open or create a secret"
    >
      <TextField
        label={`Open or create a secret under ${folder === '' ? 'the root' : folder}`}
        value={name}
        onChange={setName}
        hint="A name or sub/path"
        className="min-w-64"
      />
      <button type="submit" className="btn">
        Open
      </button>
    </form>
  );
}
