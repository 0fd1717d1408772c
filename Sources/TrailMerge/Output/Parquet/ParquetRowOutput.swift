/// The Parquet output of `process`. In: merged encoded rows, in order, on the merge thread (with
/// `RowLayout.nullsDistinct`, so NULL is the lone marker byte 0x01). Out: a Parquet file through the
/// output's writer. Invariants: columns keep the field order and names; `eventTime` becomes a
/// TIMESTAMP(MILLIS, UTC) column, every other field a STRING column; row groups follow the sorted
/// order, so each row group's eventTime statistics are tight.

/// Parquet settings of `process`.
public struct ParquetOutputOptions: Sendable {
    public var codec = ParquetCodec.snappy
    /// Rows per row group; nil: bounded by `rowGroupBytes` (and 1,048,576 rows).
    public var rowGroupRows: Int?
    /// Buffered bytes per row group; nil: an eighth of the memory budget, between 1 MiB and 128 MiB.
    public var rowGroupBytes: Int?

    public init() {}

    public static let defaultMaxRows = 1 << 20

    /// The writer options for a run with `memoryBudget` and `threads`.
    func writerOptions(memoryBudget: Int, threads: Int) -> ParquetWriterOptions {
        var o = ParquetWriterOptions()
        o.codec = codec
        o.rowGroupRows = rowGroupRows ?? ParquetOutputOptions.defaultMaxRows
        o.rowGroupBytes = rowGroupBytes ?? (rowGroupRows != nil ? Int.max : min(128 << 20, max(1 << 20, memoryBudget / 8)))
        o.threads = max(1, threads)
        return o
    }
}

/// What the pipeline's output stage writes rows to (text formats or Parquet).
protocol RowSink: AnyObject {
    func write(_ row: UnsafePointer<UInt8>, _ length: Int) throws(TrailMergeError)
    func finish() throws(TrailMergeError)
    var bytesWritten: Int { get }
    /// Warnings reported through the run's events while writing.
    var warnings: Int { get }
}

extension RowOutput: RowSink {
    var warnings: Int { 0 }
}

final class ParquetRowOutput: RowSink {
    private let parquet: ParquetWriter
    private let writer: BufferedWriter
    private let layout: RowLayout
    private let columnCount: Int
    private let events: @Sendable (RunEvent) -> Void
    /// Per column (sort-key order): the value's span in the row, and a scratch for unescaping.
    private let starts: UnsafeMutablePointer<Int>
    private let lengths: UnsafeMutablePointer<Int>
    private let scratch: [ByteBuffer]
    private(set) var warnings = 0

    /// Column kinds: `eventTime` is a timestamp, everything else a string.
    static func columns(names: [String]) -> [ParquetColumn] {
        names.map { ParquetColumn(name: $0, kind: $0 == "eventTime" ? .timestampMillis : .string) }
    }

    init(
        writer: BufferedWriter, layout: RowLayout, names: [String], options: ParquetOutputOptions,
        memoryBudget: Int, threads: Int, events: @escaping @Sendable (RunEvent) -> Void
    ) throws(TrailMergeError) {
        precondition(layout.nullsDistinct, "Parquet output needs rows that keep NULL apart from \"\"")
        self.writer = writer
        self.layout = layout
        self.events = events
        columnCount = layout.keyOrder.count
        starts = .allocate(capacity: max(columnCount, 1))
        lengths = .allocate(capacity: max(columnCount, 1))
        scratch = (0..<columnCount).map { _ in ByteBuffer(capacity: 256) }
        parquet = try ParquetWriter(
            sink: writer, columns: ParquetRowOutput.columns(names: names),
            options: options.writerOptions(memoryBudget: memoryBudget, threads: threads))
    }

    deinit {
        starts.deallocate()
        lengths.deallocate()
    }

    @inline(__always)
    func write(_ row: UnsafePointer<UInt8>, _ length: Int) throws(TrailMergeError) {
        // Split at the 0x00 terminators (values never hold a raw 0x00).
        var position = 0
        for k in 0..<columnCount {
            var stop = position
            while stop < length && row[stop] != 0 { stop += 1 }
            starts[k] = position
            lengths[k] = stop - position
            position = stop + 1
        }
        for f in 0..<columnCount {
            let k = layout.positionOfField[f]
            let start = starts[k]
            let n = lengths[k]
            let value = row + start
            if n == 1 && value[0] == 1 {
                parquet.setValue(f, nil)
                continue
            }
            // Undo the 0x00/0x01 escapes (0x01 0x01 -> 0x00, 0x01 0x02 -> 0x01) when there are any.
            var escaped = false
            for j in 0..<n where value[j] == 1 {
                escaped = true
                break
            }
            if !escaped {
                parquet.setValue(f, UnsafeBufferPointer(start: value, count: n))
                continue
            }
            let out = scratch[k]
            out.count = 0
            var j = 0
            while j < n {
                if value[j] == 1 && j + 1 < n {
                    out.append(value[j + 1] - 1)
                    j += 2
                } else {
                    out.append(value[j])
                    j += 1
                }
            }
            parquet.setValue(f, out.bytes)
        }
        try parquet.endRow()
    }

    func finish() throws(TrailMergeError) {
        try parquet.finish()
        try writer.flush()
        if parquet.invalidTimestamps > 0 {
            warnings += 1
            events(
                .warning(
                    "\(parquet.invalidTimestamps) eventTime values are not ISO-8601 UTC times and were written as NULL (the first: '\(parquet.firstInvalidTimestamp ?? "")')"
                ))
        }
    }

    var bytesWritten: Int { writer.bytesWritten }
}
