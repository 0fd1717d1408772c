/// Run figures shared by `process` and `group`: the one-line summary and the `--stats` JSON.

/// What a run did, for the summary line and `--stats`.
public struct RunStats: Sendable, Equatable {
    public var files = 0
    public var inputBytes = 0
    public var jsonBytes = 0
    public var records = 0
    public var rows = 0
    public var spilledRuns = 0
    public var mergePasses = 0
    public var outputBytes = 0
    public var outputFiles = 0
    public var unmatchedFiles = 0
    /// `group`: sources skipped because the previous manifest lists them with the same size.
    public var previouslyGrouped = 0
    /// `--since`/`--until`: date folders neither listed nor read.
    public var prunedFolders = 0
    /// `--dedupe`: records dropped as copies of an earlier one.
    public var duplicates = 0
    public var skippedFiles: [String] = []
    public var warnings = 0
    public var seconds = 0.0
    /// `process`: seconds from the start until every input was read (walk, inflate, scan, sort of
    /// the last arenas); the rest of `seconds` is the merge and the output tail.
    public var readSeconds = 0.0
    /// `process`: large gzip files read in parallel segments, and how many segments they made.
    public var splitFiles = 0
    public var segments = 0

    public init() {}

    /// Decompressed JSON megabytes (10^6) per second.
    public var megabytesPerSecond: Double { seconds > 0 ? Double(jsonBytes) / 1e6 / seconds : 0 }

    /// The one-line summary printed to stderr after `process`.
    public var processSummary: String {
        var text = "\(plural(files, "file")), \(formatDecimal(Double(inputBytes) / 1e6, places: 1)) MB in "
        text += "(\(formatDecimal(Double(jsonBytes) / 1e6, places: 1)) MB JSON), "
        text += "\(plural(records, "record")), \(plural(rows, "row")), \(plural(spilledRuns, "spilled run")), "
        text += "\(mergePasses) merge pass\(mergePasses == 1 ? "" : "es"), "
        text += "\(formatDecimal(seconds, places: 2)) s, \(formatDecimal(megabytesPerSecond, places: 1)) MB/s of JSON"
        if !skippedFiles.isEmpty { text += ", \(plural(skippedFiles.count, "bad file")) skipped" }
        if warnings > 0 { text += ", \(plural(warnings, "warning"))" }
        return text
    }

    /// The one-line summary printed after `merge`.
    public var mergeSummary: String {
        "\(plural(files, "file")) (\(formatDecimal(Double(inputBytes) / 1e6, places: 1)) MB) merged, \(plural(rows, "row")), "
            + "\(plural(mergePasses, "merge pass", "merge passes")), \(formatDecimal(seconds, places: 2)) s"
    }

    /// The command whose figures a `--stats` document holds.
    public enum Command: Sendable { case process, merge, group }

    /// The `--stats` document of `command`: each command's own figures (`group` reads no JSON and
    /// sorts nothing; `unmatchedFiles` and `previouslyGrouped` are `group`'s alone).
    public func json(for command: Command) -> String {
        if command == .group {
            let fields: [(String, String)] = [
                ("files", "\(files)"), ("inputBytes", "\(inputBytes)"), ("outputBytes", "\(outputBytes)"),
                ("outputFiles", "\(outputFiles)"), ("unmatchedFiles", "\(unmatchedFiles)"),
                ("previouslyGrouped", "\(previouslyGrouped)"), ("warnings", "\(warnings)"),
                ("seconds", formatDecimal(seconds, places: 6)),
            ]
            return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n"
        }
        var fields: [(String, String)] = [
            ("files", "\(files)"), ("inputBytes", "\(inputBytes)"), ("jsonBytes", "\(jsonBytes)"),
            ("records", "\(records)"), ("rows", "\(rows)"), ("spilledRuns", "\(spilledRuns)"),
            ("mergePasses", "\(mergePasses)"), ("outputBytes", "\(outputBytes)"),
            ("outputFiles", "\(outputFiles)"),
        ]
        fields += [("prunedFolders", "\(prunedFolders)"), ("duplicates", "\(duplicates)"), ("warnings", "\(warnings)")]
        let skipped = skippedFiles.map { name -> String in
            let buffer = ByteBuffer(capacity: name.utf8.count + 8)
            RowFormatter.appendJSONString(Array(name.utf8), to: buffer)
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
        fields.append(("skippedFiles", "[" + skipped.joined(separator: ",") + "]"))
        fields.append(("seconds", formatDecimal(seconds, places: 6)))
        if splitFiles > 0 { fields.append(("splitFiles", "\(splitFiles)")); fields.append(("segments", "\(segments)")) }
        if readSeconds > 0 { fields.append(("readSeconds", formatDecimal(readSeconds, places: 6))) }
        fields.append(("megabytesPerSecond", formatDecimal(megabytesPerSecond, places: 3)))
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n"
    }
}

/// Something the library wants the user to know, delivered through a callback (it never prints).
public enum RunEvent: Sendable {
    case warning(String)
    /// Something done that is not a problem, said in one line (e.g. debris of a killed run removed).
    case notice(String)
    /// Live progress, about ten times a second when asked for.
    case progress(ProgressSnapshot)
}
