/** `POST /notifications/expiry-check`, mapped onto `ExpiryCheckRequests.runNow`. */
import { apiHandler, callerOf } from '../../shared/api-handler.js';
import { expiryCheckApi } from './compose.js';
import { EXPIRY_CHECK_API_ROUTES } from './routes.js';

export const handler = apiHandler(EXPIRY_CHECK_API_ROUTES, () => expiryCheckApi().api, {
  runExpiryCheck: async (request) => ({
    body: { data: await expiryCheckApi().requests.runNow(callerOf(request)) },
  }),
});
