/// The Parquet output of `process`. In: merged encoded rows, in order, on the merge thread (with
/// `RowLayout.nullsDistinct`, so NULL is the lone marker byte 0x01). Out: a Parquet file through the
/// output's writer. The merge thread only copies rows into 1 MiB blocks; one background thread
/// decodes them into the Parquet writer, so encoding overlaps the merge. Invariants: rows reach the
/// writer in merge order; columns keep the field order and names; `eventTime` becomes a
/// TIMESTAMP(MILLIS, UTC) column, every other field a STRING column; row groups follow the sorted
/// order, so each row group's eventTime statistics are tight.
import Dispatch

/// Parquet settings of `process`.
public struct ParquetOutputOptions: Sendable {
    public var codec = ParquetCodec.snappy
    /// Rows per row group; nil: 1,048,576, or no row limit when `rowGroupBytes` is given.
    public var rowGroupRows: Int?
    /// Buffered bytes per row group; nil: an eighth of the memory budget, between 1 MiB and
    /// 128 MiB. A row group closes at whichever limit it reaches first.
    public var rowGroupBytes: Int?

    public init() {}

    public static let defaultMaxRows = 1 << 20

    /// The writer options for a run with `memoryBudget` and `threads`.
    func writerOptions(memoryBudget: Int, threads: Int) -> ParquetWriterOptions {
        var o = ParquetWriterOptions()
        o.codec = codec
        o.rowGroupRows = rowGroupRows ?? (rowGroupBytes != nil ? Int.max : ParquetOutputOptions.defaultMaxRows)
        o.rowGroupBytes = rowGroupBytes ?? min(128 << 20, max(1 << 20, memoryBudget / 8))
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

final class ParquetRowOutput: RowSink, @unchecked Sendable {
    static let blockSize = 1 << 20
    /// Rows not yet handed to the background thread: `[UInt32 length][row bytes]`...
    private let raw = ByteBuffer(capacity: ParquetRowOutput.blockSize + (64 << 10))
    private let queue = DispatchQueue(label: "trailmerge.parquet", qos: .userInitiated)
    /// Blocks queued or being encoded at once (bounds the memory they hold).
    private let slots = DispatchSemaphore(value: 2)
    private let failure = Locked<TrailMergeError?>(nil)
    // Below: touched only by the background thread, or by `finish` once it is idle.
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
        var header = UInt32(length).littleEndian
        withUnsafeBytes(of: &header) { raw.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 4) }
        raw.append(row, length)
        if raw.count >= ParquetRowOutput.blockSize { try submit() }
    }

    private func submit() throws(TrailMergeError) {
        if let error = failure.withLock({ $0 }) { throw error }
        guard raw.count > 0 else { return }
        let block = raw.array
        raw.count = 0
        raw.shrink(to: ParquetRowOutput.blockSize + (64 << 10))
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            guard failure.withLock({ $0 }) == nil else { return }
            do throws(TrailMergeError) {
                try block.withUnsafeBufferPointer { (buffer) throws(TrailMergeError) in
                    guard let base = buffer.baseAddress else { return }
                    var position = 0
                    // SAFETY: `write` stored each row as a 4-byte length and that many bytes.
                    while position + 4 <= buffer.count {
                        let length = Int(UInt32(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self)))
                        try encode(base + position + 4, length)
                        position += 4 + length
                    }
                }
            } catch {
                failure.withLock { $0 = error }
            }
        }
    }

    /// Splits one encoded row into the Parquet writer's columns (background thread).
    @inline(__always)
    private func encode(_ row: UnsafePointer<UInt8>, _ length: Int) throws(TrailMergeError) {
        // Split at the 0x00 terminators (values never hold a raw 0x00).
        // SAFETY: every read below is at an index < length, or within a span found inside it.
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
        try submit()
        queue.sync {}
        if let error = failure.withLock({ $0 }) { throw error }
        try parquet.finish()
        try writer.flush()
        if parquet.invalidTimestamps > 0 {
            warnings += 1
            let n = parquet.invalidTimestamps
            let what = n == 1
                ? "1 eventTime value is not an ISO-8601 UTC time and was written as NULL"
                : "\(n) eventTime values are not ISO-8601 UTC times and were written as NULL"
            events(.warning("\(what) (the first: '\(parquet.firstInvalidTimestamp ?? "")')"))
        }
    }

    var bytesWritten: Int { writer.bytesWritten }
}
