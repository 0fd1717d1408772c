/// Stage-by-stage timing for the benchmark executable. Each call runs one pipeline stage alone, on
/// one thread, over what the previous stage produced, so the cost of every stage is visible:
/// walk → read → inflate → scan+flatten → in-memory sort → spill+merge → format → compress.
/// It holds every intermediate in memory; it is a measuring tool, not a way to run the job.
import Glibc

public final class StageProbe {
    /// One measured stage.
    public struct Measurement: Sendable {
        public var seconds: Double
        /// Bytes the stage consumed (compressed for read, JSON for inflate and scan, text for compress).
        public var bytes: Int
        public var rows: Int
        /// A value derived from the work, so it cannot be optimised away.
        public var checksum: Int
    }

    private let root: String
    private var files: [SourceFile] = []
    private var decoded: [[UInt8]] = []
    private var arena: RowArena?
    private let text = ByteBuffer(capacity: 1 << 20)
    private let layout: RowLayout
    private let plan: FieldPlan

    public init(root: String) throws(TrailMergeError) {
        self.root = root
        let fields = ProcessOptions.defaultFields
        plan = try FieldPlan(fields: fields)
        layout = RowLayout(fieldCount: fields.count, sortColumns: [0, 1], arrayColumns: fields.map(\.hasArray))
    }

    private func timed(_ body: () throws(TrailMergeError) -> (Int, Int, Int)) throws(TrailMergeError) -> Measurement {
        let start = ContinuousClock.now
        let (bytes, rows, checksum) = try body()
        return Measurement(seconds: secondsSince(start), bytes: bytes, rows: rows, checksum: checksum)
    }

    public func walk() throws(TrailMergeError) -> Measurement {
        try timed { () throws(TrailMergeError) in
            files = try SourceWalker(pattern: SourcePattern(SourcePattern.defaultPattern)).walk([root])
            return (files.reduce(0) { $0 + $1.size }, 0, files.count)
        }
    }

    public func read() throws(TrailMergeError) -> Measurement {
        try timed { () throws(TrailMergeError) in
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            var total = 0
            for file in files {
                let f = try ReadableFile(path: file.path)
                while true {
                    let n = try f.read(into: buffer, count: 1 << 20)
                    if n == 0 { break }
                    total += n
                }
            }
            return (total, 0, total)
        }
    }

    public func inflate() throws(TrailMergeError) -> Measurement {
        decoded.removeAll()
        return try timed { () throws(TrailMergeError) in
            let reader = GzipReader()
            let chunk = ByteBuffer(capacity: 1 << 20)
            var total = 0
            for file in files {
                try reader.open(file.path)
                chunk.count = 0
                while true {
                    chunk.reserve(256 << 10)
                    let n = try reader.read(into: chunk.base + chunk.count, capacity: chunk.capacity - chunk.count)
                    if n == 0 { break }
                    chunk.count += n
                }
                reader.close()
                total += chunk.count
                decoded.append(chunk.array)
            }
            return (total, 0, total)
        }
    }

    public func scanAndFlatten() throws(TrailMergeError) -> Measurement {
        let arena = RowArena(layout: layout, budget: Int.max / 4)
        self.arena = arena
        let scanner = RecordScanner(plan: plan, recordsPath: "Records")
        return try timed { () throws(TrailMergeError) in
            var bytes = 0
            var records = 0
            for data in decoded {
                scanner.beginFile()
                let outcome = data.withUnsafeBufferPointer { b in
                    try? scanner.scan(b.baseAddress!, count: b.count, from: 0, eof: true, offset: 0) { values in
                        arena.append(values)
                        return false
                    }
                }
                guard outcome == .finished else { throw .invalidJSON(path: root, offset: 0, reason: "benchmark input did not scan") }
                bytes += data.count
                records += scanner.records
            }
            return (bytes, arena.count, records)
        }
    }

    public func sortInMemory() throws(TrailMergeError) -> Measurement {
        guard let arena else { return Measurement(seconds: 0, bytes: 0, rows: 0, checksum: 0) }
        return try timed { () throws(TrailMergeError) in
            arena.sort()
            return (arena.byteCount, arena.count, arena.count > 0 ? Int(arena.refs[0].length) : 0)
        }
    }

    /// Writes the sorted rows as runs of about `runBytes` each, then merges them into nothing.
    public func spillAndMerge(runBytes: Int, temp: String) throws(TrailMergeError) -> Measurement {
        guard let arena else { return Measurement(seconds: 0, bytes: 0, rows: 0, checksum: 0) }
        let sorter = ExternalSorter(tempParent: temp, memoryBudget: runBytes * 2, cleanup: Cleanup())
        defer { sorter.removeTemporaries() }
        return try timed { () throws(TrailMergeError) in
            var runs: [String] = []
            var start = 0
            var bytes = 0
            for r in 0..<arena.count {
                bytes += arena.refs[r].length + RowArena.refSize
                if bytes >= runBytes || r == arena.count - 1 {
                    runs.append(try sorter.spill(arena, range: start..<(r + 1)))
                    start = r + 1
                    bytes = 0
                }
            }
            var merged = 0
            var checksum = 0
            _ = try sorter.merge(arenas: [], runs: runs, sorted: true) { (row, length) throws(TrailMergeError) in
                merged += 1
                checksum &+= length
            }
            return (arena.byteCount, merged, checksum &+ runs.count)
        }
    }

    public func format() throws(TrailMergeError) -> Measurement {
        guard let arena else { return Measurement(seconds: 0, bytes: 0, rows: 0, checksum: 0) }
        text.count = 0
        let formatter = RowFormatter(format: .tsv, layout: layout, names: ProcessOptions.defaultFields.map(\.text))
        return try timed { () throws(TrailMergeError) in
            try arena.forEachRow { (row, length) throws(TrailMergeError) in
                formatter.write(row, length)
                if formatter.block.count >= RowFormatter.blockSize {
                    text.append(formatter.block.base, formatter.block.count)
                    formatter.block.count = 0
                }
            }
            text.append(formatter.block.base, formatter.block.count)
            return (text.count, arena.count, text.count)
        }
    }

    /// Compresses the formatted text as the output stage does, into /dev/null.
    public func compress(level: Int, threads: Int) throws(TrailMergeError) -> Measurement {
        let writer = try BufferedWriter(creating: "/dev/null")
        let sink = ParallelGzipSink(writer: writer, level: level, maxInFlight: threads + 1)
        let block = ByteBuffer(capacity: RowFormatter.blockSize)
        return try timed { () throws(TrailMergeError) in
            var offset = 0
            while offset < text.count {
                let n = min(RowFormatter.blockSize, text.count - offset)
                block.count = 0
                block.append(text.base + offset, n)
                try sink.write(block)
                offset += n
            }
            try sink.finish()
            return (text.count, 0, sink.bytesWritten)
        }
    }
}

