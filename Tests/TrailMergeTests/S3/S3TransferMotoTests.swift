/// S3ObjectReader and S3UploadWriter against a real moto server.
import Foundation
import Testing
@testable import TrailMerge

@Suite(.enabled(if: MotoServer.available, Comment(rawValue: MotoServer.unavailableReason)))
struct S3TransferMotoTests {
    let server = MotoServer.shared

    func freshBucket(_ name: String) -> String {
        let bucket = "tm-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        server.createBucket(bucket)
        return bucket
    }

    /// Writes `body` in uneven pieces.
    func write(_ body: Data, to writer: S3UploadWriter, piece: Int = 777_777) throws {
        var start = 0
        while start < body.count {
            let end = min(body.count, start + piece)
            try writer.write(body.subdata(in: start..<end))
            start = end
        }
    }

    @Test func smallOutputIsOnePut() throws {
        let client = server.client()
        let bucket = freshBucket("wsmall")
        let url = S3URL(bucket: bucket, key: "out/small é.tsv")
        let body = bytes(1_000_000, seed: 5)
        let writer = S3UploadWriter(client: client, url: url, partSize: 5 << 20)
        try write(body, to: writer)
        #expect(try client.headObject(url) == nil)  // nothing visible before commit
        let etag = try writer.commit()
        #expect(!etag.contains("-"))
        #expect(try client.getObject(url) == body)
        #expect(client.requestCounts.requests == 3)  // HEAD, PUT, GET
    }

    @Test func largeOutputIsAMultipartUploadCompletedAtCommit() throws {
        let client = server.client()
        let bucket = freshBucket("wlarge")
        let url = S3URL(bucket: bucket, key: "out/events.tsv.gz")
        let body = bytes(5 << 20 + 5 << 20 + 123_456, seed: 6)
        let writer = S3UploadWriter(client: client, url: url, partSize: 5 << 20, maxPartsInFlight: 2)
        try write(body, to: writer)
        #expect(writer.uploadID != nil)
        #expect(try client.headObject(url) == nil)
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").count == 1)
        let etag = try writer.commit()
        #expect(etag.hasSuffix("-3\""))
        #expect(try client.getObject(url) == body)
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
    }

    @Test func abandonLeavesNoObjectAndNoUpload() throws {
        let client = server.client()
        let bucket = freshBucket("wabandon")
        let url = S3URL(bucket: bucket, key: "out/partial.gz")
        let writer = S3UploadWriter(client: client, url: url, partSize: 5 << 20)
        try write(bytes(11 << 20, seed: 7), to: writer)
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").count == 1)
        writer.abandon()
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
        #expect(try client.headObject(url) == nil)
    }

    @Test func ifNoneMatchRefusesAnExistingKeyForSmallOutputs() throws {
        let client = server.client()
        let bucket = freshBucket("winm")
        let url = S3URL(bucket: bucket, key: "group/part-00000.gz")
        try client.putObject(url, body: Data("existing".utf8))
        let small = S3UploadWriter(client: client, url: url, ifNoneMatch: true)
        try small.write(Data("new".utf8))
        let error = trailMergeError { try small.commit() }
        guard case .s3(_, 412, "PreconditionFailed", _) = error else {
            Issue.record("expected 412 PreconditionFailed, got \(String(describing: error))")
            return
        }
        #expect(try client.getObject(url) == Data("existing".utf8))
    }

    /// moto 5 honours `If-None-Match: *` on CompleteMultipartUpload too; the failed upload is aborted.
    @Test func ifNoneMatchRefusesAnExistingKeyForMultipartOutputs() throws {
        let client = server.client()
        let bucket = freshBucket("winmmp")
        let url = S3URL(bucket: bucket, key: "group/part-00000.gz")
        try client.putObject(url, body: Data("existing".utf8))
        let large = S3UploadWriter(client: client, url: url, partSize: 5 << 20, ifNoneMatch: true)
        try write(bytes(6 << 20, seed: 2), to: large)
        let error = trailMergeError { try large.commit() }
        guard case .s3(_, 412, "PreconditionFailed", _) = error else {
            Issue.record("expected 412 PreconditionFailed, got \(String(describing: error))")
            return
        }
        #expect(try client.getObject(url) == Data("existing".utf8))
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
    }

    @Test func readerReturnsTheObjectInOrderWithRangesInFlight() throws {
        let client = server.client()
        let bucket = freshBucket("read")
        let url = S3URL(bucket: bucket, key: "in/big+file.json.gz")
        let body = bytes(3_000_001, seed: 8)
        try client.putObject(url, body: body)
        let before = client.requestCounts.requests
        let reader = S3ObjectReader(client: client, url: url, size: Int64(body.count), chunkSize: 500_000, parallelism: 3)
        var chunks: [Data] = []
        while let chunk = try reader.next() { chunks.append(chunk) }
        #expect(chunks.count == 7)
        #expect(chunks.dropLast().allSatisfy { $0.count == 500_000 })
        #expect(chunks.reduce(Data(), +) == body)
        #expect(client.requestCounts.requests - before == 7)
        #expect(try S3ObjectReader.readAll(client: client, url: url, size: Int64(body.count), chunkSize: 1 << 20) == body)
        // An empty object reads as no chunk; a small one as one plain GET.
        let empty = url.with(key: "in/empty")
        try client.putObject(empty, body: Data())
        #expect(try S3ObjectReader.readAll(client: client, url: empty, size: 0).isEmpty)
        // A listing size larger than the object: a short read is an error, not silent truncation.
        let error = trailMergeError { _ = try S3ObjectReader.readAll(client: client, url: url, size: Int64(body.count) + 10, chunkSize: 1 << 20) }
        #expect(error != nil)
    }
}
