/// Helpers shared by the tests: temp folders, gzip through the system tool, running `process`
/// through the library and through the built executable.
import Foundation
import Testing
@testable import TrailMerge

/// A temporary folder removed when the value goes away.
final class TempFolder {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/trailmerge-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` at `relative`, creating folders.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + relative
        try! FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: full, contents: Data(bytes))
        return full
    }

    @discardableResult
    func write(_ relative: String, _ text: String) -> String { write(relative, Array(text.utf8)) }

    /// Every entry under the folder, recursively, sorted.
    func listing() -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
    }
}

/// gzip -c -n of `bytes`, by the system tool (independent of the library's deflater).
func gzip(_ bytes: [UInt8]) -> [UInt8] { try! runTool("/bin/gzip", ["-c", "-n"], input: bytes) }
func gzip(_ text: String) -> [UInt8] { gzip(Array(text.utf8)) }

/// The fixtures folder next to this file.
let fixturesPath: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
}()

/// The error `body` throws, when it is a `TrailMergeError`; nil when it succeeds.
func trailMergeError(_ body: () throws -> Void) -> TrailMergeError? {
    do {
        try body()
        return nil
    } catch {
        return error as? TrailMergeError
    }
}

/// Runs `process` through the library into a temp file and returns the output's decoded bytes.
func runToBytes(_ options: ProcessOptions, in folder: TempFolder, name: String = "out.tsv") throws -> (bytes: [UInt8], stats: RunStats) {
    var options = options
    options.output = folder.path + "/" + name
    if options.tempDirectory == ProcessOptions.defaultTempDirectory { options.tempDirectory = folder.path }
    let stats = try runProcess(options)
    return (try OracleTable.decodedContents(options.output), stats)
}

func options(_ inputs: [String], fields: String? = nil, records: String = "Records") -> ProcessOptions {
    var o = ProcessOptions()
    o.inputs = inputs
    o.recordsPath = records
    if let fields {
        o.fields = fields.split(separator: ",", omittingEmptySubsequences: false).map { try! FieldPath(String($0)) }
        o.sortColumns = o.fields.count >= 2 ? [0, 1] : [0]
    }
    o.threads = 2
    return o
}

/// The `trailmerge` executable built next to the test bundle.
let executablePath: String = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    for _ in 0..<6 {
        let candidate = url.deletingLastPathComponent().appendingPathComponent("trailmerge")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
        url = url.deletingLastPathComponent()
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/trailmerge").path
}()

struct ToolResult {
    let status: Int32
    let stdout: [UInt8]
    let stderr: String
}

/// Runs the executable with `arguments` (stdin closed) and collects its output.
func runCLI(_ arguments: [String], environment: [String: String]? = nil) throws -> ToolResult {
    try runCLIThrough(executablePath, arguments, environment: environment)
}

/// Runs `tool` (the executable, or a wrapper such as unshare) and collects its output.
func runCLIThrough(_ tool: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe()
    let errPath = NSTemporaryDirectory() + "/trailmerge-stderr-\(UUID().uuidString)"
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try? err.close()
    let errData = FileManager.default.contents(atPath: errPath) ?? Data()
    return ToolResult(status: process.terminationStatus, stdout: Array(outData), stderr: String(decoding: errData, as: UTF8.self))
}

/// A record with the default CloudTrail fields, for hand-written cases.
func record(time: String, name: String, user: String? = nil, ip: String? = "10.0.0.1", instances: [String]? = nil) -> String {
    var parts = ["\"eventTime\":\"\(time)\"", "\"eventName\":\"\(name)\"", "\"eventSource\":\"ec2.amazonaws.com\"", "\"awsRegion\":\"us-east-1\""]
    if let user { parts.append("\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"\(user)\"}") }
    if let ip { parts.append("\"sourceIPAddress\":\"\(ip)\"") }
    if let instances {
        let items = instances.map { "{\"instanceId\":\"\($0)\"}" }.joined(separator: ",")
        parts.append("\"requestParameters\":{\"instancesSet\":{\"items\":[\(items)]}}")
    }
    return "{" + parts.joined(separator: ",") + "}"
}

/// True when the tests (and so the executable next to them) were built with a sanitizer.
let runningUnderSanitizer: Bool = {
    let handle = dlopen(nil, RTLD_NOW)
    return dlsym(handle, "__tsan_init") != nil || dlsym(handle, "__asan_init") != nil
}()

/// nil when the two texts are equal, else where they first differ (line number and both lines,
/// cut short), so a failed comparison of large outputs prints a line, not every byte.
func textDifference(_ a: [UInt8], _ b: [UInt8]) -> String? {
    guard a != b else { return nil }
    let x = a.split(separator: 10, omittingEmptySubsequences: false)
    let y = b.split(separator: 10, omittingEmptySubsequences: false)
    var line = 0
    while line < min(x.count, y.count) && x[line] == y[line] { line += 1 }
    let show = { (lines: [ArraySlice<UInt8>]) -> String in
        line < lines.count ? String(decoding: lines[line].prefix(200), as: UTF8.self) : "<end>"
    }
    return "\(x.count) against \(y.count) lines; first difference at line \(line + 1): '\(show(x))' against '\(show(y))'"
}
