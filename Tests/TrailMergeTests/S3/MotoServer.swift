/// A real moto S3 server process on 127.0.0.1 (scripts/moto-server.py), started by the tests and
/// stopped when the value goes away or, at the latest, when the test process exits (the script
/// serves until its stdin closes).
import Foundation
@testable import TrailMerge

/// The repository root (three folders above this file).
let repositoryRoot: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
}()

/// Whether `python3 -c CODE` exits 0.
func pythonCanRun(_ code: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", code]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// A helper script that prints one JSON line when ready and serves until its stdin closes.
final class HelperScript: @unchecked Sendable {
    let process = Process()
    let stdin = Pipe()
    let info: [String: Any]

    init(_ script: String, _ arguments: [String]) {
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot + "/scripts/" + script] + arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try! process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        info = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] ?? [:]
        precondition(
            info["port"] as? Int ?? 0 > 0,
            "\(script) did not start (run it by hand to see why): \(String(decoding: line, as: UTF8.self))")
    }

    var port: Int { info["port"] as! Int }

    func stop() {
        guard process.isRunning else { return }
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { stop() }
}

final class MotoServer: @unchecked Sendable {
    /// Under CI=true the S3 suites always run (install-deps installs moto), so a missing tool fails.
    static let available = isCI || pythonCanRun("import moto.server, flask, werkzeug")
    static let unavailableReason = "moto[server] is not importable by python3: run scripts/install-deps.sh"

    let helper: HelperScript
    let port: Int
    let accessKey: String
    let secretKey: String

    /// Starts a server; `auth` turns on moto's signature checks with a fresh IAM user; `seed`
    /// creates objects directly in moto's backend (`BUCKET:PREFIX:COUNT`).
    init(auth: Bool = false, seed: [String] = [], seedDirs: [String] = []) {
        helper = HelperScript(
            "moto-server.py",
            (auth ? ["--auth"] : []) + seed.flatMap { ["--seed", $0] } + seedDirs.flatMap { ["--seed-dir", $0] })
        port = helper.port
        accessKey = helper.info["access_key"] as? String ?? ""
        secretKey = helper.info["secret_key"] as? String ?? ""
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// A client for this server (or for `endpoint`, a proxy in front of it) with the given secret.
    func client(
        secret: String? = nil, maxAttempts: Int = 3, endpoint: String? = nil, configure: (inout S3Configuration) -> Void = { _ in }
    ) -> S3Client {
        var configuration = S3Configuration()
        configuration.endpoint = endpoint ?? self.endpoint
        configuration.region = "us-east-1"
        configuration.credentials = AWSCredentials(accessKeyID: accessKey, secretAccessKey: secret ?? secretKey)
        configuration.maxAttempts = maxAttempts
        configuration.retryBaseDelay = 0.01
        configuration.environment = [:]
        configure(&configuration)
        return try! S3Client(configuration)
    }

    /// Creates `bucket` (CreateBucket is not part of the client: trailmerge never creates buckets).
    func createBucket(_ bucket: String) {
        let client = self.client()
        _ = try! client.perform(S3Client.Request(method: "PUT", bucket: bucket, key: nil), object: "s3://\(bucket)")
    }

    func stop() { helper.stop() }

    /// One server shared by the tests that do not check signatures (each uses its own bucket).
    /// It holds `tm-seeded` with 3,000 keys `AWSLogs/1/<n>/file.json.gz` (n % 7 bytes each),
    /// made directly in moto's backend, plus one key outside that prefix.
    static let shared = MotoServer(seed: ["tm-seeded:AWSLogs/1/:3000", "tm-seeded:AWSLogs/2/:1"])
}

/// scripts/fault-proxy.py in front of a moto server.
final class FaultProxy: @unchecked Sendable {
    let helper: HelperScript

    init(upstream: MotoServer, _ options: [String]) {
        helper = HelperScript("fault-proxy.py", [String(upstream.port)] + options)
    }

    var endpoint: String { "http://127.0.0.1:\(helper.port)" }

    /// The proxy's counters (requests, max_in_flight, each fault).
    func stats() -> [String: Int] {
        let data = try! Data(contentsOf: URL(string: endpoint + "/__stats")!)
        return (try! JSONSerialization.jsonObject(with: data)) as! [String: Int]
    }

    func stop() { helper.stop() }
}
