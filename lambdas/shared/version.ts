/** The API version reported by /health and the OpenAPI document (kept in step with package.json). */
export const VERSION = '0.1.0';
