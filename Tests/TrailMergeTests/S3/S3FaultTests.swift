/// Retries and concurrency through scripts/fault-proxy.py (seeded 503 SlowDown, resets,
/// truncated bodies, delays) in front of a real moto server.
import Foundation
import Testing
@testable import TrailMerge

/// Runs `body(i)` for i in 0..<count on `count` threads at once.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread {
            body(i)
            group.leave()
        }.start()
    }
    group.wait()
}

@Suite(.enabled(if: MotoServer.available, Comment(rawValue: MotoServer.unavailableReason)))
struct S3FaultTests {
    let server = MotoServer.shared

    func freshBucket(_ name: String) -> String {
        let bucket = "tm-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        server.createBucket(bucket)
        return bucket
    }

    @Test func retriesRecoverFromSlowDownResetsTruncationAndDelays() throws {
        let bucket = freshBucket("faults")
        let proxy = FaultProxy(
            upstream: server,
            ["--seed", "7", "--slowdown", "0.15", "--reset", "0.06", "--truncate", "0.15", "--delay", "0.05:0.2"])
        defer { proxy.stop() }
        // FoundationNetworking (libcurl) reports a reset that comes after an upload's body was sent
        // only when the request times out (a GET's reset is reported at once), so this test uses a
        // 5 s inactivity timeout instead of the default 60 s to stay fast.
        let client = server.client(maxAttempts: 10, endpoint: proxy.endpoint) { $0.requestTimeout = 5 }
        var written: [String: Data] = [:]
        for i in 0..<12 {
            let key = "in/\(i) é+.json.gz"
            let body = bytes(1000 + i * 5000, seed: UInt64(i))
            try client.putObject(S3URL(bucket: bucket, key: key), body: body)
            written[key] = body
        }
        let writer = S3UploadWriter(client: client, url: S3URL(bucket: bucket, key: "out/big"), partSize: 5 << 20)
        let big = bytes(11 << 20, seed: 99)
        try writer.write(big)
        try writer.commit()
        written["out/big"] = big

        let listed = try client.listAllObjects(bucket: bucket, prefix: "")
        #expect(listed.map(\.key) == written.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        for object in listed {
            let url = S3URL(bucket: bucket, key: object.key)
            let data = object.size > 1 << 20
                ? try S3ObjectReader.readAll(client: client, url: url, size: object.size, chunkSize: 1 << 20)
                : try client.getObject(url)
            #expect(data == written[object.key], "\(object.key)")
        }
        #expect(try client.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
        let stats = proxy.stats()
        #expect(stats["slowdown"]! > 0 && stats["reset"]! > 0 && stats["truncate"]! > 0 && stats["delay"]! > 0, "\(stats)")
        // Every fault costs one attempt (libcurl may itself resend a request whose reused connection
        // was reset, so retries can be fewer than faults, never zero).
        let retries = client.requestCounts.retries
        #expect(retries > 0 && retries <= stats["slowdown"]! + stats["reset"]! + stats["truncate"]!, "\(retries) retries, \(stats)")
    }

    @Test func aPermanentFaultGivesOneLineAfterEveryAttemptAndCommitsNothing() throws {
        let bucket = freshBucket("permanent")
        let direct = server.client()
        try direct.putObject(S3URL(bucket: bucket, key: "doomed/in.json.gz"), body: Data("x".utf8))
        let proxy = FaultProxy(upstream: server, ["--always-503", "/doomed", "--slowdown", "0"])
        defer { proxy.stop() }
        let client = server.client(maxAttempts: 4, endpoint: proxy.endpoint)
        let url = S3URL(bucket: bucket, key: "doomed/in.json.gz")
        let error = trailMergeError { _ = try client.getObject(url) }
        #expect(error?.description == "s3://\(bucket)/doomed/in.json.gz: 503 SlowDown: Please reduce your request rate.")
        #expect(client.requestCounts.requests == 4)
        #expect(proxy.stats()["always_503"] == 4)

        // A multipart output whose second part always fails: commit throws, the upload is aborted,
        // no object appears.
        let failing = FaultProxy(upstream: server, ["--always-503", "partNumber=2"])
        defer { failing.stop() }
        let writerClient = server.client(maxAttempts: 3, endpoint: failing.endpoint)
        let out = S3URL(bucket: bucket, key: "out/events.tsv.gz")
        let writer = S3UploadWriter(client: writerClient, url: out, partSize: 5 << 20)
        let writeError = trailMergeError {
            try writer.write(bytes(12 << 20, seed: 4))
            try writer.commit()
        }
        #expect(writeError?.description.hasPrefix("s3://\(bucket)/out/events.tsv.gz: 503 SlowDown") == true)
        #expect(try direct.headObject(out) == nil)
        #expect(try direct.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
    }

    /// A bucket in another region: the first request learns it from `x-amz-bucket-region`, is
    /// re-signed and sent again; later requests use it directly.
    @Test func followsTheBucketRegion() throws {
        let bucket = freshBucket("region")
        let proxy = FaultProxy(upstream: server, ["--bucket-region", "eu-north-1"])
        defer { proxy.stop() }
        let client = server.client(endpoint: proxy.endpoint) { $0.region = nil }
        let url = S3URL(bucket: bucket, key: "k")
        try client.putObject(url, body: Data("v".utf8))
        #expect(client.requestCounts.requests == 2)
        #expect(try client.getObject(url) == Data("v".utf8))
        #expect(client.requestCounts.requests == 3)
        #expect(client.requestCounts.retries == 0)
        #expect(proxy.stats()["wrong_region"] == 1)
    }

    @Test func thirtyTwoConnectionsAreInFlightAtOnce() throws {
        let bucket = freshBucket("inflight")
        let direct = server.client()
        for i in 0..<64 { try direct.putObject(S3URL(bucket: bucket, key: "k\(i)"), body: Data("\(i)".utf8)) }
        let proxy = FaultProxy(upstream: server, ["--delay", "1.0:0.3"])
        defer { proxy.stop() }
        let client = server.client(endpoint: proxy.endpoint) { $0.maxConnections = 32 }
        let bad = Locked(0)
        onThreads(32) { t in
            for i in [t, t + 32] {
                if (try? client.getObject(S3URL(bucket: bucket, key: "k\(i)"))) != Data("\(i)".utf8) { bad.withLock { $0 += 1 } }
            }
        }
        #expect(bad.withLock { $0 } == 0)
        let stats = proxy.stats()
        #expect(stats["max_in_flight"]! >= 16, "\(stats)")
    }
}
