/// Reads a file's decoded bytes: gzip (one or more members, recognised by magic bytes) is inflated,
/// anything else is passed through. In: a path. Out: the decoded byte stream in caller-sized pieces.
/// Invariant: corrupt, truncated or trailing-garbage gzip is an error naming the compressed offset.
import CZlib

final class GzipReader {
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity: Int
    private var inputStart = 0
    private var inputEnd = 0
    /// File bytes consumed before `input[inputStart]`.
    private var consumedBefore = 0
    private var file: ReadableFile?
    private var fileAtEnd = false
    private var betweenMembers = true
    private var finished = false
    private(set) var isGzip = false
    private(set) var path = ""
    /// Compressed (on-disk) bytes read from the current file so far.
    private(set) var fileBytesRead = 0

    init(inputCapacity: Int = 256 << 10) {
        self.inputCapacity = inputCapacity
        input = .allocate(capacity: inputCapacity)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_inflate_init_gzip(stream)
        precondition(status == Z_OK, "zlib inflateInit2 failed: \(status)")
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// Opens `path` and sniffs its first bytes for the gzip magic.
    func open(_ path: String) throws(TrailMergeError) {
        file?.close()
        self.path = path
        file = try ReadableFile(path: path)
        inputStart = 0
        inputEnd = 0
        consumedBefore = 0
        fileBytesRead = 0
        fileAtEnd = false
        betweenMembers = true
        finished = false
        try fillInput(minimum: 2)
        isGzip = inputEnd - inputStart >= 2 && input[inputStart] == 0x1f && input[inputStart + 1] == 0x8b
    }

    func close() {
        file?.close()
        file = nil
    }

    /// Reads input until at least `minimum` unconsumed bytes are buffered or the file ends.
    private func fillInput(minimum: Int) throws(TrailMergeError) {
        guard let file else { return }
        if inputStart > 0 && inputCapacity - inputEnd < minimum {
            let pending = inputEnd - inputStart
            input.update(from: input + inputStart, count: pending)
            consumedBefore += inputStart
            inputStart = 0
            inputEnd = pending
        }
        while !fileAtEnd && inputEnd - inputStart < minimum {
            let n = try file.read(into: input + inputEnd, count: inputCapacity - inputEnd)
            if n == 0 { fileAtEnd = true } else { inputEnd += n; fileBytesRead += n }
        }
    }

    private func corrupt(_ reason: String) -> TrailMergeError {
        .corruptGzip(path: path, offset: consumedBefore + inputStart, reason: reason)
    }

    /// Decodes up to `capacity` bytes into `destination`. Returns 0 once the file is exhausted.
    func read(into destination: UnsafeMutablePointer<UInt8>, capacity: Int) throws(TrailMergeError) -> Int {
        if finished || capacity == 0 { return 0 }
        if !isGzip { return try readPlain(into: destination, capacity: capacity) }
        while true {
            if inputStart == inputEnd {
                if inputStart > 0 { consumedBefore += inputStart; inputStart = 0; inputEnd = 0 }
                try fillInput(minimum: 1)
            }
            if betweenMembers {
                if inputStart == inputEnd && fileAtEnd { finished = true; return 0 }
                try fillInput(minimum: 2)
                guard inputEnd - inputStart >= 2, input[inputStart] == 0x1f, input[inputStart + 1] == 0x8b else {
                    throw corrupt("trailing garbage after gzip member")
                }
                inflateReset(stream)
                betweenMembers = false
            }
            let availableIn = inputEnd - inputStart
            stream.pointee.next_in = input + inputStart
            stream.pointee.avail_in = UInt32(availableIn)
            stream.pointee.next_out = destination
            stream.pointee.avail_out = UInt32(min(capacity, Int(UInt32.max)))
            let status = inflate(stream, Z_NO_FLUSH)
            let consumed = availableIn - Int(stream.pointee.avail_in)
            let produced = min(capacity, Int(UInt32.max)) - Int(stream.pointee.avail_out)
            inputStart += consumed
            switch status {
            case Z_STREAM_END:
                betweenMembers = true
            case Z_OK, Z_BUF_ERROR:
                if produced == 0 && consumed == 0 && inputStart == inputEnd && fileAtEnd {
                    throw corrupt("unexpected end of file (truncated gzip member)")
                }
            case Z_DATA_ERROR:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid deflate data"
                throw corrupt(message)
            case Z_MEM_ERROR:
                throw corrupt("zlib ran out of memory")
            default:
                throw corrupt("zlib error \(status)")
            }
            if produced > 0 { return produced }
        }
    }

    private func readPlain(into destination: UnsafeMutablePointer<UInt8>, capacity: Int) throws(TrailMergeError) -> Int {
        if inputStart < inputEnd {
            let n = min(capacity, inputEnd - inputStart)
            destination.update(from: input + inputStart, count: n)
            inputStart += n
            return n
        }
        guard let file, !fileAtEnd else { finished = true; return 0 }
        let n = try file.read(into: destination, count: capacity)
        if n == 0 { fileAtEnd = true; finished = true } else { fileBytesRead += n }
        return n
    }
}
