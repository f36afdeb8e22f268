import { describe, expect, it } from "vitest";
import { centralHeader, crc32, dataDescriptor, endOfCentralDirectory, localHeader } from "../../src/deploy/zip.js";

const entry = { name: "a.php", mode: 0o100644, crc32: 0x11223344, compressedSize: 5, size: 9, offset: 0x01020304, streamed: false };

describe("zip records, byte for byte", () => {
  it("local file header: signature, version 2.0, UTF-8 flag, deflate, 1980-01-01 00:00, CRC, sizes, name", () => {
    expect(localHeader(entry).toString("hex")).toBe(
      "504b0304" + "1400" + "0008" + "0800" + "0000" + "2100" + "44332211" + "05000000" + "09000000" + "0500" + "0000" + Buffer.from("a.php").toString("hex"),
    );
  });

  it("a streamed entry sets the data-descriptor flag and leaves CRC and sizes to the descriptor", () => {
    const header = localHeader({ ...entry, streamed: true });
    expect(header.readUInt16LE(6)).toBe(0x0808);
    expect(header.subarray(14, 26).equals(Buffer.alloc(12))).toBe(true);
    expect(dataDescriptor(entry).toString("hex")).toBe("504b0708" + "44332211" + "05000000" + "09000000");
  });

  it("central directory header: made by unix, mode in the external attributes, offset of the local header", () => {
    const header = centralHeader({ ...entry, mode: 0o100755 });
    expect(header.subarray(0, 16).toString("hex")).toBe("504b0102" + "1403" + "1400" + "0008" + "0800" + "0000" + "2100");
    expect(header.readUInt32LE(38)).toBe((0o100755 << 16) >>> 0);
    expect(header.readUInt32LE(42)).toBe(0x01020304);
    expect(header.subarray(46).toString()).toBe("a.php");
  });

  it("end of central directory: counts, size and offset, no comment", () => {
    expect(endOfCentralDirectory(3, 0x100, 0x2000).toString("hex")).toBe("504b0506" + "0000" + "0000" + "0300" + "0300" + "00010000" + "00200000" + "0000");
  });

  it("CRC-32 is the zip polynomial, and continues across chunks", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32(Buffer.from("56789"), crc32(Buffer.from("1234")))).toBe(0xcbf43926);
  });
});
