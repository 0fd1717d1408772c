/// The S3 client against a real moto server process on 127.0.0.1.
import Foundation
import Testing
@testable import TrailMerge

/// Keys with the characters the issue names (space, +, =, @, ~, %, non-ASCII) and S3 oddities.
let awkwardKeys = [
    "logs/a b.json.gz", "logs/a+b.json.gz", "logs/a=b@c~d.json.gz", "logs/100%.json.gz", "logs/%20literal.json.gz",
    "logs/été/日本語.json.gz", "logs/emoji-🚀.json", "logs/a&b<c>'d\".json", "logs/sub//double.json", "logs/!$'()*,;:.json",
]

func bytes(_ count: Int, seed: UInt64) -> Data {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out[i] = UInt8(truncatingIfNeeded: state)
    }
    return Data(out)
}

@Suite(.enabled(if: MotoServer.available, Comment(rawValue: MotoServer.unavailableReason)))
struct S3ClientMotoTests {
    let server = MotoServer.shared

    func freshBucket(_ name: String) -> String {
        let bucket = "tm-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        server.createBucket(bucket)
        return bucket
    }

    @Test func listsAThreeThousandKeyPrefixPageByPageInByteOrder() throws {
        let client = server.client()
        let bucket = "tm-seeded"
        let keys = (0..<3000).map { "AWSLogs/1/\($0)/file.json.gz" }
        var pages: [Int] = []
        var listed: [S3Object] = []
        try client.listObjects(bucket: bucket, prefix: "AWSLogs/1/") { (page: [S3Object]) throws(TrailMergeError) in
            pages.append(page.count)
            listed += page
        }
        #expect(pages == [1000, 1000, 1000])
        let expected = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(listed.map(\.key) == expected)
        let sizes = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, Int64($0 % 7)) })
        #expect(listed.allSatisfy { sizes[$0.key] == $0.size })

        // Smaller pages, same listing.
        var small: [String] = []
        var smallPages = 0
        try client.listObjects(bucket: bucket, prefix: "AWSLogs/1/", pageSize: 700) { (page: [S3Object]) throws(TrailMergeError) in
            smallPages += 1
            small += page.map(\.key)
        }
        #expect(smallPages == 5)
        #expect(small == expected)

        // DeleteObjects in batches of 1,000: 3,001 keys take 4 calls and leave nothing.
        let before = client.requestCounts.requests
        try client.deleteObjects(bucket: bucket, keys: keys + ["AWSLogs/2/0/file.json.gz"])
        #expect(client.requestCounts.requests - before == 4)
        #expect(try client.listAllObjects(bucket: bucket, prefix: "").isEmpty)
    }

    @Test func awkwardKeysAreWrittenListedAndReadExactly() throws {
        let client = server.client()
        let bucket = freshBucket("keys")
        for (i, key) in awkwardKeys.enumerated() {
            try client.putObject(S3URL(bucket: bucket, key: key), body: Data(key.utf8) + bytes(i * 10, seed: UInt64(i)))
        }
        let listed = try client.listAllObjects(bucket: bucket, prefix: "logs/")
        #expect(listed.map(\.key) == awkwardKeys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        for (i, key) in awkwardKeys.enumerated() {
            let url = S3URL(bucket: bucket, key: key)
            let expected = Data(key.utf8) + bytes(i * 10, seed: UInt64(i))
            #expect(try client.getObject(url) == expected, "\(key)")
            #expect(try client.headObject(url)?.size == Int64(expected.count), "\(key)")
        }
        // A prefix with a special character lists exactly its keys.
        #expect(try client.listAllObjects(bucket: bucket, prefix: "logs/a+").map(\.key) == ["logs/a+b.json.gz"])
        #expect(try client.listAllObjects(bucket: bucket, prefix: "logs/a ").map(\.key) == ["logs/a b.json.gz"])
        try client.deleteObjects(bucket: bucket, keys: awkwardKeys)
        #expect(try client.listAllObjects(bucket: bucket, prefix: "").isEmpty)
    }

    @Test func rangedGetReturnsExactlyTheRange() throws {
        let client = server.client()
        let bucket = freshBucket("range")
        let body = bytes(100_000, seed: 3)
        let url = S3URL(bucket: bucket, key: "blob")
        try client.putObject(url, body: body)
        #expect(try client.getObject(url, range: 0..<10) == body.subdata(in: 0..<10))
        #expect(try client.getObject(url, range: 12_345..<67_890) == body.subdata(in: 12_345..<67_890))
        #expect(try client.getObject(url, range: 99_999..<100_000) == body.subdata(in: 99_999..<100_000))
        #expect(try client.getObject(url) == body)
    }

    @Test func missingObjectsAreNotRetried() throws {
        let client = server.client(maxAttempts: 5)
        let bucket = freshBucket("missing")
        let url = S3URL(bucket: bucket, key: "no/such key")
        #expect(try client.headObject(url) == nil)
        let error = trailMergeError { _ = try client.getObject(url) }
        #expect(error?.description == "s3://\(bucket)/no/such key: 404 NoSuchKey: The specified key does not exist.")
        let noBucket = trailMergeError { _ = try client.getObject(S3URL(bucket: "tm-no-such-bucket", key: "k")) }
        #expect(noBucket?.description.hasPrefix("s3://tm-no-such-bucket/k: 404 NoSuchBucket") == true)
        #expect(client.requestCounts.retries == 0)
    }

    /// libcurl would send `x/../y` as `y`: such keys are refused before any request.
    @Test func dotSegmentKeysAreRefusedNotRewritten() throws {
        let client = server.client()
        let bucket = freshBucket("dots")
        for key in ["x/../y", "a/./b", "..", "a/."] {
            let error = trailMergeError { try client.putObject(S3URL(bucket: bucket, key: key), body: Data("v".utf8)) }
            #expect(error?.description.hasPrefix("s3://\(bucket)/\(key): keys with '.' or '..' path segments") == true)
        }
        #expect(try client.listAllObjects(bucket: bucket, prefix: "").isEmpty)
        // Dots inside names are fine.
        try client.putObject(S3URL(bucket: bucket, key: "a/.hidden/..b/c."), body: Data("v".utf8))
        #expect(try client.listAllObjects(bucket: bucket, prefix: "").map(\.key) == ["a/.hidden/..b/c."])
    }

    /// moto 5 honours `If-None-Match: *` on PutObject: the second put of a key fails with 412.
    @Test func putIfNoneMatchRefusesAnExistingKey() throws {
        let client = server.client()
        let bucket = freshBucket("inm")
        let url = S3URL(bucket: bucket, key: "group/part-0001.gz")
        try client.putObject(url, body: Data("first".utf8), ifNoneMatch: true)
        let error = trailMergeError { try client.putObject(url, body: Data("second".utf8), ifNoneMatch: true) }
        guard case .s3(let object, let status, let code, _) = error else {
            Issue.record("expected a 412 S3 error, got \(String(describing: error))")
            return
        }
        #expect(object == url.description)
        #expect(status == 412)
        #expect(code == "PreconditionFailed")
        #expect(try client.getObject(url) == Data("first".utf8))
        #expect(client.requestCounts.retries == 0)
    }

    @Test func multipartUploadAboveFiveMiBShowsItsPartCount() throws {
        let client = server.client()
        let bucket = freshBucket("mpu")
        let url = S3URL(bucket: bucket, key: "out/events.tsv.gz")
        let part = 5 * 1024 * 1024
        let body = bytes(2 * part + 1234, seed: 9)
        let id = try client.createMultipartUpload(url)
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "out/") == [S3MultipartUpload(key: url.key, uploadID: id)])
        var parts: [(partNumber: Int, etag: String)] = []
        for (n, start) in stride(from: 0, to: body.count, by: part).enumerated() {
            let etag = try client.uploadPart(url, uploadID: id, partNumber: n + 1, body: body.subdata(in: start..<min(start + part, body.count)))
            parts.append((n + 1, etag))
        }
        let etag = try client.completeMultipartUpload(url, uploadID: id, parts: parts)
        #expect(etag.hasSuffix("-3\""))
        #expect(try client.headObject(url)?.etag == etag)
        #expect(try client.getObject(url) == body)
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
    }

    @Test func abortLeavesNoUpload() throws {
        let client = server.client()
        let bucket = freshBucket("abort")
        let url = S3URL(bucket: bucket, key: "out/partial")
        let id = try client.createMultipartUpload(url)
        _ = try client.uploadPart(url, uploadID: id, partNumber: 1, body: bytes(5 * 1024 * 1024, seed: 1))
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").count == 1)
        try client.abortMultipartUpload(url, uploadID: id)
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
        #expect(try client.headObject(url) == nil)
        // Aborting twice is not an error.
        try client.abortMultipartUpload(url, uploadID: id)
    }
}

/// moto with signature checks on: the right secret works, a wrong one gives one 403 line without it.
@Suite(.enabled(if: MotoServer.available, Comment(rawValue: MotoServer.unavailableReason)))
struct S3AuthMotoTests {
    @Test func wrongSecretGivesA403LineWithoutTheSecret() throws {
        let server = MotoServer(auth: true)
        defer { server.stop() }
        let good = server.client()
        let bucket = "tm-auth"
        _ = try good.perform(S3Client.Request(method: "PUT", bucket: bucket, key: nil), object: "s3://\(bucket)")
        let url = S3URL(bucket: bucket, key: "AWSLogs/file.json.gz")
        try good.putObject(url, body: Data("{}".utf8))
        #expect(try good.getObject(url) == Data("{}".utf8))
        // A prefix without '/': moto's signature check encodes '/' in query values differently from
        // AWS and botocore (both send and sign `%2F`), so a valid `prefix=AWSLogs%2F` is refused there.
        #expect(try good.listAllObjects(bucket: bucket, prefix: "AWSLogs").map(\.key) == [url.key])

        let wrongSecret = "wrong-secret-" + server.secretKey.prefix(6)
        let bad = server.client(secret: wrongSecret, maxAttempts: 5)
        let error = trailMergeError { _ = try bad.getObject(url) }
        guard case .s3(let object, let status, let code, _) = error else {
            Issue.record("expected an S3 error, got \(String(describing: error))")
            return
        }
        #expect(object == url.description)
        #expect(status == 403)
        #expect(code == "SignatureDoesNotMatch")
        let line = error!.description
        #expect(line.hasPrefix("s3://tm-auth/AWSLogs/file.json.gz: 403 SignatureDoesNotMatch"))
        #expect(!line.contains(wrongSecret))
        #expect(!line.contains(server.secretKey))
        #expect(bad.requestCounts.retries == 0)
    }
}
