/// Parquet file metadata (the footer) and page headers, encoded with the Thrift compact protocol
/// in the field ids of parquet-format's `parquet.thrift`. In: what the column encoders measured.
/// Out: `PageHeader` and `FileMetaData` bytes. Invariant: every required field is written, and
/// optional ones only when they carry information.

enum ParquetPhysicalType: Int32 {
    case int64 = 2
    case byteArray = 6
}

enum ParquetEncoding: Int32 {
    case plain = 0
    case rle = 3
    case rleDictionary = 8
}

enum ParquetPageType: Int32 {
    case dataPage = 0
    case dictionaryPage = 2
}

/// A column chunk's statistics: `min`/`max` are PLAIN-encoded without the length prefix.
struct ParquetStatistics {
    var min: [UInt8]?
    var max: [UInt8]?
    var nullCount: Int64
}

struct ParquetColumnChunkMeta {
    var type: ParquetPhysicalType
    var encodings: [ParquetEncoding]
    var name: String
    var codec: ParquetCodec
    var numValues: Int64
    var totalUncompressedSize: Int64
    var totalCompressedSize: Int64
    /// Offsets from the chunk's first byte until the writer places the chunk in the file.
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
    var statistics: ParquetStatistics
}

struct ParquetRowGroupMeta {
    var columns: [ParquetColumnChunkMeta]
    var numRows: Int64
    var fileOffset: Int64
    var totalByteSize: Int64
    var totalCompressedSize: Int64
}

enum ParquetMetadata {
    /// A data page v1 header.
    static func dataPageHeader(
        uncompressed: Int, compressed: Int, values: Int, encoding: ParquetEncoding, into out: ByteBuffer
    ) {
        var w = ThriftCompactWriter(out: out)
        w.i32(1, ParquetPageType.dataPage.rawValue)
        w.i32(2, Int32(uncompressed))
        w.i32(3, Int32(compressed))
        w.structBegin(5)
        w.i32(1, Int32(values))
        w.i32(2, encoding.rawValue)
        w.i32(3, ParquetEncoding.rle.rawValue)
        w.i32(4, ParquetEncoding.rle.rawValue)
        w.structEnd()
        w.finish()
    }

    static func dictionaryPageHeader(uncompressed: Int, compressed: Int, values: Int, into out: ByteBuffer) {
        var w = ThriftCompactWriter(out: out)
        w.i32(1, ParquetPageType.dictionaryPage.rawValue)
        w.i32(2, Int32(uncompressed))
        w.i32(3, Int32(compressed))
        w.structBegin(7)
        w.i32(1, Int32(values))
        w.i32(2, ParquetEncoding.plain.rawValue)
        w.structEnd()
        w.finish()
    }

    /// The `FileMetaData` struct.
    static func fileMetaData(
        columns: [ParquetColumn], rowGroups: [ParquetRowGroupMeta], numRows: Int64, createdBy: String, into out: ByteBuffer
    ) {
        var w = ThriftCompactWriter(out: out)
        w.i32(1, 1)
        // Schema: the root group, then one OPTIONAL leaf per column.
        w.listBegin(2, .structure, count: columns.count + 1)
        w.elementBegin()
        w.string(4, "schema")
        w.i32(5, Int32(columns.count))
        w.structEnd()
        for column in columns {
            w.elementBegin()
            w.i32(1, column.physicalType.rawValue)
            w.i32(3, 1)  // OPTIONAL
            w.string(4, column.name)
            switch column.kind {
            case .string:
                w.i32(6, 0)  // UTF8
                w.structBegin(10)
                w.structBegin(1)  // STRING
                w.structEnd()
                w.structEnd()
            case .timestampMillis:
                w.i32(6, 9)  // TIMESTAMP_MILLIS
                w.structBegin(10)
                w.structBegin(8)  // TIMESTAMP
                w.bool(1, true)  // isAdjustedToUTC
                w.structBegin(2)  // unit
                w.structBegin(1)  // MILLIS
                w.structEnd()
                w.structEnd()
                w.structEnd()
                w.structEnd()
            }
            w.structEnd()
        }
        w.i64(3, numRows)
        w.listBegin(4, .structure, count: rowGroups.count)
        for (ordinal, group) in rowGroups.enumerated() {
            w.elementBegin()
            w.listBegin(1, .structure, count: group.columns.count)
            for chunk in group.columns {
                w.elementBegin()
                w.i64(2, chunk.dictionaryPageOffset ?? chunk.dataPageOffset)
                w.structBegin(3)
                columnMetaData(chunk, &w)
                w.structEnd()
                w.structEnd()
            }
            w.i64(2, group.totalByteSize)
            w.i64(3, group.numRows)
            w.i64(5, group.fileOffset)
            w.i64(6, group.totalCompressedSize)
            w.i16(7, Int16(truncatingIfNeeded: ordinal))
            w.structEnd()
        }
        w.string(6, createdBy)
        // column_orders: TYPE_ORDER for every column, so readers trust min_value/max_value.
        w.listBegin(7, .structure, count: columns.count)
        for _ in columns {
            w.elementBegin()
            w.structBegin(1)
            w.structEnd()
            w.structEnd()
        }
        w.finish()
    }

    private static func columnMetaData(_ chunk: ParquetColumnChunkMeta, _ w: inout ThriftCompactWriter) {
        w.i32(1, chunk.type.rawValue)
        w.listBegin(2, .i32, count: chunk.encodings.count)
        for encoding in chunk.encodings { w.zigzag(Int64(encoding.rawValue)) }
        w.listBegin(3, .binary, count: 1)
        Array(chunk.name.utf8).withUnsafeBufferPointer { w.binaryValue($0) }
        w.i32(4, chunk.codec.thriftValue)
        w.i64(5, chunk.numValues)
        w.i64(6, chunk.totalUncompressedSize)
        w.i64(7, chunk.totalCompressedSize)
        w.i64(9, chunk.dataPageOffset)
        if let dictionary = chunk.dictionaryPageOffset { w.i64(11, dictionary) }
        w.structBegin(12)
        w.i64(3, chunk.statistics.nullCount)
        if let max = chunk.statistics.max, let min = chunk.statistics.min {
            w.binary(5, max)
            w.binary(6, min)
        }
        w.structEnd()
    }
}
