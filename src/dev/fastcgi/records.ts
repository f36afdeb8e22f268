/**
 * FastCGI 1.0 records and name-value pairs (the wire format php-fpm speaks).
 * Everything here is pure: bytes in, bytes out, so it is tested with exact bytes.
 */

export const FCGI_VERSION_1 = 1;
export const FCGI_HEADER_LENGTH = 8;
/** A record's content length is a 16-bit field. */
const FCGI_MAX_CONTENT_LENGTH = 0xffff;

export const RecordType = {
  beginRequest: 1,
  abortRequest: 2,
  endRequest: 3,
  params: 4,
  stdin: 5,
  stdout: 6,
  stderr: 7,
  data: 8,
  getValues: 9,
  getValuesResult: 10,
  unknownType: 11,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const Role = { responder: 1, authorizer: 2, filter: 3 } as const;
/** BEGIN_REQUEST flag: keep the connection open after the request ends. */
export const FCGI_KEEP_CONN = 1;

export const ProtocolStatus = {
  requestComplete: 0,
  cantMultiplexConnections: 1,
  overloaded: 2,
  unknownRole: 3,
} as const;

export interface FastCgiRecord {
  type: number;
  requestId: number;
  content: Buffer;
}

/** Pads content to a multiple of 8 bytes, as the specification recommends. */
export function paddingFor(contentLength: number): number {
  return (8 - (contentLength & 7)) & 7;
}

/** Writes one record header at `offset` and returns the offset after it. */
function writeHeader(target: Buffer, offset: number, type: number, requestId: number, contentLength: number, paddingLength: number): number {
  target[offset] = FCGI_VERSION_1;
  target[offset + 1] = type;
  target[offset + 2] = (requestId >> 8) & 0xff;
  target[offset + 3] = requestId & 0xff;
  target[offset + 4] = (contentLength >> 8) & 0xff;
  target[offset + 5] = contentLength & 0xff;
  target[offset + 6] = paddingLength;
  target[offset + 7] = 0;
  return offset + FCGI_HEADER_LENGTH;
}

/** One complete record (header, content, zero padding). Content must fit in 65,535 bytes. */
export function encodeRecord(type: number, requestId: number, content: Buffer = Buffer.alloc(0)): Buffer {
  if (content.length > FCGI_MAX_CONTENT_LENGTH) throw new RangeError(`FastCGI record content is ${content.length} bytes; the maximum is ${FCGI_MAX_CONTENT_LENGTH}.`);
  const padding = paddingFor(content.length);
  const record = Buffer.alloc(FCGI_HEADER_LENGTH + content.length + padding);
  writeHeader(record, 0, type, requestId, content.length, padding);
  content.copy(record, FCGI_HEADER_LENGTH);
  return record;
}

export function encodeBeginRequestBody(role: number, flags: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = (role >> 8) & 0xff;
  body[1] = role & 0xff;
  body[2] = flags;
  return body;
}

export interface EndRequest {
  appStatus: number;
  protocolStatus: number;
}

export function decodeEndRequestBody(content: Buffer): EndRequest {
  if (content.length < 8) throw new Error(`FastCGI END_REQUEST body is ${content.length} bytes; expected 8.`);
  return { appStatus: content.readUInt32BE(0), protocolStatus: content[4]! };
}

/** A name or value length: one byte below 128, otherwise four bytes with the top bit set. */
function lengthSize(length: number): number {
  return length < 128 ? 1 : 4;
}

function writeLength(target: Buffer, offset: number, length: number): number {
  if (length < 128) {
    target[offset] = length;
    return offset + 1;
  }
  target.writeUInt32BE((length | 0x80000000) >>> 0, offset);
  return offset + 4;
}

/** Name-value pairs as PARAMS content. Strings are sent as UTF-8. */
export function encodeNameValuePairs(pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  const sizes = new Array<number>(pairs.length * 2);
  let total = 0;
  for (let index = 0; index < pairs.length; index++) {
    const [name, value] = pairs[index]!;
    const nameLength = Buffer.byteLength(name);
    const valueLength = Buffer.byteLength(value);
    sizes[index * 2] = nameLength;
    sizes[index * 2 + 1] = valueLength;
    total += lengthSize(nameLength) + lengthSize(valueLength) + nameLength + valueLength;
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let index = 0; index < pairs.length; index++) {
    const [name, value] = pairs[index]!;
    offset = writeLength(out, offset, sizes[index * 2]!);
    offset = writeLength(out, offset, sizes[index * 2 + 1]!);
    offset += out.write(name, offset);
    offset += out.write(value, offset);
  }
  return out;
}

export function decodeNameValuePairs(content: Buffer): [string, string][] {
  const pairs: [string, string][] = [];
  let offset = 0;
  const readLength = (): number => {
    if (offset >= content.length) throw new Error("Truncated FastCGI name-value pair.");
    const first = content[offset]!;
    if (first < 128) {
      offset += 1;
      return first;
    }
    if (offset + 4 > content.length) throw new Error("Truncated FastCGI name-value pair length.");
    const length = content.readUInt32BE(offset) & 0x7fffffff;
    offset += 4;
    return length;
  };
  while (offset < content.length) {
    const nameLength = readLength();
    const valueLength = readLength();
    if (offset + nameLength + valueLength > content.length) throw new Error("Truncated FastCGI name-value pair data.");
    const name = content.toString("utf8", offset, offset + nameLength);
    offset += nameLength;
    const value = content.toString("utf8", offset, offset + valueLength);
    offset += valueLength;
    pairs.push([name, value]);
  }
  return pairs;
}

/** Size on the wire of a stream (PARAMS or STDIN): its records, then the empty record that ends it. */
function streamSize(contentLength: number): number {
  let size = FCGI_HEADER_LENGTH; // the empty terminating record
  let remaining = contentLength;
  while (remaining > 0) {
    const chunk = Math.min(remaining, FCGI_MAX_CONTENT_LENGTH);
    size += FCGI_HEADER_LENGTH + chunk + paddingFor(chunk);
    remaining -= chunk;
  }
  return size;
}

function writeStream(target: Buffer, offset: number, type: number, requestId: number, content: Buffer): number {
  let position = 0;
  while (position < content.length) {
    const chunk = Math.min(content.length - position, FCGI_MAX_CONTENT_LENGTH);
    const padding = paddingFor(chunk);
    offset = writeHeader(target, offset, type, requestId, chunk, padding);
    content.copy(target, offset, position, position + chunk);
    offset += chunk;
    target.fill(0, offset, offset + padding);
    offset += padding;
    position += chunk;
  }
  return writeHeader(target, offset, type, requestId, 0, 0);
}

// Below, a request is first built as a "latin1" string — one char per byte — because one
// Buffer.write of a long string is far cheaper than a native call per name and value.

// eslint-disable-next-line no-control-regex
const asciiOnly = /^[\x00-\x7f]*$/;

/** A string's UTF-8 bytes, one char per byte. */
function asBytes(text: string): string {
  return asciiOnly.test(text) ? text : Buffer.from(text, "utf8").toString("latin1");
}

function lengthBytes(length: number): string {
  if (length < 128) return String.fromCharCode(length);
  return String.fromCharCode(((length >>> 24) & 0x7f) | 0x80, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

function headerBytes(type: number, requestId: number, contentLength: number, paddingLength: number): string {
  return String.fromCharCode(FCGI_VERSION_1, type, (requestId >> 8) & 0xff, requestId & 0xff, (contentLength >> 8) & 0xff, contentLength & 0xff, paddingLength, 0);
}

const zeros = "\0\0\0\0\0\0\0";

function paramsRecord(requestId: number, content: string): string {
  const padding = paddingFor(content.length);
  return headerBytes(RecordType.params, requestId, content.length, padding) + content + zeros.slice(0, padding);
}

/**
 * PARAMS records and the empty one that ends them. A record holds whole name-value pairs (php-fpm
 * resets the connection when a pair continues in the next record); only a pair longer than a
 * record is split, the one exception the protocol leaves.
 */
function paramsStream(requestId: number, params: ReadonlyArray<readonly [string, string]>): string {
  let stream = "";
  let record = "";
  for (const [name, value] of params) {
    const nameBytes = asBytes(name);
    const valueBytes = asBytes(value);
    const pair = lengthBytes(nameBytes.length) + lengthBytes(valueBytes.length) + nameBytes + valueBytes;
    if (record.length + pair.length > FCGI_MAX_CONTENT_LENGTH && record !== "") {
      stream += paramsRecord(requestId, record);
      record = "";
    }
    if (pair.length <= FCGI_MAX_CONTENT_LENGTH) {
      record += pair;
      continue;
    }
    for (let position = 0; position < pair.length; position += FCGI_MAX_CONTENT_LENGTH) {
      stream += paramsRecord(requestId, pair.slice(position, position + FCGI_MAX_CONTENT_LENGTH));
    }
  }
  if (record !== "") stream += paramsRecord(requestId, record);
  return stream + headerBytes(RecordType.params, requestId, 0, 0);
}

const placeholder = "\0\0\0\0";

/**
 * The common case in one pass: params that are all ASCII (a string's length is then its size in
 * bytes) and fit one PARAMS record. Four-byte lengths go in as zero placeholders and are patched
 * in the buffer, so that the content is ASCII exactly when the params are: one scan of the string
 * the write needs anyway tells. Undefined when the general path must be taken.
 */
function encodeAsciiRequest(requestId: number, params: ReadonlyArray<readonly [string, string]>, body: Buffer, keepConnection: boolean): Buffer | undefined {
  let content = "";
  const longLengths: number[] = []; // offset, length, offset, length...
  for (const [name, value] of params) {
    if (name.length < 128) content += String.fromCharCode(name.length);
    else {
      longLengths.push(content.length, name.length);
      content += placeholder;
    }
    if (value.length < 128) content += String.fromCharCode(value.length);
    else {
      longLengths.push(content.length, value.length);
      content += placeholder;
    }
    content += name + value;
  }
  if (content.length > FCGI_MAX_CONTENT_LENGTH || !asciiOnly.test(content)) return undefined;
  const padding = paddingFor(content.length);
  const head =
    headerBytes(RecordType.beginRequest, requestId, 8, 0) +
    String.fromCharCode(0, Role.responder, keepConnection ? FCGI_KEEP_CONN : 0, 0, 0, 0, 0, 0) +
    (content === "" ? "" : headerBytes(RecordType.params, requestId, content.length, padding) + content + zeros.slice(0, padding)) +
    headerBytes(RecordType.params, requestId, 0, 0);
  const out = Buffer.allocUnsafe(head.length + streamSize(body.length));
  const offset = out.write(head, 0, "latin1");
  // BEGIN_REQUEST (16 bytes) and the PARAMS header (8) come before the content.
  for (let index = 0; index < longLengths.length; index += 2) out.writeUInt32BE((longLengths[index + 1]! | 0x80000000) >>> 0, 24 + longLengths[index]!);
  writeStream(out, offset, RecordType.stdin, requestId, body);
  return out;
}

/**
 * A whole responder request in one buffer — BEGIN_REQUEST, PARAMS, empty PARAMS, STDIN, empty STDIN —
 * so the client sends it with one socket write.
 */
export function encodeRequest(requestId: number, params: ReadonlyArray<readonly [string, string]>, body: Buffer, keepConnection: boolean): Buffer {
  const ascii = encodeAsciiRequest(requestId, params, body, keepConnection);
  if (ascii) return ascii;
  const head =
    headerBytes(RecordType.beginRequest, requestId, 8, 0) +
    String.fromCharCode(0, Role.responder, keepConnection ? FCGI_KEEP_CONN : 0, 0, 0, 0, 0, 0) +
    paramsStream(requestId, params);
  const out = Buffer.allocUnsafe(head.length + streamSize(body.length));
  const offset = out.write(head, 0, "latin1");
  writeStream(out, offset, RecordType.stdin, requestId, body);
  return out;
}
