import { Link, Outlet, useLocation } from '@tanstack/react-router';

const SECTIONS = [
  { to: '/settings/policies', label: 'Access policies' },
  { to: '/settings/rotation-policies', label: 'Rotation policies' },
  { to: '/settings/discovery', label: 'Discovery' },
  { to: '/settings/audit', label: 'Audit retention' },
  { to: '/settings/notifications', label: 'Notifications' },
] as const;

export function SettingsLayout() {
  const { pathname } = useLocation();
  return (
    <div className="grid gap-6 md:grid-cols-[12rem_1fr]">
      <div>
        <nav aria-label="Settings">
          <ul className="space-y-1 text-sm">
            {SECTIONS.map((section) => (
              <li key={section.to}>
                <Link
                  to={section.to}
                  aria-current={pathname === section.to ? 'page' : undefined}
                  className={`block rounded px-2 py-1 no-underline hover:underline ${
                    pathname === section.to ? 'bg-slate-200 font-semibold dark:bg-slate-800' : ''
                  }`}
                >
                  {section.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </div>
      <div>
        <Outlet />
      </div>
    </div>
  );
}
