/** The paths and scopes of the dashboard's code flow at the local issuer (oauth-authorize.ts). */
export const AUTHORIZE_PATH = '/oauth2/authorize';
export const REVOKE_PATH = '/oauth2/revoke';
export const LOGOUT_PATH = '/logout';
/** Where the dashboard receives the code, and where sign-out lands (the dashboard contract). */
export const CALLBACK_PATH = '/callback';
export const SIGNED_OUT_PATH = '/signed-out';
/** What the dashboard asks for; the Cognito app client allows the same (lib/auth-stack.ts). */
export const DASHBOARD_SCOPES = ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin'] as const;
