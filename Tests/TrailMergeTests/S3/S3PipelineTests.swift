/// `process` and `group` with s3:// sources and destinations, end to end through the executable,
/// against a real moto server (and the fault proxy in front of it): the bytes equal the same run
/// on local copies, failures commit nothing and leave no multipart upload behind.
import Foundation
import Testing
@testable import TrailMerge

/// A generated tree (2,000 files, 3 records each) on disk and, seeded straight into moto's
/// backend, in bucket `tm-pipe` under `AWSLogs/` (and again in `tm-pipe-group`, which the group
/// tests consume), plus the whole tree as one gzip object `s3://tm-pipe-big/in/all.json.gz`.
final class S3PipelineFixture: @unchecked Sendable {
    let folder = TempFolder()
    let tree: String
    let server: MotoServer
    /// `process` of the whole local tree, and of the local copy of `subset`.
    let expectedAll: [UInt8]
    let expectedAccount: [UInt8]

    static let shared = S3PipelineFixture()

    init() {
        let tree = folder.path + "/tree"
        self.tree = tree
        var g = GeneratorOptions()
        g.destination = tree
        g.files = 2000
        g.recordsPerFile = 3
        g.seed = 11
        _ = try! generateTree(g)
        // The whole tree as one multi-member gzip object of 7.3 MB of JSON (concatenated members).
        let files = try! SourceWalker(pattern: nil).walk([tree + "/AWSLogs"])
        var joined = Data()
        for file in files { joined.append(try! Data(contentsOf: URL(fileURLWithPath: file.path))) }
        folder.write("big/all.json.gz", Array(joined))
        server = MotoServer(
            seedDirs: ["tm-pipe", "tm-pipe-group"].map { "\($0):AWSLogs/:\(tree)/AWSLogs" } + ["tm-pipe-big:in/:\(folder.path)/big"])
        for bucket in ["tm-out"] { server.createBucket(bucket) }
        expectedAll = try! runCLI(["process", tree, "-o", "-", "--quiet"]).stdout
        expectedAccount = try! runCLI(["process", tree + "/" + S3PipelineFixture.subset, "-o", "-", "--quiet"]).stdout
    }

    /// 167 of the 2,000 files: one account and region.
    static let subset = "AWSLogs/111122223333/CloudTrail/us-east-1"
    /// The size of the tree's JSON.
    static let jsonBytes = 7_254_490

    /// The environment that points the executable at `endpoint` (moto, or a proxy before it).
    func environment(endpoint: String? = nil) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": server.accessKey, "AWS_SECRET_ACCESS_KEY": server.secretKey,
            "AWS_ENDPOINT_URL": endpoint ?? server.endpoint, "AWS_REGION": "us-east-1", "AWS_PROFILE": "",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }

    func run(_ arguments: [String], endpoint: String? = nil) throws -> ToolResult {
        try runCLI(arguments, environment: environment(endpoint: endpoint))
    }

    var client: S3Client { server.client() }

    /// An object's bytes, gzip undone when it is gzip.
    func decoded(_ bucket: String, _ key: String) throws -> [UInt8] {
        let data = Array(try client.getObject(S3URL(bucket: bucket, key: key)))
        return data.starts(with: [0x1F, 0x8B]) ? try runTool("/bin/gzip", ["-dc"], input: data) : data
    }

    func keys(_ bucket: String, _ prefix: String) throws -> [String] {
        try client.listAllObjects(bucket: bucket, prefix: prefix).map(\.key)
    }

    func freshBucket(_ name: String) -> String {
        let bucket = "tm-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        server.createBucket(bucket)
        return bucket
    }
}

/// Byte-for-byte equality that reports only true or false (the outputs are too long to print).
func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool { a == b }

@Suite(.enabled(if: MotoServer.available, Comment(rawValue: MotoServer.unavailableReason)), .serialized)
struct S3PipelineTests {
    let fixture = S3PipelineFixture.shared

    @Test func processS3ToS3AndMixedGiveTheLocalBytes() throws {
        let f = fixture
        let local = TempFolder()
        let source = "s3://tm-pipe/" + S3PipelineFixture.subset
        // s3 → s3, with the stats file beside it.
        var r = try f.run(["process", source, "-o", "s3://tm-out/a/events.tsv.gz", "--stats", "s3://tm-out/a/stats.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(sameBytes(try f.decoded("tm-out", "a/events.tsv.gz"), f.expectedAccount))
        let stats = try JSONSerialization.jsonObject(with: Data(try f.decoded("tm-out", "a/stats.json"))) as! [String: Any]
        #expect(stats["files"] as? Int == 167)
        // s3 → local.
        r = try f.run(["process", source + "/", "-o", local.path + "/events.tsv", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(sameBytes(Array(try Data(contentsOf: URL(fileURLWithPath: local.path + "/events.tsv"))), f.expectedAccount))
        // local → s3.
        r = try f.run(["process", f.tree + "/" + S3PipelineFixture.subset, "-o", "s3://tm-out/b/events.tsv", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(sameBytes(try f.decoded("tm-out", "b/events.tsv"), f.expectedAccount))
        // Local and S3 inputs in one run, and one object named exactly.
        let mixed = ["AWSLogs/444455556666/CloudTrail/eu-west-1", "AWSLogs/777788889999/CloudTrail/us-west-2"]
        let one = try f.keys("tm-pipe", "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/").first!
        r = try f.run(["process", f.tree + "/" + mixed[0], "s3://tm-pipe/" + mixed[1], "s3://tm-pipe/" + one, "-o", "-", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try runCLI(["process", f.tree + "/" + mixed[0], f.tree + "/" + mixed[1], f.tree + "/" + one, "-o", "-", "--quiet"])
        #expect(sameBytes(r.stdout, expected.stdout), "\(r.stderr)")
        #expect(local.listing() == ["events.tsv"])

        // Keys with spaces, +, =, @, ~, % and non-ASCII are read and written exactly.
        let awkward = "odd/a b+c=d@e~f%20g é.json.gz"
        try f.client.putObject(S3URL(bucket: "tm-out", key: awkward), body: Data(contentsOf: URL(fileURLWithPath: f.tree + "/" + one)))
        r = try f.run(["process", "s3://tm-out/" + awkward, "-o", "s3://tm-out/odd/out put+%é.tsv", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let single = try runCLI(["process", f.tree + "/" + one, "-o", "-", "--quiet"]).stdout
        #expect(sameBytes(try f.decoded("tm-out", "odd/out put+%é.tsv"), single))
        #expect(try f.keys("tm-out", "odd/") == ["odd/a b+c=d@e~f%20g é.json.gz", "odd/out put+%é.tsv"])
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers; the same code runs in the test above"))
    func readingTwoThousandObjectsKeepsManyGetsInFlight() throws {
        let f = fixture
        let proxy = FaultProxy(upstream: f.server, ["--delay", "1.0:0.03"])
        defer { proxy.stop() }
        let r = try f.run(["process", "s3://tm-pipe/AWSLogs/", "-o", "-", "--quiet", "--s3-concurrency", "32"], endpoint: proxy.endpoint)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(sameBytes(r.stdout, f.expectedAll), "\(r.stderr)")
        let stats = proxy.stats()
        #expect(stats["max_in_flight"]! >= 16, "\(stats)")
        #expect(stats["requests"]! >= 2001, "\(stats)")
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers"))
    func faultsAreRetriedToTheSameBytesAndAPermanentOneCommitsNothing() throws {
        let f = fixture
        let out = TempFolder()
        let source = "s3://tm-pipe/" + S3PipelineFixture.subset
        let proxy = FaultProxy(upstream: f.server, ["--seed", "3", "--slowdown", "0.1", "--reset", "0.05", "--truncate", "0.1"])
        defer { proxy.stop() }
        var r = try f.run(
            ["process", source, "-o", out.path + "/events.tsv", "--quiet", "--s3-max-attempts", "12"], endpoint: proxy.endpoint)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(sameBytes(Array(try Data(contentsOf: URL(fileURLWithPath: out.path + "/events.tsv"))), f.expectedAccount))
        let stats = proxy.stats()
        #expect(stats["slowdown"]! + stats["reset"]! + stats["truncate"]! > 10, "\(stats)")

        // Objects that always answer 503: exit 1, one line naming one, nothing written.
        let always = FaultProxy(upstream: f.server, ["--always-503", "us-east-1/2024/03/02"])
        defer { always.stop() }
        r = try f.run(["process", source, "-o", out.path + "/again.tsv", "--s3-max-attempts", "2"], endpoint: always.endpoint)
        #expect(r.status == 1)
        #expect(r.stderr.contains("s3://tm-pipe/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/02/"), "\(r.stderr)")
        #expect(r.stderr.contains("503 SlowDown"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(out.listing() == ["events.tsv"])
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers; their threads run in the tests that stay on"))
    func groupS3ToS3WithManifestsAndDeleteOnSuccess() throws {
        let f = fixture
        let dest = f.freshBucket("gdest")
        let source = "s3://tm-pipe-group/AWSLogs/111122223333"
        let common = ["--group-by", #"CloudTrail/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\.json\.gz"#, "--name", "$1/$2-$3-$4"]
        var r = try f.run(["group", source, "s3://\(dest)/daily"] + common + ["--output-manifest", "s3://\(dest)/m/1.gz"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("warning"), "\(r.stderr)")
        let parts = try f.keys(dest, "daily/")
        #expect(parts.count == 12)
        #expect(parts.first == "daily/ap-southeast-2/2024-03-01.json.gz")
        // The grouped objects give the same rows as the original files.
        r = try f.run(["process", "s3://\(dest)/daily/us-east-1", "-o", "-", "--quiet"])
        #expect(sameBytes(r.stdout, f.expectedAccount), "\(r.stderr)")
        let manifest = String(decoding: try f.decoded(dest, "m/1.gz"), as: UTF8.self)
        #expect(manifest.split(separator: "\n").count == 667)
        #expect(manifest.contains(#""path": "s3://\#(dest)/daily/ap-southeast-2/2024-03-01.json.gz""#))
        #expect(manifest.contains(#""srcDir": "s3://tm-pipe-group/AWSLogs/111122223333""#))

        // The next run with the previous manifest has nothing to do, and says so.
        r = try f.run(
            ["group", source, "s3://\(dest)/daily"] + common
                + ["--previous-manifest", "s3://\(dest)/m/1.gz", "--output-manifest", "s3://\(dest)/m/2.gz"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("nothing to do"), "\(r.stderr)")
        #expect(r.stderr.contains("667 files skipped (already in the previous manifest)"), "\(r.stderr)")
        #expect(try f.keys(dest, "daily/") == parts)

        // A re-run without it never overwrites: it takes the next part numbers, and says so.
        r = try f.run(["group", source, "s3://\(dest)/daily", "--src-pattern", "us-east-1/"] + common)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("exists; writing s3://\(dest)/daily/us-east-1/2024-03-01-1.json.gz instead"), "\(r.stderr)")
        #expect(try f.keys(dest, "daily/").count == 15)

        // --delete-on-success removes exactly the grouped sources, after the commit.
        r = try f.run(["group", "s3://tm-pipe-group/AWSLogs/777788889999", "s3://\(dest)/moved", "--delete-on-success"] + common)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try f.keys("tm-pipe-group", "AWSLogs/777788889999/").isEmpty)
        #expect(try f.keys("tm-pipe-group", "AWSLogs/111122223333/").count == 667)
        #expect(try f.keys(dest, "moved/").count == 12)
    }

    @Test func largeOutputsAreMultipartAndAFailedRunLeavesNoUpload() throws {
        let f = fixture
        let dest = f.freshBucket("mpu")
        // 7.3 MB of JSON in one object, in 5 MiB parts.
        let one = ["--group-by", #"([a-z]+)\.json\.gz"#, "--name", "all", "--output-codec", "none", "--s3-part-size", "5MiB"]
        var r = try f.run(["group", "s3://tm-pipe-big/in", "s3://\(dest)/all"] + one + ["--src-pattern", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        let head = try f.client.headObject(S3URL(bucket: dest, key: "all/all.json"))
        #expect(head?.etag.hasSuffix("-2\"") == true, "\(String(describing: head))")
        #expect(Int(head?.size ?? 0) == S3PipelineFixture.jsonBytes)

        // A corrupt object after it fails the run once the first part is up: no object, no upload.
        let bad = f.freshBucket("mpubad")
        let client = f.client
        try client.putObject(S3URL(bucket: bad, key: "in/all.json.gz"), body: client.getObject(S3URL(bucket: "tm-pipe-big", key: "in/all.json.gz")))
        try client.putObject(S3URL(bucket: bad, key: "in/zz.json.gz"), body: Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]))
        r = try f.run(["group", "s3://\(bad)/in", "s3://\(bad)/out", "--group-by", #"([a-z]+)\.json\.gz"#, "--name", "one"] + one.dropFirst(4))
        #expect(r.status == 1)
        #expect(r.stderr.contains("s3://\(bad)/in/zz.json.gz"), "\(r.stderr)")
        #expect(try f.keys(bad, "out/").isEmpty)
        #expect(try client.listMultipartUploads(bucket: bad, prefix: "").isEmpty)
    }

    @Test func anInterruptedUploadIsAborted() throws {
        let f = fixture
        let dest = f.freshBucket("sigint")
        // Slow every request so the run is still uploading when the signal comes. The proxy waits
        // before it forwards, so the object can appear at the earliest two delays after the upload
        // does (a part, then the completion): with 1 s delays the signal, 0.5 s after the upload
        // appears, has 1.5 s to spare on a loaded machine (with 0.4 s it had 0.3 s, and a CI run
        // under load once completed the upload before the signal).
        let proxy = FaultProxy(upstream: f.server, ["--delay", "1.0:1.0"])
        defer { proxy.stop() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        process.arguments = [
            "group", "s3://tm-pipe-big/in", "s3://\(dest)/all", "--group-by", #"([a-z]+)\.json\.gz"#, "--name", "all", "--output-codec", "none",
            "--s3-part-size", "5MiB", "--quiet",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(f.environment(endpoint: proxy.endpoint)) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        let client = f.client
        let deadline = Date().addingTimeInterval(60)
        while try client.listMultipartUploads(bucket: dest, prefix: "").isEmpty && process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let started = try !client.listMultipartUploads(bucket: dest, prefix: "").isEmpty
        Thread.sleep(forTimeInterval: 0.5)  // the answer with the upload ID (not delayed) reaches the run
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(started, "the upload never started before the run ended")
        #expect(process.terminationStatus == 130)
        #expect(try client.listMultipartUploads(bucket: dest, prefix: "").isEmpty)
        #expect(try f.keys(dest, "").isEmpty)
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers; their threads run in the tests that stay on"))
    func mergeReadsAndWritesS3() throws {
        let f = fixture
        let halves = ["AWSLogs/444455556666/CloudTrail/eu-west-1", "AWSLogs/777788889999/CloudTrail/us-west-2"]
        for (i, half) in halves.enumerated() {
            let r = try f.run(["process", "s3://tm-pipe/" + half, "-o", "s3://tm-out/merge/p\(i).tsv.gz", "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let r = try f.run([
            "merge", "s3://tm-out/merge/p0.tsv.gz", "s3://tm-out/merge/p1.tsv.gz", "-o", "s3://tm-out/merge/all.tsv.gz",
            "--stats", "s3://tm-out/merge/stats.json", "--quiet",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let single = try runCLI(["process", f.tree + "/" + halves[0], f.tree + "/" + halves[1], "-o", "-", "--quiet"]).stdout
        #expect(sameBytes(try f.decoded("tm-out", "merge/all.tsv.gz"), single))
        #expect(try f.keys("tm-out", "merge/").contains("merge/stats.json"))
    }

    /// S3 options for the library calls of the tests (the executable gets the environment).
    var s3Options: S3Options {
        var options = S3Options()
        options.configuration.endpoint = fixture.server.endpoint
        options.configuration.region = "us-east-1"
        options.configuration.credentials = AWSCredentials(
            accessKeyID: fixture.server.accessKey, secretAccessKey: fixture.server.secretKey)
        options.configuration.environment = [:]
        return options
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers; their threads run in the tests that stay on"))
    func aNameTakenBeforeTheCommitMovesThePartToTheNextNumber() throws {
        let f = fixture
        let dest = f.freshBucket("race")
        var options = GroupOptions()
        options.source = "s3://tm-pipe/" + S3PipelineFixture.subset
        options.destination = "s3://\(dest)/daily"
        options.groupBy = try GroupPattern(#"([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\.json\.gz"#)
        options.nameTemplate = "$1-$2-$3"
        options.outputManifest = "s3://\(dest)/m.gz"
        options.s3 = s3Options
        let client = f.client
        // Another writer takes the first planned name after the listing, before the publish.
        options.beforePublish = { _ = try? client.putObject(S3URL(bucket: dest, key: "daily/2024-03-01.json.gz"), body: Data("theirs".utf8)) }
        let warnings = Locked<[String]>([])
        let result = try runGroup(options) { event in if case .warning(let w) = event { warnings.withLock { $0.append(w) } } }
        #expect(result.parts.map(\.name) == ["2024-03-01-1.json.gz", "2024-03-02.json.gz", "2024-03-03.json.gz"])
        #expect(warnings.withLock { $0 } == [
            "s3://\(dest)/daily/2024-03-01.json.gz appeared while this run was writing; writing s3://\(dest)/daily/2024-03-01-1.json.gz instead",
        ])
        #expect(try client.getObject(S3URL(bucket: dest, key: "daily/2024-03-01.json.gz")) == Data("theirs".utf8))
        #expect(try f.keys(dest, "daily/") == ["daily/2024-03-01-1.json.gz", "daily/2024-03-01.json.gz", "daily/2024-03-02.json.gz", "daily/2024-03-03.json.gz"])
        let manifest = String(decoding: try f.decoded(dest, "m.gz"), as: UTF8.self)
        #expect(manifest.contains("daily/2024-03-01-1.json.gz"))
        #expect(!manifest.contains("daily/2024-03-01.json.gz"))
        // Every row is there once.
        let r = try f.run(["process", "s3://\(dest)/daily", "--src-pattern", #"/2024-03-01-1\.json|/2024-03-0[23]\.json"#, "-o", "-", "--quiet"])
        #expect(sameBytes(r.stdout, f.expectedAccount), "\(r.stderr)")
        #expect(try client.listMultipartUploads(bucket: dest, prefix: "").isEmpty)
    }

    @Test func anObjectThatAppearsBeforeTheCommitIsNeverOverwritten() throws {
        let f = fixture
        let bucket = f.freshBucket("race")
        let outputs = OutputSet(cleanup: Cleanup(), storage: Storage(s3: s3Options), noOverwrite: true)
        let first = try outputs.stage("s3://\(bucket)/d/a.json.gz", role: "output")
        let second = try outputs.stage("s3://\(bucket)/d/b.json.gz", role: "output")
        try first.write("mine a")
        try second.write("mine b")
        // Another writer takes the second name after the plan, before this commit.
        try f.client.putObject(S3URL(bucket: bucket, key: "d/b.json.gz"), body: Data("theirs".utf8))
        let error = trailMergeError { try outputs.commit() }
        #expect(error?.description.contains("s3://\(bucket)/d/b.json.gz: appeared while this run was writing") == true, "\(String(describing: error))")
        #expect(try f.client.getObject(S3URL(bucket: bucket, key: "d/b.json.gz")) == Data("theirs".utf8))
        #expect(try f.keys(bucket, "") == ["d/b.json.gz"])
        #expect(try f.client.listMultipartUploads(bucket: bucket, prefix: "").isEmpty)
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers; their threads run in the tests that stay on"))
    func anObjectOverEightMiBIsReadByRangedGets() throws {
        let f = fixture
        let local = TempFolder()
        // Four copies of the whole tree's gzip members: 10.3 MB, read in 8 MiB ranges.
        let whole = try f.client.getObject(S3URL(bucket: "tm-pipe-big", key: "in/all.json.gz"))
        var four = Data()
        for _ in 0..<4 { four.append(whole) }
        #expect(four.count > 8 << 20)
        let path = local.write("four.json.gz", Array(four))
        try f.client.putObject(S3URL(bucket: "tm-out", key: "big/four.json.gz"), body: four)
        let proxy = FaultProxy(upstream: f.server, [])
        defer { proxy.stop() }
        let r = try f.run(["process", "s3://tm-out/big/four.json.gz", "-o", "-", "--quiet"], endpoint: proxy.endpoint)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(sameBytes(r.stdout, (try runCLI(["process", path, "-o", "-", "--quiet"])).stdout), "\(r.stderr)")
        // HEAD, then two ranged GETs.
        #expect(proxy.stats()["requests"] == 3, "\(proxy.stats())")
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers; their threads run in the tests that stay on"))
    func partitionsOnS3AreTheLocalPartitions() throws {
        let f = fixture
        let local = TempFolder()
        let source = "AWSLogs/111122223333"
        let spec = ["--partition-by", "dt=eventTime:10", "--partition-by", "region=awsRegion", "--quiet"]
        var r = try f.run(["process", "s3://tm-pipe/" + source, "-o", "s3://tm-out/parts"] + spec)
        #expect(r.status == 0, "\(r.stderr)")
        r = try runCLI(["process", f.tree + "/" + source, "-o", local.path + "/parts"] + spec)
        #expect(r.status == 0, "\(r.stderr)")
        let files = local.listing().filter { $0.hasSuffix(".tsv.gz") }
        #expect(files.count == 12)
        #expect(try f.keys("tm-out", "parts/") == files)
        for name in files {
            #expect(sameBytes(try f.decoded("tm-out", name), try OracleTable.decodedContents(local.path + "/" + name)), "\(name)")
        }
        // A prefix that already holds partitions is refused before anything is read.
        r = try f.run(["process", "s3://tm-pipe/" + source, "-o", "s3://tm-out/parts"] + spec)
        #expect(r.status == 1)
        #expect(r.stderr.contains("the partition prefix is not empty"), "\(r.stderr)")
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers"))
    func aTimeRangeSkipsObjectsOfOtherDays() throws {
        let f = fixture
        let out = TempFolder()
        let range = ["--since", "2024-03-02T00:00:00Z", "--until", "2024-03-02T12:00:00Z", "--max-delivery-delay", "0"]
        let source = "AWSLogs/111122223333/CloudTrail/us-east-1"
        var r = try f.run(["process", "s3://tm-pipe/" + source, "-o", "-", "--quiet", "--stats", out.path + "/s3.json"] + range)
        #expect(r.status == 0, "\(r.stderr)")
        let local = try runCLI(["process", f.tree + "/" + source, "-o", "-", "--quiet", "--stats", out.path + "/local.json"] + range)
        #expect(sameBytes(r.stdout, local.stdout))
        #expect(!r.stdout.isEmpty)
        func stats(_ name: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out.path + "/" + name))) as! [String: Any]
        }
        // Only the objects of 2024/03/02 are read (the day folders of the 1st and 3rd are pruned).
        let read = try stats("s3.json")["files"] as? Int
        #expect(read == (try stats("local.json")["files"] as? Int))
        #expect(read == (try f.keys("tm-pipe", source + "/2024/03/02/").count))
        #expect(try stats("s3.json")["prunedFolders"] as? Int == 2)
        r = try f.run(["process", "s3://tm-pipe/" + source, "-o", "-", "--dry-run"] + range)
        #expect(!String(decoding: r.stdout, as: UTF8.self).contains("/2024/03/01/"))
    }

    @Test func mistakesAreOneLineAndChangeNothing() throws {
        let f = fixture
        let out = TempFolder()
        // A bucket that does not exist, as the output: refused before any input is read.
        var r = try f.run(["process", f.tree, "-o", "s3://tm-no-such-bucket/x.tsv"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("tm-no-such-bucket"), "\(r.stderr)")
        #expect(r.stderr.contains("NoSuchBucket"), "\(r.stderr)")
        // A prefix with nothing under it.
        r = try f.run(["process", "s3://tm-pipe/AWSLogs/000000000000", "-o", out.path + "/x.tsv"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no input files"), "\(r.stderr)")
        // A bucket or prefix as the output.
        r = try f.run(["process", f.tree, "-o", "s3://tm-out/dir/", "--format", "tsv"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("must name an object"), "\(r.stderr)")
        #expect(out.listing().isEmpty)
        // A bad option value.
        r = try f.run(["process", f.tree, "-o", "-", "--s3-part-size", "1MiB"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--s3-part-size"), "\(r.stderr)")
    }

    @Test(.enabled(if: !runningUnderSanitizer, "slow under sanitizers; their threads run in the tests that stay on"))
    func aWrongSecretIsA403LineWithoutTheSecret() throws {
        let auth = MotoServer(auth: true)
        defer { auth.stop() }
        auth.createBucket("tm-auth")
        let secret = "wrong-secret-0123456789abcdef"
        let r = try runCLI(
            ["process", "s3://tm-auth/AWSLogs/", "-o", "-"],
            environment: [
                "AWS_ACCESS_KEY_ID": auth.accessKey, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL": auth.endpoint,
                "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_EC2_METADATA_DISABLED": "true",
            ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("s3://tm-auth/AWSLogs/: 403"), "\(r.stderr)")
        #expect(!r.stderr.contains(secret))
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
