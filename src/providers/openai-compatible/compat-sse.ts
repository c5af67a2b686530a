import { StringDecoder } from 'node:string_decoder';

/**
 * Incremental server-sent-events reader (the subset chat upstreams use). Events are handed out as soon as their blank
 * line arrives, however the bytes were split across TCP chunks (a UTF-8 character or a line may straddle two).
 * Comment lines (`: keep-alive`) and `id:`/`retry:` fields are ignored; several `data:` lines of one event are
 * joined with "\n" as the SSE spec says. CRLF and CR line endings are accepted because proxies rewrite them.
 */
export interface SseEvent {
  /** The `event:` field; "message" when absent. Some upstreams announce errors as `event: error`. */
  event: string;
  data: string;
}

const LINE_END = /\r\n|\r|\n/g;

/**
 * The decoder itself, synchronous: `push` takes one chunk of the body and returns the events it completed, `end` the
 * last ones once the body has ended. A chat stream's relay reads it once per chunk the upstream sent (issue 14: no
 * async step per event).
 */
export class SseDecoder {
  private readonly text = new StringDecoder('utf8');
  private buffer = '';
  private data: string[] = [];
  private event = '';

  push(chunk: Buffer): SseEvent[] {
    this.buffer += this.text.write(chunk);
    return this.takeLines(false);
  }

  end(): SseEvent[] {
    this.buffer += this.text.end();
    const events = this.takeLines(true);
    // The SSE spec drops an event without its blank line; upstreams that close right after `data: [DONE]` exist, so
    // a complete trailing line is still delivered (a truncated JSON line is rejected later by the JSON parse).
    if (this.buffer !== '' && this.buffer.startsWith('data:')) this.data.push(this.buffer.slice(5).replace(/^ /, ''));
    this.buffer = '';
    if (this.data.length > 0) events.push({ event: this.event || 'message', data: this.data.join('\n') });
    this.data = [];
    this.event = '';
    return events;
  }

  private takeLines(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.buffer;
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let match = LINE_END.exec(buffer); match; match = LINE_END.exec(buffer)) {
      // A lone trailing "\r" may be the first half of "\r\n": wait for more bytes unless the stream ended.
      if (match[0] === '\r' && match.index === buffer.length - 1 && !final) break;
      this.line(buffer.slice(start, match.index), events);
      start = match.index + match[0].length;
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* ' ' */) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
