import { Link } from '@tanstack/react-router';

export function NotFoundPage() {
  return (
    <>
      <h1>Page not found</h1>
      <p className="my-3">
        There is no page at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  );
}
