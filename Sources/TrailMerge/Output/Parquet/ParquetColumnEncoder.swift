/// One column's values for the current row group, and their encoding into a column chunk. In:
/// values (bytes) or NULLs, one per row. Out: the chunk's pages (dictionary page, then data pages
/// v1), compressed, with the chunk's metadata. Invariants: values are appended into reused buffers
/// (no allocation per value in steady state); the chunk is RLE_DICTIONARY-encoded until its
/// dictionary passes `dictionaryLimit` bytes, after which the whole chunk is written PLAIN.
#if canImport(Glibc)
import Glibc
#endif

/// One output column of a Parquet file.
public struct ParquetColumn: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// BYTE_ARRAY, logical type STRING (UTF-8).
        case string
        /// INT64, logical type TIMESTAMP(isAdjustedToUTC=true, MILLIS), parsed from ISO-8601 UTC text.
        case timestampMillis
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    var physicalType: ParquetPhysicalType { kind == .string ? .byteArray : .int64 }
}

final class ParquetColumnEncoder {
    /// Statistics larger than this are left out of the metadata (as Arrow does), so a huge value
    /// cannot bloat the footer.
    static let maxStatisticsSize = 4096

    let column: ParquetColumn
    private let isString: Bool
    private let dictionaryLimit: Int
    private let pageBytes: Int
    private let pageRows: Int
    private let compressor: PageCompressor

    // The row group so far.
    private(set) var rows = 0
    private var nullCount = 0
    private let definitionLevels = ScalarBuffer<UInt8>(capacity: 1 << 16)
    private var useDictionary = true
    /// Dictionary entries, PLAIN-encoded back to back (the dictionary page's body).
    private let dictionary = ByteBuffer(capacity: 1 << 16)
    private let entryStart = ScalarBuffer<Int>()
    private let entryLength = ScalarBuffer<Int>()
    private let entryHash = ScalarBuffer<UInt64>()
    /// Open-addressing table of entry numbers (-1: empty); its size is a power of two.
    private let slots = ScalarBuffer<Int32>(capacity: 1 << 12)
    private var slotMask = (1 << 12) - 1
    private let indices = ScalarBuffer<UInt32>(capacity: 1 << 16)
    /// PLAIN-encoded non-null values, once the chunk has fallen back to PLAIN.
    private let plain = ByteBuffer(capacity: 1 << 16)

    // Encoding scratch, reused for every chunk.
    private let page = ByteBuffer(capacity: 1 << 16)
    private let compressed = ByteBuffer(capacity: 1 << 16)
    private let header = ByteBuffer(capacity: 256)
    /// The encoded chunk: page headers and compressed pages.
    let chunk = ByteBuffer(capacity: 1 << 16)

    init(column: ParquetColumn, codec: ParquetCodec, dictionaryLimit: Int, pageBytes: Int, pageRows: Int) {
        self.column = column
        isString = column.kind == .string
        self.dictionaryLimit = dictionaryLimit
        self.pageBytes = pageBytes
        self.pageRows = pageRows
        compressor = PageCompressor(codec: codec)
        slots.fill(-1, count: 1 << 12)
    }

    /// Memory held by the buffered row group.
    var bufferedBytes: Int {
        dictionary.count + plain.count + definitionLevels.count + indices.count * 4 + entryStart.count * 24
            + slots.count * 4
    }

    @inline(__always)
    func appendNull() {
        definitionLevels.append(0)
        nullCount += 1
        rows += 1
    }

    @inline(__always)
    func append(_ value: UnsafePointer<UInt8>, _ length: Int) {
        definitionLevels.append(1)
        rows += 1
        if useDictionary {
            indices.append(UInt32(entry(for: value, length)))
            if dictionary.count > dictionaryLimit { fallBackToPlain() }
        } else {
            appendPlain(value, length, to: plain)
        }
    }

    @inline(__always)
    private func appendPlain(_ value: UnsafePointer<UInt8>, _ length: Int, to out: ByteBuffer) {
        if isString {
            var prefix = UInt32(length).littleEndian
            withUnsafeBytes(of: &prefix) { out.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 4) }
        }
        out.append(value, length)
    }

    @inline(__always)
    private static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        var i = 0
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, inside the value.
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(p[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 29)
    }

    /// The dictionary entry number of a value, adding it when new.
    @inline(__always)
    private func entry(for value: UnsafePointer<UInt8>, _ length: Int) -> Int {
        let h = ParquetColumnEncoder.hash(value, length)
        let mask = slotMask
        let table = slots.base
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(table[s])
            if e < 0 { break }
            // SAFETY: entry e's `length` bytes lie in `dictionary` at entryStart[e].
            if entryHash[e] == h && entryLength[e] == length
                && (length == 0 || memcmp(dictionary.base + entryStart[e], value, length) == 0)
            {
                return e
            }
            s = (s + 1) & mask
        }
        let e = entryStart.count
        appendPlain(value, length, to: dictionary)
        entryStart.append(dictionary.count - length)
        entryLength.append(length)
        entryHash.append(h)
        table[s] = Int32(e)
        if entryStart.count * 2 > slots.count { growSlots() }
        return e
    }

    private func growSlots() {
        let size = slots.count * 2
        slots.fill(-1, count: size)
        slotMask = size - 1
        for e in 0..<entryHash.count {
            var s = Int(truncatingIfNeeded: entryHash[e]) & slotMask
            while slots[s] >= 0 { s = (s + 1) & slotMask }
            slots[s] = Int32(e)
        }
    }

    private func clearDictionary() {
        dictionary.count = 0
        entryStart.removeAll()
        entryLength.removeAll()
        entryHash.removeAll()
        let size = slots.count > 1 << 16 ? 1 << 12 : slots.count
        slots.removeAll(keepingCapacity: 1 << 16)
        slots.fill(-1, count: size)
        slotMask = size - 1
    }

    /// Re-encodes the chunk's values so far as PLAIN and stops using the dictionary for this chunk.
    private func fallBackToPlain() {
        plain.count = 0
        for i in 0..<indices.count {
            // SAFETY: every index names an entry of the current dictionary.
            let e = Int(indices[i])
            appendPlain(dictionary.base + entryStart[e], entryLength[e], to: plain)
        }
        indices.removeAll()
        clearDictionary()
        useDictionary = false
    }

    // MARK: - encoding a chunk

    /// Compares two values in the column's sort order: signed for INT64, unsigned bytes for strings.
    private func precedes(_ a: UnsafePointer<UInt8>, _ an: Int, _ b: UnsafePointer<UInt8>, _ bn: Int) -> Bool {
        if !isString {
            // SAFETY: INT64 values are 8 bytes.
            return UnsafeRawPointer(a).loadUnaligned(as: Int64.self).littleEndian
                < UnsafeRawPointer(b).loadUnaligned(as: Int64.self).littleEndian
        }
        let c = memcmp(a, b, min(an, bn))
        return c < 0 || (c == 0 && an < bn)
    }

    /// Calls `body` with every distinct candidate for min and max (the dictionary entries, or every
    /// PLAIN value).
    private func forEachCandidate(_ body: (UnsafePointer<UInt8>, Int) -> Void) {
        if useDictionary {
            for e in 0..<entryStart.count { body(dictionary.base + entryStart[e], entryLength[e]) }
            return
        }
        var p = 0
        // SAFETY: `plain` holds whole PLAIN values written by appendPlain, so each length prefix
        // is followed by that many bytes.
        while p < plain.count {
            if isString {
                let n = Int(UInt32(littleEndian: UnsafeRawPointer(plain.base + p).loadUnaligned(as: UInt32.self)))
                body(plain.base + p + 4, n)
                p += 4 + n
            } else {
                body(plain.base + p, 8)
                p += 8
            }
        }
    }

    private func statistics() -> ParquetStatistics {
        var minValue: (UnsafePointer<UInt8>, Int)?
        var maxValue: (UnsafePointer<UInt8>, Int)?
        forEachCandidate { p, n in
            if let m = minValue { if precedes(p, n, m.0, m.1) { minValue = (p, n) } } else { minValue = (p, n) }
            if let m = maxValue { if precedes(m.0, m.1, p, n) { maxValue = (p, n) } } else { maxValue = (p, n) }
        }
        var stats = ParquetStatistics(min: nil, max: nil, nullCount: Int64(nullCount))
        if let lo = minValue, let hi = maxValue,
            lo.1 <= ParquetColumnEncoder.maxStatisticsSize, hi.1 <= ParquetColumnEncoder.maxStatisticsSize
        {
            stats.min = Array(UnsafeBufferPointer(start: lo.0, count: lo.1))
            stats.max = Array(UnsafeBufferPointer(start: hi.0, count: hi.1))
        }
        return stats
    }

    private var uncompressedTotal = 0

    private func emitPage(dictionaryPage: Bool, values: Int, encoding: ParquetEncoding) {
        compressed.count = 0
        compressor.compress(page.bytes, into: compressed)
        header.count = 0
        if dictionaryPage {
            ParquetMetadata.dictionaryPageHeader(
                uncompressed: page.count, compressed: compressed.count, values: values, into: header)
        } else {
            ParquetMetadata.dataPageHeader(
                uncompressed: page.count, compressed: compressed.count, values: values, encoding: encoding,
                into: header)
        }
        chunk.append(header.base, header.count)
        chunk.append(compressed.base, compressed.count)
        uncompressedTotal += header.count + page.count
    }

    /// Encodes the buffered row group into `chunk` and returns its metadata (offsets relative to
    /// the chunk's start), then clears the buffered values.
    func encodeChunk() -> ParquetColumnChunkMeta {
        chunk.count = 0
        uncompressedTotal = 0
        if useDictionary && entryStart.count == 0 { fallBackToPlain() }
        let stats = statistics()
        var dictionaryOffset: Int64?
        if useDictionary {
            dictionaryOffset = 0
            page.count = 0
            page.append(dictionary.base, dictionary.count)
            emitPage(dictionaryPage: true, values: entryStart.count, encoding: .plain)
        }
        let dataOffset = Int64(chunk.count)
        let bitWidth = RLEHybrid.bitWidth(entryStart.count - 1)
        let encoding: ParquetEncoding = useDictionary ? .rleDictionary : .plain
        var r = 0
        var v = 0
        var p = 0
        repeat {
            let r0 = r
            let v0 = v
            let p0 = p
            var bytes = 0
            // SAFETY: r < rows = definitionLevels.count; a level of 1 means one more value in
            // `indices` or one more whole PLAIN value in `plain` (as in forEachCandidate).
            while r < rows && r - r0 < pageRows && bytes < pageBytes {
                if definitionLevels[r] == 1 {
                    v += 1
                    if useDictionary {
                        bytes += 4
                    } else {
                        let n = isString
                            ? 4 + Int(UInt32(littleEndian: UnsafeRawPointer(plain.base + p).loadUnaligned(as: UInt32.self)))
                            : 8
                        p += n
                        bytes += n
                    }
                }
                r += 1
            }
            page.count = 0
            page.reserve(4)
            page.count = 4
            RLEHybrid.encode(definitionLevels.base + r0, count: r - r0, bitWidth: 1, into: page)
            var levelBytes = UInt32(page.count - 4).littleEndian
            // SAFETY: the first four bytes of `page` were reserved above for this length.
            withUnsafeBytes(of: &levelBytes) { UnsafeMutableRawPointer(page.base).copyMemory(from: $0.baseAddress!, byteCount: 4) }
            if useDictionary {
                page.append(UInt8(bitWidth))
                if v > v0 {
                    RLEHybrid.encode(indices.base + v0, count: v - v0, bitWidth: bitWidth, into: page)
                }
            } else if p > p0 {
                page.append(plain.base + p0, p - p0)
            }
            emitPage(dictionaryPage: false, values: r - r0, encoding: encoding)
        } while r < rows
        let meta = ParquetColumnChunkMeta(
            type: column.physicalType,
            encodings: useDictionary ? [.plain, .rle, .rleDictionary] : [.plain, .rle],
            name: column.name, codec: compressor.codec, numValues: Int64(rows),
            totalUncompressedSize: Int64(uncompressedTotal), totalCompressedSize: Int64(chunk.count),
            dataPageOffset: dataOffset, dictionaryPageOffset: dictionaryOffset, statistics: stats)
        reset()
        return meta
    }

    private func reset() {
        rows = 0
        nullCount = 0
        definitionLevels.removeAll(keepingCapacity: 16 << 20)
        indices.removeAll(keepingCapacity: 16 << 20)
        plain.count = 0
        clearDictionary()
        useDictionary = true
        let keep = 4 << 20
        plain.shrink(to: keep)
        page.shrink(to: keep)
        compressed.shrink(to: keep)
    }
}
