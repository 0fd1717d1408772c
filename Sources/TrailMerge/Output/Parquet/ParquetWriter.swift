/// Writes a Parquet file. In: rows, each a value (bytes) or NULL per column. Out: `PAR1`, row
/// groups of column chunks, the Thrift `FileMetaData` footer, its length and `PAR1`, through a
/// byte sink. Invariants: a row group closes at `rowGroupRows` rows or `rowGroupBytes` of buffered
/// values, whichever comes first; columns of a row group are encoded in parallel but written in
/// schema order; nothing is buffered across row groups except the footer's metadata.
import Dispatch

/// Where a Parquet file's bytes go (a `BufferedWriter` for files).
protocol ParquetSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws(TrailMergeError)
}

extension BufferedWriter: ParquetSink {}

/// Tunables of a `ParquetWriter`; the defaults suit CloudTrail tables.
struct ParquetWriterOptions: Sendable {
    var codec = ParquetCodec.snappy
    /// A row group closes after this many rows...
    var rowGroupRows = 1 << 20
    /// ...or once its buffered values take this many bytes.
    var rowGroupBytes = 128 << 20
    /// A column chunk's dictionary may grow to this many bytes before the chunk falls back to PLAIN.
    var dictionaryLimit = 1 << 20
    /// A data page closes at this many bytes of values or this many rows.
    var pageBytes = 1 << 20
    var pageRows = 20_000
    /// Column chunks of a row group encoded at once.
    var threads = 1
}

final class ParquetWriter {
    static let magic: [UInt8] = Array("PAR1".utf8)
    static let createdBy = "trailmerge version 0.1.0"

    let columns: [ParquetColumn]
    private let options: ParquetWriterOptions
    private let sink: ParquetSink
    private let encoders: [ParquetColumnEncoder]
    private var position = 0
    private var rowGroups: [ParquetRowGroupMeta] = []
    private var groupRows = 0
    /// Value bytes appended to the row group, and their count at the last exact memory check.
    private var groupValueBytes = 0
    private var checkedValueBytes = 0
    private var finished = false
    /// Rows appended so far.
    private(set) var rows = 0
    /// Timestamp values that were not ISO-8601 UTC times and were written as NULL.
    private(set) var invalidTimestamps = 0
    /// The first such value, for the warning.
    private(set) var firstInvalidTimestamp: String?

    init(sink: ParquetSink, columns: [ParquetColumn], options: ParquetWriterOptions = ParquetWriterOptions())
        throws(TrailMergeError)
    {
        precondition(!columns.isEmpty, "a Parquet file needs at least one column")
        self.sink = sink
        self.columns = columns
        self.options = options
        encoders = columns.map {
            ParquetColumnEncoder(
                column: $0, codec: options.codec, dictionaryLimit: options.dictionaryLimit,
                pageBytes: options.pageBytes, pageRows: options.pageRows)
        }
        try write(ParquetWriter.magic)
    }

    private func write(_ bytes: UnsafeBufferPointer<UInt8>) throws(TrailMergeError) {
        try sink.write(UnsafeRawBufferPointer(bytes))
        position += bytes.count
    }

    private func write(_ bytes: [UInt8]) throws(TrailMergeError) {
        var error: TrailMergeError?
        bytes.withUnsafeBufferPointer { buffer in
            do throws(TrailMergeError) { try write(buffer) } catch let e { error = e }
        }
        if let error { throw error }
    }

    /// Sets column `index` of the current row to `value` (nil: NULL). Every column must be set
    /// exactly once before `endRow()`.
    @inline(__always)
    func setValue(_ index: Int, _ value: UnsafeBufferPointer<UInt8>?) {
        let encoder = encoders[index]
        groupValueBytes &+= value?.count ?? 0
        guard let value else {
            encoder.appendNull()
            return
        }
        switch encoder.column.kind {
        case .string:
            // An empty buffer may have no base address; any valid pointer will do for 0 bytes.
            if let base = value.baseAddress {
                encoder.append(base, value.count)
            } else {
                var zero: UInt8 = 0
                withUnsafePointer(to: &zero) { encoder.append($0, 0) }
            }
        case .timestampMillis:
            guard let millis = ISOTimestamp.epochMillis(value) else {
                invalidTimestamps += 1
                if firstInvalidTimestamp == nil { firstInvalidTimestamp = String(decoding: value, as: UTF8.self) }
                encoder.appendNull()
                return
            }
            var le = millis.littleEndian
            withUnsafeBytes(of: &le) { encoder.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        }
    }

    /// Ends the current row; closes the row group when it is full.
    @inline(__always)
    func endRow() throws(TrailMergeError) {
        rows += 1
        groupRows += 1
        if groupRows >= options.rowGroupRows {
            try flushRowGroup()
        } else if groupRows & 1023 == 0 || groupValueBytes - checkedValueBytes >= options.rowGroupBytes / 16 {
            // The exact buffered size (dictionaries make it smaller than the value bytes) every
            // 1024 rows, or sooner when large values arrive.
            checkedValueBytes = groupValueBytes
            if encoders.reduce(0, { $0 + $1.bufferedBytes }) >= options.rowGroupBytes { try flushRowGroup() }
        }
    }

    /// Appends one row: a value or nil (NULL) per column.
    func append(row: [UnsafeBufferPointer<UInt8>?]) throws(TrailMergeError) {
        precondition(row.count == encoders.count, "a row needs one value per column")
        for (index, value) in row.enumerated() { setValue(index, value) }
        try endRow()
    }

    /// Appends one row from arrays (tests and small callers).
    func append(row: [[UInt8]?]) throws(TrailMergeError) {
        precondition(row.count == encoders.count, "a row needs one value per column")
        for (index, value) in row.enumerated() {
            if let value { value.withUnsafeBufferPointer { setValue(index, $0) } } else { setValue(index, nil) }
        }
        try endRow()
    }

    private func flushRowGroup() throws(TrailMergeError) {
        guard groupRows > 0 else { return }
        var metas = [ParquetColumnChunkMeta?](repeating: nil, count: encoders.count)
        let encoders = self.encoders
        if options.threads > 1 && encoders.count > 1 {
            let results = Locked(metas)
            let box = EncoderList(value: encoders)
            DispatchQueue.concurrentPerform(iterations: encoders.count) { c in
                let meta = box.value[c].encodeChunk()
                results.withLock { $0[c] = meta }
            }
            metas = results.withLock { $0 }
        } else {
            for c in encoders.indices { metas[c] = encoders[c].encodeChunk() }
        }
        let groupStart = position
        var chunks: [ParquetColumnChunkMeta] = []
        var totalUncompressed: Int64 = 0
        for (c, encoder) in encoders.enumerated() {
            var meta = metas[c]!
            let start = Int64(position)
            meta.dataPageOffset += start
            if let d = meta.dictionaryPageOffset { meta.dictionaryPageOffset = d + start }
            try write(encoder.chunk.bytes)
            encoder.chunk.count = 0
            encoder.chunk.shrink(to: 4 << 20)
            totalUncompressed += meta.totalUncompressedSize
            chunks.append(meta)
        }
        rowGroups.append(
            ParquetRowGroupMeta(
                columns: chunks, numRows: Int64(groupRows), fileOffset: Int64(groupStart),
                totalByteSize: totalUncompressed, totalCompressedSize: Int64(position - groupStart)))
        groupRows = 0
        groupValueBytes = 0
        checkedValueBytes = 0
    }

    /// Writes the last row group and the footer. The sink is not flushed or closed.
    func finish() throws(TrailMergeError) {
        precondition(!finished, "finish() called twice")
        finished = true
        try flushRowGroup()
        let footer = ByteBuffer(capacity: 4096)
        ParquetMetadata.fileMetaData(
            columns: columns, rowGroups: rowGroups, numRows: Int64(rows), createdBy: ParquetWriter.createdBy,
            into: footer)
        var length = UInt32(footer.count).littleEndian
        withUnsafeBytes(of: &length) { footer.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 4) }
        footer.append(ParquetWriter.magic)
        try write(footer.bytes)
    }

    /// Row groups written so far.
    var rowGroupCount: Int { rowGroups.count }
}

/// The encoders of a row group, handed to the pool threads; each thread touches only its own.
private struct EncoderList: @unchecked Sendable {
    let value: [ParquetColumnEncoder]
}
