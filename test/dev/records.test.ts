import { describe, expect, it } from "vitest";
import {
  FCGI_KEEP_CONN,
  RecordType,
  Role,
  decodeEndRequestBody,
  decodeNameValuePairs,
  encodeBeginRequestBody,
  encodeNameValuePairs,
  encodeRecord,
  encodeRequest,
  paddingFor,
} from "../../src/dev/fastcgi/records.js";
import { RecordReader } from "../../src/dev/fastcgi/reader.js";

const hex = (buffer: Buffer) => buffer.toString("hex");

describe("FastCGI records", () => {
  it("encodes a record header, content and padding to 8 bytes", () => {
    const record = encodeRecord(RecordType.stdout, 0x0102, Buffer.from("abc"));
    expect(hex(record)).toBe(
      "01" + "06" + "0102" + "0003" + "05" + "00" + // version, type, request id, length, padding, reserved
      "616263" + "0000000000",
    );
  });

  it("pads nothing when content is a multiple of 8, and encodes an empty record", () => {
    expect(paddingFor(16)).toBe(0);
    expect(hex(encodeRecord(RecordType.params, 1))).toBe("0104000100000000");
  });

  it("refuses content longer than 65,535 bytes", () => {
    expect(() => encodeRecord(RecordType.stdin, 1, Buffer.alloc(65_536))).toThrow(/65535/);
  });

  it("encodes BEGIN_REQUEST for the responder role with keep-conn", () => {
    expect(hex(encodeBeginRequestBody(1, 1))).toBe("0001010000000000");
  });

  it("decodes END_REQUEST", () => {
    expect(decodeEndRequestBody(Buffer.from("000000ff00000000", "hex"))).toEqual({ appStatus: 255, protocolStatus: 0 });
  });
});

describe("name-value pairs", () => {
  it("uses one length byte below 128 and four (top bit set) from 128", () => {
    const long = "v".repeat(200);
    const encoded = encodeNameValuePairs([["A", "bc"], ["LONG", long]]);
    expect(hex(encoded.subarray(0, 5))).toBe("0102" + "41" + "6263");
    expect(hex(encoded.subarray(5, 10))).toBe("04" + "800000c8");
    expect(encoded.subarray(10, 14).toString()).toBe("LONG");
    expect(encoded.length).toBe(5 + 1 + 4 + 4 + 200);
  });

  it("counts UTF-8 bytes, not characters, and round-trips", () => {
    const pairs: [string, string][] = [["HTTP_X_NAME", "Zoë ☀"], ["EMPTY", ""], ["K", "x".repeat(127)], ["L", "y".repeat(128)]];
    const encoded = encodeNameValuePairs(pairs);
    expect(encoded[1]).toBe(Buffer.byteLength("Zoë ☀"));
    expect(decodeNameValuePairs(encoded)).toEqual(pairs);
  });

  it("rejects truncated pairs", () => {
    expect(() => decodeNameValuePairs(Buffer.from("0105414243", "hex"))).toThrow(/Truncated/);
  });
});

describe("a whole request in one buffer", () => {
  it("is BEGIN_REQUEST, PARAMS, empty PARAMS, STDIN, empty STDIN, byte for byte", () => {
    const request = encodeRequest(7, [["A", "b"]], Buffer.from("hi"), true);
    expect(hex(request)).toBe(
      "0101000700080000" + "0001010000000000" + // BEGIN_REQUEST: responder, keep-conn
      "0104000700040400" + "01014162" + "00000000" + // PARAMS "A"="b", padded
      "0104000700000000" + // end of PARAMS
      "0105000700020600" + "6869" + "000000000000" + // STDIN "hi", padded
      "0105000700000000", // end of STDIN
    );
  });

  it("without keep-conn, and with no body: only the empty STDIN record", () => {
    const request = encodeRequest(1, [], Buffer.alloc(0), false);
    expect(hex(request)).toBe("0101000100080000" + "0001000000000000" + "0104000100000000" + "0105000100000000");
  });

  it("splits a body over 65,535 bytes into several STDIN records", () => {
    const body = Buffer.alloc(70_000, 0xab);
    const records = new RecordReader().push(encodeRequest(3, [], body, true));
    const stdin = records.filter((record) => record.type === RecordType.stdin);
    expect(stdin.map((record) => record.content.length)).toEqual([65_535, 4_465, 0]);
    expect(Buffer.concat(stdin.map((record) => record.content)).equals(body)).toBe(true);
  });

  it("ASCII or not, short or long values: the same bytes as records built one by one", () => {
    const reference = (requestId: number, params: [string, string][], body: Buffer) =>
      Buffer.concat([
        encodeRecord(RecordType.beginRequest, requestId, encodeBeginRequestBody(Role.responder, FCGI_KEEP_CONN)),
        encodeRecord(RecordType.params, requestId, encodeNameValuePairs(params)),
        encodeRecord(RecordType.params, requestId),
        encodeRecord(RecordType.stdin, requestId, body),
        encodeRecord(RecordType.stdin, requestId),
      ]);
    const cases: [string, string][][] = [
      [["SHORT", "v"], ["LONG_VALUE", "x".repeat(300)], ["L".repeat(200), "long name"], ["EMPTY", ""]],
      [["ASCII", "a/b"], ["UTF8", "Zoë 😀"], ["LONG_UTF8", "é".repeat(100)]],
      [["LATIN1_LOOKALIKE", "\u00ff\u0080"], ["AFTER", "x".repeat(130)]],
    ];
    for (const params of cases) {
      const body = Buffer.from("body bytes");
      expect(hex(encodeRequest(9, params, body, true))).toBe(hex(reference(9, params, body)));
    }
  });

  it("splits params over 65,535 bytes on pair boundaries: each PARAMS record decodes on its own", () => {
    // Pairs of 40,006 bytes (1 + 4 length bytes, 1-byte name, 40,000-byte value): two do not fit one record.
    const params: [string, string][] = [["A", "a".repeat(40_000)], ["B", "b".repeat(40_000)], ["C", "c"], ["D", "d".repeat(25_000)]];
    const encoded = encodeRequest(4, params, Buffer.alloc(0), true);
    const records = new RecordReader().push(encoded).filter((record) => record.type === RecordType.params);
    expect(records.map((record) => record.content.length)).toEqual([40_006, 40_006 + 4 + 25_006, 0]);
    expect(records.slice(0, 2).map((record) => decodeNameValuePairs(record.content))).toEqual([[params[0]], [params[1], params[2], params[3]]]);
    // Byte for byte: BEGIN_REQUEST (16), then the first PARAMS header: 40,006 bytes, 2 bytes of padding.
    expect(hex(encoded.subarray(16, 24))).toBe("0104000" + "4" + "9c46" + "02" + "00");
    expect(hex(encoded.subarray(24, 30))).toBe("01" + "80009c40" + "41");
  });

  it("splits a pair longer than a record (the one exception) and keeps the others whole", () => {
    const params: [string, string][] = [["SMALL", "1"], ["BIG", "z".repeat(70_000)], ["LAST", "2"]];
    const records = new RecordReader().push(encodeRequest(3, params, Buffer.alloc(0), true));
    const paramsRecords = records.filter((record) => record.type === RecordType.params);
    // SMALL alone (its record ends where BIG begins), BIG over two records, LAST alone.
    expect(paramsRecords.map((record) => record.content.length)).toEqual([8, 65_535, 70_000 + 3 + 5 - 65_535, 7, 0]);
    expect(decodeNameValuePairs(paramsRecords[0]!.content)).toEqual([params[0]]);
    expect(decodeNameValuePairs(paramsRecords[3]!.content)).toEqual([params[2]]);
    const content = Buffer.concat(paramsRecords.map((record) => record.content));
    expect(decodeNameValuePairs(content)).toEqual(params);
  });
});

describe("RecordReader", () => {
  const stream = Buffer.concat([
    encodeRecord(RecordType.stdout, 1, Buffer.from("Status: 200\r\n\r\nhello")),
    encodeRecord(RecordType.stderr, 1, Buffer.from("PHP message: oops")),
    encodeRecord(RecordType.stdout, 1),
    encodeRecord(RecordType.endRequest, 1, Buffer.from("0000000000000000", "hex")),
  ]);

  it("reads records from one chunk", () => {
    const records = new RecordReader().push(stream);
    expect(records.map((record) => [record.type, record.content.toString()])).toEqual([
      [RecordType.stdout, "Status: 200\r\n\r\nhello"],
      [RecordType.stderr, "PHP message: oops"],
      [RecordType.stdout, ""],
      [RecordType.endRequest, "\0\0\0\0\0\0\0\0"],
    ]);
  });

  it("reads the same records however the stream is cut, even inside a header", () => {
    const expected = new RecordReader().push(stream).map((record) => [record.type, record.requestId, hex(record.content)]);
    for (let cut = 1; cut < stream.length; cut++) {
      const reader = new RecordReader();
      const records = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(records.map((record) => [record.type, record.requestId, hex(record.content)]), `cut at ${cut}`).toEqual(expected);
      expect(reader.buffered).toBe(0);
    }
    const byteByByte = new RecordReader();
    const records = [...stream].flatMap((byte) => byteByByte.push(Buffer.from([byte])));
    expect(records.length).toBe(4);
  });

  it("throws when the stream is out of sync", () => {
    expect(() => new RecordReader().push(Buffer.from("0206000100000000", "hex"))).toThrow(/out of sync/);
  });
});
