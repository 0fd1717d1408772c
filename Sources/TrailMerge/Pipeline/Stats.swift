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
    public var skippedFiles: [String] = []
    public var warnings = 0
    public var seconds = 0.0

    public init() {}

    /// Decompressed JSON megabytes (10^6) per second.
    public var megabytesPerSecond: Double { seconds > 0 ? Double(jsonBytes) / 1e6 / seconds : 0 }

    /// The one-line summary printed to stderr after `process`.
    public var processSummary: String {
        var text = "\(files) files, \(formatDecimal(Double(inputBytes) / 1e6, places: 1)) MB in "
        text += "(\(formatDecimal(Double(jsonBytes) / 1e6, places: 1)) MB JSON), "
        text += "\(records) records, \(rows) rows, \(spilledRuns) spilled runs, "
        text += "\(mergePasses) merge pass\(mergePasses == 1 ? "" : "es"), "
        text += "\(formatDecimal(seconds, places: 2)) s, \(formatDecimal(megabytesPerSecond, places: 1)) MB/s of JSON"
        if !skippedFiles.isEmpty { text += ", \(skippedFiles.count) bad files skipped" }
        if warnings > 0 { text += ", \(warnings) warning\(warnings == 1 ? "" : "s")" }
        return text
    }

    /// The `--stats` document.
    public var json: String {
        var fields: [(String, String)] = [
            ("files", "\(files)"), ("inputBytes", "\(inputBytes)"), ("jsonBytes", "\(jsonBytes)"),
            ("records", "\(records)"), ("rows", "\(rows)"), ("spilledRuns", "\(spilledRuns)"),
            ("mergePasses", "\(mergePasses)"), ("outputBytes", "\(outputBytes)"),
            ("outputFiles", "\(outputFiles)"), ("unmatchedFiles", "\(unmatchedFiles)"),
            ("warnings", "\(warnings)"),
        ]
        let skipped = skippedFiles.map { name -> String in
            let buffer = ByteBuffer(capacity: name.utf8.count + 8)
            RowFormatter.appendJSONString(Array(name.utf8), to: buffer)
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
        fields.append(("skippedFiles", "[" + skipped.joined(separator: ",") + "]"))
        fields.append(("seconds", formatDecimal(seconds, places: 6)))
        fields.append(("megabytesPerSecond", formatDecimal(megabytesPerSecond, places: 3)))
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n"
    }
}

/// Something the library wants the user to know, delivered through a callback (it never prints).
public enum RunEvent: Sendable {
    case warning(String)
    /// Live progress: phase, files done, total files, input bytes done, total input bytes, rows so far.
    case progress(phase: String, filesDone: Int, filesTotal: Int, bytesDone: Int, bytesTotal: Int, rows: Int)
}
