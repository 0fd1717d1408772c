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
