import zlib from "node:zlib";

/**
 * The zip format, as far as a Lambda code package needs it: deflated files, no directories,
 * no extra fields, one fixed timestamp, unix modes. Kept as pure byte builders so the layout is
 * tested byte for byte; the writer in package.ts feeds them.
 *
 * Why not a zip library: the one at hand scans all entries for every entry written (quadratic
 * in the file count) and builds a stream per file, which made a 12,000-file project twice as
 * slow as Info-ZIP. Here each small file is one synchronous deflate call.
 */

const localHeaderSignature = 0x04034b50;
const centralHeaderSignature = 0x02014b50;
const endOfCentralDirectorySignature = 0x06054b50;
const dataDescriptorSignature = 0x08074b50;
/** 2.0: deflate. */
const versionNeeded = 20;
/** Upper byte 3: unix, so unzip and Lambda read the mode from the external attributes. */
const versionMadeBy = (3 << 8) | versionNeeded;
const flagUtf8Name = 1 << 11;
const flagDataDescriptor = 1 << 3;
const methodDeflate = 8;
/** 1980-01-01 00:00:00, the earliest DOS date: every entry gets it, so mtimes never change the bytes. */
const dosTime = 0;
const dosDate = (0 << 9) | (1 << 5) | 1;

/** The most a zip without zip64 records can hold: entries and byte offsets. */
export const maxEntries = 0xffff;
export const maxOffset = 0xffffffff;

export interface ZipEntry {
  name: string;
  /** Unix mode bits, e.g. 0o100644. */
  mode: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Where its local header starts. */
  offset: number;
  /** Sizes and CRC follow the data (a streamed file) instead of being in the local header. */
  streamed: boolean;
}

export function localHeader(entry: Omit<ZipEntry, "offset">): Buffer {
  const name = Buffer.from(entry.name, "utf8");
  const header = Buffer.alloc(30 + name.length);
  const known = !entry.streamed;
  header.writeUInt32LE(localHeaderSignature, 0);
  header.writeUInt16LE(versionNeeded, 4);
  header.writeUInt16LE(flagUtf8Name | (entry.streamed ? flagDataDescriptor : 0), 6);
  header.writeUInt16LE(methodDeflate, 8);
  header.writeUInt16LE(dosTime, 10);
  header.writeUInt16LE(dosDate, 12);
  header.writeUInt32LE(known ? entry.crc32 : 0, 14);
  header.writeUInt32LE(known ? entry.compressedSize : 0, 18);
  header.writeUInt32LE(known ? entry.size : 0, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(0, 28);
  name.copy(header, 30);
  return header;
}

export function dataDescriptor(entry: Pick<ZipEntry, "crc32" | "compressedSize" | "size">): Buffer {
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(dataDescriptorSignature, 0);
  descriptor.writeUInt32LE(entry.crc32, 4);
  descriptor.writeUInt32LE(entry.compressedSize, 8);
  descriptor.writeUInt32LE(entry.size, 12);
  return descriptor;
}

export function centralHeader(entry: ZipEntry): Buffer {
  const name = Buffer.from(entry.name, "utf8");
  const header = Buffer.alloc(46 + name.length);
  header.writeUInt32LE(centralHeaderSignature, 0);
  header.writeUInt16LE(versionMadeBy, 4);
  header.writeUInt16LE(versionNeeded, 6);
  header.writeUInt16LE(flagUtf8Name | (entry.streamed ? flagDataDescriptor : 0), 8);
  header.writeUInt16LE(methodDeflate, 10);
  header.writeUInt16LE(dosTime, 12);
  header.writeUInt16LE(dosDate, 14);
  header.writeUInt32LE(entry.crc32, 16);
  header.writeUInt32LE(entry.compressedSize, 20);
  header.writeUInt32LE(entry.size, 24);
  header.writeUInt16LE(name.length, 28);
  header.writeUInt16LE(0, 30); // extra field length
  header.writeUInt16LE(0, 32); // comment length
  header.writeUInt16LE(0, 34); // disk number
  header.writeUInt16LE(0, 36); // internal attributes
  header.writeUInt32LE((entry.mode << 16) >>> 0, 38);
  header.writeUInt32LE(entry.offset, 42);
  name.copy(header, 46);
  return header;
}

export function endOfCentralDirectory(entries: number, directorySize: number, directoryOffset: number): Buffer {
  const record = Buffer.alloc(22);
  record.writeUInt32LE(endOfCentralDirectorySignature, 0);
  record.writeUInt16LE(0, 4);
  record.writeUInt16LE(0, 6);
  record.writeUInt16LE(entries, 8);
  record.writeUInt16LE(entries, 10);
  record.writeUInt32LE(directorySize, 12);
  record.writeUInt32LE(directoryOffset, 16);
  record.writeUInt16LE(0, 20);
  return record;
}

/**
 * Level 4: on PHP source it still compresses better than Info-ZIP at its default level 6 (Node's
 * zlib finds more matches), in about 60% of the time of level 6. bench/package prints both sizes.
 */
export const deflateLevel = 4;

export function deflate(content: Buffer): Buffer {
  return zlib.deflateRawSync(content, { level: deflateLevel });
}

let crcTable: Int32Array | undefined;
function crc32Js(data: Buffer, initial: number): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let crc = ~initial;
  for (let i = 0; i < data.length; i += 1) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Buffer, initial?: number) => number }).crc32;

/** CRC-32 as zip wants it; native where Node has it (20.15+), a table otherwise. */
export function crc32(data: Buffer, initial = 0): number {
  return nativeCrc32 ? nativeCrc32(data, initial) : crc32Js(data, initial);
}
