/// Reads a file's decoded bytes: gzip (one or more members, recognised by magic bytes) is inflated,
/// anything else is passed through. In: a path. Out: the decoded byte stream in caller-sized pieces.
/// Invariant: corrupt, truncated or trailing-garbage gzip is an error naming the compressed offset.
///
/// Each member is inflated whole by libdeflate (about twice zlib's speed on this JSON) when its
/// compressed bytes fit the input window (2 MiB) and it decodes to at most `wholeMemberLimit`
/// (4 MiB): straight into the caller's buffer when the size hint (the file's ISIZE trailer, or the
/// previous member's size) says it fits there, else into a staging buffer handed out in pieces.
/// CRC-32 and ISIZE are checked with libdeflate's CRC. Everything else streams through zlib from
/// the member's first byte: larger members (so memory stays bounded whatever the file; after the
/// first, the rest of that file streams too), headers the fast path does not parse, and every
/// member libdeflate rejects, so every error message and offset is the zlib path's.
import CDeflate
import CZlib

#if canImport(Glibc)
import Glibc
#endif

final class GzipReader {
    private let stream: UnsafeMutablePointer<z_stream>
    private let decompressor: OpaquePointer
    /// Compressed bytes; grows up to `maxInputCapacity` so whole members can be decoded in place.
    private var input: UnsafeMutablePointer<UInt8>
    private var inputCapacity: Int
    private let maxInputCapacity: Int
    private var inputStart = 0
    private var inputEnd = 0
    /// File bytes consumed before `input[inputStart]`.
    private var consumedBefore = 0
    private var file: ByteSource?
    private var fileSize = 0
    private var fileAtEnd = false
    /// Decoded bytes of a whole member that did not fit the caller's buffer, handed out in pieces.
    private var staged: UnsafeMutablePointer<UInt8>?
    private var stagedCapacity = 0
    private var stagedStart = 0
    private var stagedEnd = 0
    /// The largest member decoded whole; larger ones stream through zlib.
    private let wholeMemberLimit: Int
    private var inZlibMember = false
    /// Set for the rest of a file once a member was too large to decode whole.
    private var streamingOnly = false
    private var previousMemberSize = 0
    private var finished = false
    private(set) var isGzip = false
    private(set) var path = ""
    /// Compressed (on-disk) bytes read from the current file so far.
    private(set) var fileBytesRead = 0

    /// - Parameter inputCapacity: the largest compressed window; a member must fit it to be
    ///   decoded whole (2 MiB by default; tiny values force the zlib streaming path).
    /// - Parameter wholeMemberLimit: the largest decoded member decoded whole.
    init(inputCapacity: Int = 2 << 20, wholeMemberLimit: Int = 4 << 20) {
        maxInputCapacity = max(inputCapacity, 2)
        self.inputCapacity = min(maxInputCapacity, 256 << 10)
        self.wholeMemberLimit = wholeMemberLimit
        input = .allocate(capacity: self.inputCapacity)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_inflate_init_gzip(stream)
        precondition(status == Z_OK, "zlib inflateInit2 failed: \(status)")
        guard let decompressor = libdeflate_alloc_decompressor() else {
            preconditionFailure("libdeflate_alloc_decompressor failed")
        }
        self.decompressor = decompressor
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
        staged?.deallocate()
        libdeflate_free_decompressor(decompressor)
    }

    /// Opens `path` through the storage layer and sniffs its first bytes for the gzip magic.
    func open(_ path: String) throws(TrailMergeError) {
        try open(Storage.plain.open(path), path: path)
    }

    /// Reads `source` (named `path` in errors) and sniffs its first bytes for the gzip magic.
    func open(_ source: ByteSource, path: String) throws(TrailMergeError) {
        file?.close()
        self.path = path
        self.file = source
        fileSize = source.knownSize ?? 0
        inputStart = 0
        inputEnd = 0
        consumedBefore = 0
        fileBytesRead = 0
        fileAtEnd = false
        inZlibMember = false
        streamingOnly = false
        previousMemberSize = 0
        stagedStart = 0
        stagedEnd = 0
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
        if inputStart > 0 && inputCapacity - inputEnd < minimum { compactInput() }
        while !fileAtEnd && inputEnd - inputStart < minimum {
            let n = try file.read(into: input + inputEnd, count: inputCapacity - inputEnd)
            if n == 0 { fileAtEnd = true } else { inputEnd += n; fileBytesRead += n }
        }
    }

    /// Moves the unconsumed bytes to the front of the input buffer.
    private func compactInput() {
        let pending = inputEnd - inputStart
        input.update(from: input + inputStart, count: pending)
        consumedBefore += inputStart
        inputStart = 0
        inputEnd = pending
    }

    /// Buffers as much of the rest of the file as the window allows, so a whole member can be
    /// decoded in place. Compacts only when less than half a window is pending, so each byte is
    /// moved O(1) times on average.
    private func fillWindow() throws(TrailMergeError) {
        guard let file, !fileAtEnd else { return }
        let pending = inputEnd - inputStart
        let remaining = fileSize - (consumedBefore + inputEnd) + pending
        let want = min(maxInputCapacity, max(remaining, pending + 1))
        if inputCapacity < want {
            let newCapacity = min(maxInputCapacity, max(want, inputCapacity * 2))
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            grown.update(from: input + inputStart, count: pending)
            input.deallocate()
            input = grown
            inputCapacity = newCapacity
            consumedBefore += inputStart
            inputStart = 0
            inputEnd = pending
        } else if inputStart > 0 && pending < want / 2 {
            compactInput()
        }
        while !fileAtEnd && inputEnd < inputCapacity {
            let n = try file.read(into: input + inputEnd, count: inputCapacity - inputEnd)
            if n == 0 { fileAtEnd = true } else { inputEnd += n; fileBytesRead += n }
        }
    }

    private func corrupt(_ reason: String) -> TrailMergeError {
        .corruptGzip(path: path, offset: consumedBefore + inputStart, reason: reason)
    }

    /// Decodes up to `capacity` bytes into `destination`. Returns 0 once the file is exhausted.
    func read(into destination: UnsafeMutablePointer<UInt8>, capacity: Int) throws(TrailMergeError) -> Int {
        if capacity == 0 { return 0 }
        if stagedStart < stagedEnd, let staged {
            let n = min(capacity, stagedEnd - stagedStart)
            destination.update(from: staged + stagedStart, count: n)
            stagedStart += n
            return n
        }
        if finished { return 0 }
        if !isGzip { return try readPlain(into: destination, capacity: capacity) }
        while true {
            if !inZlibMember {
                if inputStart == inputEnd {
                    if inputStart > 0 { consumedBefore += inputStart; inputStart = 0; inputEnd = 0 }
                    try fillInput(minimum: 1)
                }
                if inputStart == inputEnd && fileAtEnd { finished = true; return 0 }
                try fillInput(minimum: 2)
                guard inputEnd - inputStart >= 2, input[inputStart] == 0x1f, input[inputStart + 1] == 0x8b else {
                    throw corrupt("trailing garbage after gzip member")
                }
                if !streamingOnly, let n = try readWholeMember(into: destination, capacity: capacity) {
                    if n > 0 { return n }
                    continue  // an empty member
                }
                inflateReset(stream)
                inZlibMember = true
            }
            let n = try inflateSome(into: destination, capacity: capacity)
            if n > 0 { return n }
        }
    }

    /// Decodes the member at `inputStart` whole with libdeflate. Returns the bytes written to
    /// `destination`, or nil (input untouched) when zlib must stream this member instead.
    private func readWholeMember(into destination: UnsafeMutablePointer<UInt8>, capacity: Int) throws(TrailMergeError) -> Int? {
        try fillWindow()
        let available = inputEnd - inputStart
        let member = input + inputStart
        guard let headerLength = GzipReader.headerLength(member, available) else { return nil }
        // The file's ISIZE trailer is exact for its last member; otherwise the previous member's size.
        var expected = previousMemberSize
        if fileAtEnd && available >= 18 {
            expected = max(expected, Int(GzipReader.littleEndian32(input + inputEnd - 4)))
        }
        var target = destination
        var targetCapacity = capacity
        if capacity < max(expected, 4096) {
            targetCapacity = min(wholeMemberLimit, max(expected, stagedCapacity, 256 << 10))
            target = stagingBuffer(targetCapacity)
        }
        var inUsed = 0
        var outUsed = 0
        while true {
            let result = libdeflate_deflate_decompress_ex(
                decompressor, member + headerLength, available - headerLength, target, targetCapacity,
                &inUsed, &outUsed)
            if result == LIBDEFLATE_SUCCESS { break }
            if result == LIBDEFLATE_INSUFFICIENT_SPACE && targetCapacity < wholeMemberLimit {
                targetCapacity = min(wholeMemberLimit, max(targetCapacity * 2, stagedCapacity, 256 << 10))
                target = stagingBuffer(targetCapacity)
                continue
            }
            // Too large for whole decoding, or not (entirely) in the window, or corrupt: zlib decides.
            if result == LIBDEFLATE_INSUFFICIENT_SPACE || !fileAtEnd { streamingOnly = true }
            return nil
        }
        let trailer = headerLength + inUsed
        guard available - trailer >= 8,
            GzipReader.littleEndian32(member + trailer) == libdeflate_crc32(0, target, outUsed),
            GzipReader.littleEndian32(member + trailer + 4) == UInt32(truncatingIfNeeded: outUsed)
        else { return nil }
        inputStart += trailer + 8
        previousMemberSize = outUsed
        if target == destination { return outUsed }
        let n = min(capacity, outUsed)
        destination.update(from: target, count: n)
        stagedStart = n
        stagedEnd = outUsed
        return n
    }

    /// The staging buffer with room for at least `count` bytes (its contents are not kept).
    private func stagingBuffer(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if let staged, stagedCapacity >= count { return staged }
        staged?.deallocate()
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        staged = buffer
        stagedCapacity = count
        return buffer
    }

    /// The length of the gzip header at `p` (RFC 1952), or nil when it is incomplete in the window or
    /// anything but a plain valid header, so that zlib reports or handles it.
    private static func headerLength(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int? {
        guard count >= 10, p[2] == 8 else { return nil }
        let flags = p[3]
        guard flags & 0xE0 == 0 else { return nil }
        var length = 10
        if flags & 0x04 != 0 {
            guard count - length >= 2 else { return nil }
            length += 2 + Int(p[length]) + Int(p[length + 1]) << 8
            guard length <= count else { return nil }
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {
            // SAFETY: the loop stops at `count`, the number of valid bytes at `p`.
            while length < count && p[length] != 0 { length += 1 }
            guard length < count else { return nil }
            length += 1
        }
        if flags & 0x02 != 0 {
            guard count - length >= 2 else { return nil }
            let crc = libdeflate_crc32(0, p, length)
            guard UInt16(truncatingIfNeeded: crc) == UInt16(p[length]) | UInt16(p[length + 1]) << 8 else { return nil }
            length += 2
        }
        return length
    }

    private static func littleEndian32(_ p: UnsafeMutablePointer<UInt8>) -> UInt32 {
        UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
    }

    /// Streams the current member through zlib; clears `inZlibMember` at its end.
    private func inflateSome(into destination: UnsafeMutablePointer<UInt8>, capacity: Int) throws(TrailMergeError) -> Int {
        while true {
            if inputStart == inputEnd {
                if inputStart > 0 { consumedBefore += inputStart; inputStart = 0; inputEnd = 0 }
                try fillInput(minimum: 1)
            }
            let availableIn = inputEnd - inputStart
            stream.pointee.next_in = input + inputStart
            stream.pointee.avail_in = UInt32(min(availableIn, Int(UInt32.max)))
            stream.pointee.next_out = destination
            stream.pointee.avail_out = UInt32(min(capacity, Int(UInt32.max)))
            let status = inflate(stream, Z_NO_FLUSH)
            let consumed = min(availableIn, Int(UInt32.max)) - Int(stream.pointee.avail_in)
            let produced = min(capacity, Int(UInt32.max)) - Int(stream.pointee.avail_out)
            inputStart += consumed
            switch status {
            case Z_STREAM_END:
                inZlibMember = false
                return produced
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
