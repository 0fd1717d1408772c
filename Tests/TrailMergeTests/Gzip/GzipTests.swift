import Foundation
import Testing
@testable import TrailMerge

private let doc1 = #"{"Records":[{"eventTime":"2024-01-01T00:00:02Z","eventName":"B"}]}"#
private let doc2 = #"{"Records":[{"eventTime":"2024-01-01T00:00:01Z","eventName":"A"}]}"#

private func process(_ bytes: [UInt8], name: String = "f.json.gz") throws -> String {
    let folder = TempFolder()
    let file = folder.write(name, bytes)
    return String(decoding: try runToBytes(options([file], fields: "eventTime,eventName"), in: folder).bytes, as: UTF8.self)
}

private func failure(_ bytes: [UInt8]) -> TrailMergeError? {
    trailMergeError { _ = try process(bytes) }
}

@Suite struct GzipTests {
    @Test func multiMemberGzipIsReadWhole() throws {
        let text = try process(gzip(doc1) + gzip(doc2))
        #expect(text == "2024-01-01T00:00:01Z\tA\n2024-01-01T00:00:02Z\tB\n")
    }

    @Test func gzipIsRecognisedByMagicNotName() throws {
        #expect(try process(gzip(doc1), name: "plain-name.json") == "2024-01-01T00:00:02Z\tB\n")
        #expect(try process(Array(doc1.utf8), name: "fake.json.gz") == "2024-01-01T00:00:02Z\tB\n")
    }

    @Test func emptyFileAndEmptyMemberGiveNoRows() throws {
        #expect(try process([]) == "")
        #expect(try process(gzip("")) == "")
        #expect(try process(gzip("") + gzip(doc1) + gzip("  ")) == "2024-01-01T00:00:02Z\tB\n")
    }

    @Test func badCRCIsRejectedWithOffset() throws {
        var bytes = gzip(doc1)
        bytes[bytes.count - 6] ^= 0xFF
        let error = try #require(failure(bytes))
        guard case .corruptGzip(let path, _, let reason) = error else {
            Issue.record("expected corruptGzip, got \(error)")
            return
        }
        #expect(path.hasSuffix("f.json.gz"))
        #expect(reason.contains("incorrect data check"))
    }

    @Test(arguments: [1, 5, 9, 20])
    func truncatedGzipIsRejected(cut: Int) throws {
        let bytes = gzip(doc1 + doc2)
        let error = try #require(failure(Array(bytes.dropLast(cut))))
        #expect(error.description.contains("corrupt gzip"))
        #expect(error.description.contains("f.json.gz: byte "))
    }

    @Test func badHeaderIsRejected() throws {
        var bytes = gzip(doc1)
        bytes[2] = 7  // compression method other than deflate
        let error = try #require(failure(bytes))
        #expect(error.description.contains("unknown compression method"))
    }

    @Test func corruptDeflateDataIsRejected() throws {
        var bytes = gzip(String(repeating: doc1, count: 20))
        for k in 12..<24 { bytes[k] = 0xFF }
        #expect(failure(bytes) != nil)
    }

    @Test func trailingGarbageAfterAMemberIsRejected() throws {
        let error = try #require(failure(gzip(doc1) + Array("junk".utf8)))
        #expect(error.description.contains("trailing garbage after gzip member"))
    }

    @Test func deflaterMembersDecompressWithSystemGzip() throws {
        let deflater = GzipDeflater(level: 6)
        var out: [UInt8] = []
        let a = Array(String(repeating: "hello trailmerge ", count: 1000).utf8)
        let b = Array("second member\n".utf8)
        a.withUnsafeBytes { deflater.compressMember($0, appendingTo: &out) }
        b.withUnsafeBytes { deflater.compressMember($0, appendingTo: &out) }
        [UInt8]().withUnsafeBytes { deflater.compressMember($0, appendingTo: &out) }
        #expect(try runTool("/bin/gzip", ["-dc"], input: out) == a + b)
    }

    @Test func readerReturnsExactBytesInTinyPieces() throws {
        let folder = TempFolder()
        let payload = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
        let path = folder.write("x.gz", gzip(payload) + gzip(Array(payload.prefix(100))))
        let reader = GzipReader(inputCapacity: 7)
        try reader.open(path)
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 13)
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try reader.read(into: $0.baseAddress!, capacity: 13) }
            if n == 0 { break }
            got += buffer[0..<n]
        }
        #expect(got == payload + payload.prefix(100))
        #expect(reader.isGzip)
    }
}

/// Everything `reader` decodes from `path`, read in pieces of `piece` bytes.
private func readAll(_ reader: GzipReader, _ path: String, piece: Int) throws -> [UInt8] {
    try reader.open(path)
    defer { reader.close() }
    var got: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: piece)
    while true {
        let n = try buffer.withUnsafeMutableBufferPointer { try reader.read(into: $0.baseAddress!, capacity: piece) }
        if n == 0 { break }
        got += buffer[0..<n]
    }
    return got
}

/// The error reading `path` whole raises, if any.
private func readError(_ reader: GzipReader, _ path: String, piece: Int = 1 << 20) -> TrailMergeError? {
    trailMergeError { _ = try readAll(reader, path, piece: piece) }
}

/// CRC-32 (IEEE), bit by bit: independent of both libraries, for building headers with FHCRC.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// A gzip member of `payload` whose header carries the optional fields chosen by `flags`
/// (FHCRC 0x02, FEXTRA 0x04, FNAME 0x08, FCOMMENT 0x10), built around `gzip -n`'s deflate data.
private func member(_ payload: [UInt8], flags: UInt8, badHeaderCRC: Bool = false) -> [UInt8] {
    let plain = gzip(payload)
    var header: [UInt8] = [0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3]
    if flags & 0x04 != 0 { header += [5, 0, 65, 66, 2, 0, 67] }
    if flags & 0x08 != 0 { header += Array("name.json".utf8) + [0] }
    if flags & 0x10 != 0 { header += Array("a comment".utf8) + [0] }
    if flags & 0x02 != 0 {
        let crc = crc32(header) ^ (badHeaderCRC ? 1 : 0)
        header += [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF)]
    }
    return header + plain[10...]
}

/// Deterministic bytes that compress to about a third of their size.
private func payload(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { i in UInt8(truncatingIfNeeded: (i &+ seed) % 251 &* ((i >> 9) % 7 + 1) &+ (i >> 13)) }
}

@Suite struct GzipWholeMemberTests {
    @Test(arguments: [UInt8(0), 0x02, 0x04, 0x08, 0x10, 0x1E])
    func everyHeaderShapeDecodesTheSameOnBothPaths(flags: UInt8) throws {
        let folder = TempFolder()
        let a = payload(70_000), b = payload(300, seed: 5)
        let bytes = member(a, flags: flags) + member([], flags: flags) + member(b, flags: flags)
        let path = folder.write("h.gz", bytes)
        #expect(try runTool("/bin/gzip", ["-dc"], input: bytes) == a + b)
        for piece in [13, 4096, 1 << 20] {
            #expect(try readAll(GzipReader(), path, piece: piece) == a + b)
            #expect(try readAll(GzipReader(inputCapacity: 7), path, piece: piece) == a + b)
        }
    }

    @Test func aBadHeaderCRCIsRejectedAsZlibDoes() throws {
        let folder = TempFolder()
        let path = folder.write("h.gz", member(payload(1000), flags: 0x0A, badHeaderCRC: true))
        let error = try #require(readError(GzipReader(), path))
        #expect(error.description.contains("header crc mismatch"))
    }

    @Test func membersLargerThanTheLimitStreamThroughZlib() throws {
        let folder = TempFolder()
        let a = payload(50_000), b = payload(100, seed: 9), c = payload(60_000, seed: 3)
        let path = folder.write("big.gz", gzip(a) + gzip(b) + gzip(c))
        for piece in [13, 1 << 20] {
            #expect(try readAll(GzipReader(wholeMemberLimit: 4096), path, piece: piece) == a + b + c)
        }
    }

    @Test func aFileLargerThanTheInputWindowIsReadExactly() throws {
        let folder = TempFolder()
        var bytes: [UInt8] = []
        var expected: [UInt8] = []
        for k in 0..<60 {
            let part = payload(3000 + 97 * k, seed: k)
            bytes += gzip(part)
            expected += part
        }
        let path = folder.write("many.gz", bytes)
        #expect(bytes.count > 4 * 4096)
        for piece in [13, 5000, 1 << 20] {
            #expect(try readAll(GzipReader(inputCapacity: 4096), path, piece: piece) == expected)
        }
    }

    /// Errors must name the same offset and reason as the zlib-only reader the project had before.
    @Test(arguments: ["crc", "isize", "truncated", "deflate", "garbage", "method"])
    func errorsMatchTheZlibPath(fault: String) throws {
        let folder = TempFolder()
        let first = gzip(payload(20_000))
        var second = gzip(payload(30_000, seed: 1))
        switch fault {
        case "crc": second[second.count - 6] ^= 0x40
        case "isize": second[second.count - 3] ^= 0x01
        case "truncated": second.removeLast(11)
        case "deflate": for k in 14..<30 { second[k] = 0xFF }
        case "garbage": second += Array("junk".utf8)
        default: second[2] = 7
        }
        let path = folder.write("bad.gz", first + second)
        let viaLibdeflate = try #require(readError(GzipReader(), path))
        let viaZlib = try #require(readError(GzipReader(wholeMemberLimit: 0), path))
        #expect(viaLibdeflate == viaZlib)
        guard case .corruptGzip(_, let offset, _) = viaLibdeflate else {
            Issue.record("expected corruptGzip, got \(viaLibdeflate)")
            return
        }
        #expect(offset >= first.count)
    }
}
