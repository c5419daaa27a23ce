import { describe, expect, it } from 'vitest';
import { apiGatewayEvent } from '../../lambdas/local/api-gateway-event.js';
import { HEALTH_ROUTES } from '../../lambdas/functions/health/routes.js';

const route = HEALTH_ROUTES.find((candidate) => candidate.path === '/health')!;

function eventFor(query: string, rawHeaders: string[] = []) {
  return apiGatewayEvent(
    {
      method: 'GET',
      path: '/health',
      query: new URLSearchParams(query),
      rawHeaders,
      body: '',
      sourceIp: '127.0.0.1',
    },
    route,
    null,
    'local',
  );
}

describe('apiGatewayEvent', () => {
  it('keeps ?__proto__= and ?constructor= as plain query parameters, as API Gateway does', () => {
    // Act
    const event = eventFor('__proto__=x&__proto__=y&constructor=z');

    // Assess
    expect(Object.keys(event.queryStringParameters ?? {})).toEqual(['__proto__', 'constructor']);
    expect(event.queryStringParameters?.['__proto__']).toBe('y');
    expect(event.multiValueQueryStringParameters?.['__proto__']).toEqual(['x', 'y']);
    expect(event.multiValueQueryStringParameters?.['constructor']).toEqual(['z']);
    expect(Object.getPrototypeOf(event.queryStringParameters)).toBeNull();
  });

  it('keeps a header named __proto__ as a plain header', () => {
    // Act
    const event = eventFor('', ['__proto__', 'a', 'Host', 'localhost']);

    // Assess
    expect(event.headers['__proto__']).toBe('a');
    expect(event.multiValueHeaders['__proto__']).toEqual(['a']);
    expect(event.headers.Host).toBe('localhost');
  });
});
