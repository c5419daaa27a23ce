import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

/** A minimal API Gateway REST proxy event, as the Lambda proxy integration delivers it. */
export function proxyEvent(overrides: {
  method?: string;
  resource: string;
  operationName?: string;
  headers?: Record<string, string>;
  body?: string | null;
}): APIGatewayProxyEvent {
  const method = overrides.method ?? 'GET';
  return {
    resource: overrides.resource,
    path: overrides.resource,
    httpMethod: method,
    headers: overrides.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: overrides.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      requestId: 'req-test',
      httpMethod: method,
      resourcePath: overrides.resource,
      ...(overrides.operationName === undefined ? {} : { operationName: overrides.operationName }),
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

export function testContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
    memoryLimitInMB: '128',
    awsRequestId: 'aws-req-test',
    logGroupName: '/aws/lambda/test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
