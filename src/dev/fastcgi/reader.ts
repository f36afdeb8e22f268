import { FCGI_HEADER_LENGTH, FCGI_VERSION_1, type FastCgiRecord } from "./records.js";

/**
 * Cuts a byte stream into FastCGI records. Chunks may split records anywhere (even inside a
 * header); record content is a view into the received bytes, copied only when a record
 * spans chunks.
 */
export class RecordReader {
  private pending: Buffer | undefined;

  /** Feeds received bytes; returns the records completed by them. Throws on a malformed stream. */
  push(chunk: Buffer): FastCgiRecord[] {
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const records: FastCgiRecord[] = [];
    let offset = 0;
    while (data.length - offset >= FCGI_HEADER_LENGTH) {
      if (data[offset] !== FCGI_VERSION_1) {
        throw new Error(`FastCGI stream out of sync: record version ${data[offset]} at byte ${offset}.`);
      }
      const contentLength = (data[offset + 4]! << 8) | data[offset + 5]!;
      const end = offset + FCGI_HEADER_LENGTH + contentLength + data[offset + 6]!;
      if (end > data.length) break;
      records.push({
        type: data[offset + 1]!,
        requestId: (data[offset + 2]! << 8) | data[offset + 3]!,
        content: data.subarray(offset + FCGI_HEADER_LENGTH, offset + FCGI_HEADER_LENGTH + contentLength),
      });
      offset = end;
    }
    if (offset < data.length) this.pending = data.subarray(offset);
    return records;
  }

  /** Bytes received that do not form a complete record yet. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}
