/// trailmerge-bench: generates (or reuses) CloudTrail trees, measures every pipeline stage alone and
/// the whole job end to end (as a child process, for honest wall time and peak RSS), and prints a
/// table; `--json FILE` writes the figures, `--update-readme FILE` rewrites the README's table.
///
///   swift run -c release trailmerge-bench [--sizes S,M] [--threads 1,2] [--repeat N] [--filter TEXT]
///                                         [--work DIR] [--json FILE] [--update-readme README.md] [--smoke]
import Foundation
import TrailMerge

#if DEBUG
let buildKind = "debug"
#else
let buildKind = "release"
#endif

struct Tree {
    let name: String
    let files: Int
    let recordsPerFile: Int
}

let trees = [
    "XS": Tree(name: "XS", files: 50, recordsPerFile: 20),
    "S": Tree(name: "S", files: 2_000, recordsPerFile: 100),
    "M": Tree(name: "M", files: 20_000, recordsPerFile: 100),
]

struct Row: Codable {
    var stage: String
    var tree: String
    var threads: Int
    var seconds: Double
    var jsonMBPerSecond: Double?
    var rowsPerSecond: Double?
    var peakRSSMiB: Double?
    var note: String
}

// MARK: - Arguments

var sizes = ["S"]
var threadCounts = [1, ProcessInfo.processInfo.activeProcessorCount]
var repeats = 3
var filter: String?
var work = NSTemporaryDirectory() + "/trailmerge-bench"
var jsonPath: String?
var readmePath: String?
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    func value() -> String {
        guard !arguments.isEmpty else { fatalError("trailmerge-bench: \(option) needs a value") }
        return arguments.removeFirst()
    }
    switch option {
    case "--sizes": sizes = value().split(separator: ",").map(String.init)
    case "--threads": threadCounts = value().split(separator: ",").compactMap { Int($0) }
    case "--repeat": repeats = max(1, Int(value()) ?? 3)
    case "--filter": filter = value()
    case "--work": work = value()
    case "--json": jsonPath = value()
    case "--update-readme": readmePath = value()
    case "--smoke":
        sizes = ["XS"]
        threadCounts = [1, 2]
        repeats = 1
    case "-h", "--help":
        print("usage: trailmerge-bench [--sizes XS,S,M] [--threads 1,2] [--repeat N] [--filter TEXT] [--work DIR] [--json FILE] [--update-readme README.md] [--smoke]")
        exit(0)
    default:
        FileHandle.standardError.write(Data("trailmerge-bench: unknown option \(option)\n".utf8))
        exit(2)
    }
}
if buildKind == "debug" {
    FileHandle.standardError.write(Data("warning: trailmerge-bench was built in debug mode; figures are not representative (use -c release)\n".utf8))
}

// MARK: - Helpers

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

/// The trailmerge binary next to this one.
let toolPath = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("trailmerge").path

/// Runs a child process through GNU time; returns wall seconds and the child's own peak RSS (KiB).
/// (wait4 on a posix_spawn child would report the parent's peak, since exec keeps the old high-water mark.)
func spawn(_ path: String, _ args: [String]) -> (seconds: Double, maxRSSKiB: Int, status: Int32) {
    let timeTool = "/usr/bin/time"
    let hasTime = FileManager.default.isExecutableFile(atPath: timeTool)
    let rssFile = NSTemporaryDirectory() + "/trailmerge-bench-rss-\(getpid())"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: hasTime ? timeTool : path)
    process.arguments = hasTime ? ["-f", "%M", "-o", rssFile, path] + args : args
    process.standardOutput = FileHandle.nullDevice
    let start = Date()
    do { try process.run() } catch { return (0, 0, -1) }
    process.waitUntilExit()
    let seconds = Date().timeIntervalSince(start)
    let rss = (try? String(contentsOfFile: rssFile, encoding: .utf8))?
        .split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
    try? FileManager.default.removeItem(atPath: rssFile)
    return (seconds, rss, process.terminationStatus)
}

@MainActor func ensureTree(_ tree: Tree) -> String {
    let root = "\(work)/\(tree.name)"
    let marker = root + "/.generated-\(tree.files)x\(tree.recordsPerFile)-seed7"
    if FileManager.default.fileExists(atPath: marker) { return root }
    try? FileManager.default.removeItem(atPath: root)
    print("generating \(tree.name): \(tree.files) files × \(tree.recordsPerFile) records under \(root)")
    var options = GeneratorOptions()
    options.destination = root
    options.files = tree.files
    options.recordsPerFile = tree.recordsPerFile
    options.seed = 7
    options.days = 3
    do {
        _ = try generateTree(options)
    } catch {
        fatalError("trailmerge-bench: \(error)")
    }
    _ = FileManager.default.createFile(atPath: marker, contents: nil)
    return root
}

@MainActor func wanted(_ stage: String) -> Bool { filter.map { stage.contains($0) } ?? true }

// MARK: - Measure

var rows: [Row] = []
for size in sizes {
    guard let tree = trees[size] else { fatalError("trailmerge-bench: unknown size \(size) (XS, S, M)") }
    let root = ensureTree(tree)
    let probe = try StageProbe(root: root)
    var jsonBytes = 0
    var rowCount = 0

    func stage(_ name: String, _ run: () throws -> StageProbe.Measurement, json: Bool = true, rowsCount: Bool = false) throws {
        var seconds: [Double] = []
        var last: StageProbe.Measurement?
        for _ in 0..<repeats {
            let m = try run()
            seconds.append(m.seconds)
            last = m
        }
        let s = median(seconds)
        let m = last!
        if name == "inflate" { jsonBytes = m.bytes }
        if name == "scan+flatten" { rowCount = m.rows }
        let mbps = json && jsonBytes > 0 ? Double(jsonBytes) / 1e6 / s : nil
        let rps = rowsCount && rowCount > 0 ? Double(rowCount) / s : nil
        let note: String
        switch name {
        case "walk": note = "\(m.checksum) files"
        case "read": note = "\(m.bytes / 1_000_000) MB gzip"
        case "inflate": note = "\(m.bytes / 1_000_000) MB JSON"
        case "scan+flatten": note = "\(m.rows) rows"
        case "compress L1", "compress L6": note = "\(m.bytes / 1_000_000) MB text → \(m.checksum / 1_000_000) MB"
        default: note = ""
        }
        rows.append(Row(stage: name, tree: size, threads: name.hasPrefix("compress") ? threadCounts.max()! : 1,
                        seconds: s, jsonMBPerSecond: mbps, rowsPerSecond: rps, peakRSSMiB: nil, note: note))
        print(String(format: "%-16@ %-3@ %8.3f s  %@", name, size, s, note))
    }

    try stage("walk", { try probe.walk() }, json: false)
    try stage("read", { try probe.read() }, json: false)
    try stage("inflate", { try probe.inflate() })
    try stage("scan+flatten", { try probe.scanAndFlatten() }, rowsCount: true)
    try stage("sort (memory)", { try probe.scanAndFlatten(); return try probe.sortInMemory() }, rowsCount: true)
    try stage("spill+merge", { try probe.spillAndMerge(runBytes: 16 << 20, temp: NSTemporaryDirectory()) }, rowsCount: true)
    try stage("format tsv", { try probe.format() }, rowsCount: true)
    let maxThreads = threadCounts.max() ?? 1
    try stage("compress L1", { try probe.compress(level: 1, threads: maxThreads) }, json: false)
    try stage("compress L6", { try probe.compress(level: 6, threads: maxThreads) }, json: false)

    // End to end, as a user runs it.
    let out = "\(work)/out-\(size).tsv.gz"
    for (label, extra) in [("end-to-end", [String]()), ("end-to-end 32MiB", ["--memory", "32MiB"])] where wanted(label) {
        for threads in threadCounts {
            var seconds: [Double] = []
            var rss = 0
            for _ in 0..<repeats {
                let r = spawn(toolPath, ["process", root, "-o", out, "--threads", "\(threads)", "--quiet"] + extra)
                guard r.status == 0 else { fatalError("trailmerge-bench: trailmerge exited with status \(r.status)") }
                seconds.append(r.seconds)
                rss = max(rss, r.maxRSSKiB)
            }
            let s = median(seconds)
            rows.append(Row(stage: label, tree: size, threads: threads, seconds: s,
                            jsonMBPerSecond: Double(jsonBytes) / 1e6 / s, rowsPerSecond: Double(rowCount) / s,
                            peakRSSMiB: rss > 0 ? Double(rss) / 1024 : nil, note: "trailmerge process -o .tsv.gz"))
            print(String(format: "%-16@ %-3@ %8.3f s  %d threads, %.0f MiB peak RSS", label, size, s, threads, Double(rss) / 1024))
        }
    }
    let floor = spawn("/bin/sh", ["-c", "find '\(root)' -name '*.json.gz' -print0 | xargs -0 -P2 -n500 zcat >/dev/null"])
    rows.append(Row(stage: "zcat floor", tree: size, threads: 2, seconds: floor.seconds,
                    jsonMBPerSecond: Double(jsonBytes) / 1e6 / floor.seconds, rowsPerSecond: nil, peakRSSMiB: nil,
                    note: "find \\| xargs -P2 -n500 zcat"))
    try? FileManager.default.removeItem(atPath: out)
}

// MARK: - Report

func cell(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "" }

var table = "| stage | tree | threads | seconds | MB/s of JSON | rows/s | peak RSS | note |\n|---|---|---|---|---|---|---|---|\n"
for r in rows where wanted(r.stage) {
    table += "| \(r.stage) | \(r.tree) | \(r.threads) | \(String(format: "%.3f", r.seconds)) | \(cell(r.jsonMBPerSecond, "%.0f")) | "
    table += "\(cell(r.rowsPerSecond.map { $0 / 1e6 }, "%.2fM")) | \(cell(r.peakRSSMiB, "%.0f MiB")) | \(r.note) |\n"
}
let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("model name") }
    .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(cpu)), \(ProcessInfo.processInfo.physicalMemory >> 30) GiB, \(buildKind) build"
print("\n" + table)
print(machine)

if let jsonPath {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(rows).write(to: URL(fileURLWithPath: jsonPath))
}
if let readmePath {
    let begin = "<!-- bench:begin -->"
    let end = "<!-- bench:end -->"
    var readme = try String(contentsOfFile: readmePath, encoding: .utf8)
    guard let a = readme.range(of: begin), let b = readme.range(of: end) else {
        fatalError("trailmerge-bench: \(readmePath) has no \(begin) … \(end) section")
    }
    let command = "swift run -c release trailmerge-bench " + CommandLine.arguments.dropFirst().joined(separator: " ")
    let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
    let section = "\n_Written by `\(command)` on \(date); \(machine); median of \(repeats) run(s)._\n\n" + table
    readme.replaceSubrange(a.upperBound..<b.lowerBound, with: section)
    try readme.write(toFile: readmePath, atomically: true, encoding: .utf8)
}
