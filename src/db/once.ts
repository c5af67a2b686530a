/** A `close` that does its work the first time only; later calls resolve at once (every `Db` handle's close). */
export function once(close: () => Promise<void>): () => Promise<void> {
  let closed = false;
  return async () => {
    if (closed) return;
    closed = true;
    await close();
  };
}
