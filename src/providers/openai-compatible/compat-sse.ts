import { StringDecoder } from 'node:string_decoder';

/**
 * Incremental server-sent-events reader (the subset chat upstreams use). Events are yielded as soon as their blank
 * line arrives, however the bytes were split across TCP chunks (a UTF-8 character or a line may straddle two).
 * Comment lines (`: keep-alive`) and `id:`/`retry:` fields are ignored; several `data:` lines of one event are
 * joined with "\n" as the SSE spec says. CRLF and CR line endings are accepted because proxies rewrite them.
 */
export interface SseEvent {
  /** The `event:` field; "message" when absent. Some upstreams announce errors as `event: error`. */
  event: string;
  data: string;
}

export async function* readSse(body: AsyncIterable<Buffer>): AsyncGenerator<SseEvent> {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let data: string[] = [];
  let event = '';

  function* takeLines(final: boolean): Generator<SseEvent> {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      // A lone trailing "\r" may be the first half of "\r\n": wait for more bytes unless the stream ended.
      if (!match || (match[0] === '\r' && match.index === buffer.length - 1 && !final)) return;
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        data = [];
        event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
  }

  for await (const chunk of body) {
    buffer += decoder.write(chunk);
    yield* takeLines(false);
  }
  buffer += decoder.end();
  yield* takeLines(true);
  // The SSE spec drops an event without its blank line; upstreams that close right after `data: [DONE]` exist, so
  // a complete trailing line is still delivered (a truncated JSON line is rejected later by the JSON parse).
  if (buffer !== '' && buffer.startsWith('data:')) data.push(buffer.slice(5).replace(/^ /, ''));
  if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
}
