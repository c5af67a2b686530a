/** Helpers for tests that run `genrelay serve` as a child process and talk to it over HTTP. */

/** Waits (up to 15 s) until the child on `port` answers `GET /readyz` with 200. */
export async function ready(port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('server did not start');
}

/** One JSON request with an API or operator key; the body is parsed when it is JSON, else kept as text. */
export async function call(port: number, method: string, path: string, body: unknown, key: string, headers: Record<string, string> = {}) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, replayed: response.headers.get('idempotent-replayed') === 'true' };
}
