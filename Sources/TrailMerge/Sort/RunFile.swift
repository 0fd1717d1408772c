/// Sorted runs on disk. In: rows in order. Out: a file of `[UInt32 little-endian length][row bytes]`
/// records, read back through a buffered reader whose buffer size the memory budget decides.
/// Invariant: a run file is only ever read by the process that wrote it, in the order written.
import Glibc

/// Writes rows to a new run file.
final class RunWriter {
    let path: String
    private let writer: BufferedWriter
    private(set) var rows = 0

    init(path: String, bufferSize: Int, in folder: TempDirectory) throws(TrailMergeError) {
        self.path = path
        // Created with signal handling held back, so a cleanup cannot miss a file made meanwhile.
        writer = try folder.withSignalsDeferred { () throws(TrailMergeError) in
            try BufferedWriter(creating: path, capacity: bufferSize, exclusive: true)
        }
    }

    @inline(__always)
    func write(_ row: UnsafePointer<UInt8>, _ length: Int) throws(TrailMergeError) {
        var header = UInt32(length).littleEndian
        try withUnsafeBytes(of: &header) { (raw) throws(TrailMergeError) in try writer.write(raw) }
        try writer.write(UnsafeRawBufferPointer(start: row, count: length))
        rows += 1
    }

    func close() throws(TrailMergeError) {
        try writer.close(sync: false)
    }
}

/// Reads a run file row by row.
final class RunReader {
    let path: String
    private let file: ReadableFile
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEnd = false

    init(path: String, bufferSize: Int) throws(TrailMergeError) {
        self.path = path
        file = try ReadableFile(path: path)
        capacity = max(bufferSize, 4096)
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    private func fill(_ needed: Int) throws(TrailMergeError) {
        if needed > capacity {
            var newCapacity = capacity * 2
            while newCapacity < needed { newCapacity *= 2 }
            let newBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            newBuffer.update(from: buffer + start, count: end - start)
            buffer.deallocate()
            buffer = newBuffer
            capacity = newCapacity
            end -= start
            start = 0
        } else if start > 0 {
            let pending = end - start
            buffer.update(from: buffer + start, count: pending)
            start = 0
            end = pending
        }
        while end - start < needed && !atEnd {
            let n = try file.read(into: buffer + end, count: capacity - end)
            if n == 0 { atEnd = true } else { end += n }
        }
    }

    /// The next row, valid until the following call; nil at the end of the run.
    @inline(__always)
    func next() throws(TrailMergeError) -> (UnsafePointer<UInt8>, Int)? {
        if end - start < 4 {
            try fill(4)
            if end == start { return nil }
            guard end - start >= 4 else { throw .unreadable(path: path, reason: "temporary run file is truncated") }
        }
        let length = Int(UInt32(littleEndian: UnsafeRawPointer(buffer + start).loadUnaligned(as: UInt32.self)))
        if end - start < 4 + length {
            try fill(4 + length)
            guard end - start >= 4 + length else {
                throw .unreadable(path: path, reason: "temporary run file is truncated")
            }
        }
        let row = UnsafePointer(buffer + start + 4)
        start += 4 + length
        return (row, length)
    }

    func close() { file.close() }
}
