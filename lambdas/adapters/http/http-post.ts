/** One HTTP POST with a timeout, answering status, headers and a bounded body (no redirects followed). */
export interface PostAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export async function postJson(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<PostAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  // Slack and webhook answers are short; more is not read.
  const text = (await response.text()).slice(0, 4096);
  return { status: response.status, headers: response.headers, body: text };
}
