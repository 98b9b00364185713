import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * Counts CSV records as they stream past, without parsing: a newline ends a record only outside
 * quotes, and in RFC 4180 CSV (PostgreSQL's COPY writer) a field's own quotes come doubled, so the
 * parity of the quotes seen so far says whether we are inside one.
 */
export class CsvRecordCounter extends Transform {
  records = 0;
  bytes = 0;
  private quoted = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0x22) this.quoted = !this.quoted;
      else if (b === 0x0a && !this.quoted) this.records++;
    }
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * Turns one JSON object per line into one JSON array document (`[` obj `,` obj … `]`), counting the
 * objects. Holds at most one partial line.
 */
export class JsonLinesToArray extends Transform {
  records = 0;
  bytes = 0;
  private rest = '';
  // A chunk may end inside a multi-byte character: the decoder keeps those bytes for the next.
  private readonly decoder = new StringDecoder('utf8');

  private out(s: string): void {
    this.bytes += Buffer.byteLength(s);
    this.push(s);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const lines = (this.rest + this.decoder.write(chunk)).split('\n');
    this.rest = lines.pop() ?? '';
    let s = '';
    for (const line of lines) {
      if (!line) continue;
      s += (this.records === 0 ? '[\n' : ',\n') + line;
      this.records++;
    }
    if (s) this.out(s);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.rest += this.decoder.end();
    if (this.rest) {
      this.out((this.records === 0 ? '[\n' : ',\n') + this.rest);
      this.records++;
    }
    this.out(this.records === 0 ? '[]\n' : '\n]\n');
    done();
  }
}

/** Passes at most `limit` bytes, then fails with `onLimit()`'s error. */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly onLimit: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) done(this.onLimit());
    else done(null, chunk);
  }
}
