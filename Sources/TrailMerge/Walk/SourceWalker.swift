/// Turns command-line inputs into the ordered list of files to read. In: files and directories.
/// Out: `SourceFile`s in a deterministic order (inputs in the order given, directory entries
/// byte-wise sorted, depth first). Invariant: explicit files are always kept; walked files are kept
/// when their path matches the source pattern; symlinked directory cycles are walked once.
import Foundation

/// One input file.
public struct SourceFile: Sendable, Equatable {
    /// The path used to open the file (the input joined with the walked relative path).
    public let path: String
    /// The path relative to the input directory it was found under (the file name for explicit files).
    public let relativePath: String
    /// The input directory it was found under, or the file's own directory for explicit files.
    public let root: String
    /// Size on disk in bytes, at walk time.
    public let size: Int
}

/// A compiled `--src-pattern`.
public struct SourcePattern: @unchecked Sendable {
    /// Names ending in `.json` or `.json.gz`, outside any `CloudTrail-Digest` folder.
    public static let defaultPattern = #"^(?!(.*/)?CloudTrail-Digest(/|$)).*\.json(\.gz)?$"#

    public let text: String
    let regex: NSRegularExpression

    public init(_ text: String, option: String = "--src-pattern") throws(TrailMergeError) {
        self.text = text
        do {
            regex = try NSRegularExpression(pattern: text)
        } catch {
            throw .usage("\(option): '\(text)' is not a valid regular expression")
        }
    }

    /// True when the pattern is found anywhere in `path` (anchor it with ^ and $ to match whole paths).
    public func matches(_ path: String) -> Bool {
        let range = NSRange(path.startIndex..<path.endIndex, in: path)
        return regex.firstMatch(in: path, range: range) != nil
    }
}

public struct SourceWalker {
    public let pattern: SourcePattern?
    /// Match the pattern against the path relative to the input (group) or the full path (process).
    public let matchRelative: Bool

    /// With bounds: `…/YYYY/MM/DD` (and `…/YYYY/MM`) folders that cannot hold an event in range
    /// are neither listed nor read.
    public var timeRange: TimeRange?

    public init(pattern: SourcePattern?, matchRelative: Bool = false, timeRange: TimeRange? = nil) {
        self.pattern = pattern
        self.matchRelative = matchRelative
        self.timeRange = timeRange
    }

    /// Walks every input in order.
    /// - Parameter skipped: receives each walked file the pattern rejected.
    /// - Parameter pruned: receives each date folder the time range left out.
    public func walk(
        _ inputs: [String], skipped: (SourceFile) -> Void = { _ in }, pruned: (String) -> Void = { _ in }
    ) throws(TrailMergeError) -> [SourceFile] {
        var files: [SourceFile] = []
        for rawInput in inputs {
            var input = rawInput
            while input.count > 1 && input.hasSuffix("/") { input.removeLast() }
            let status = try fileStatus(input)
            switch status.kind {
            case .file:
                let name = input.split(separator: "/").last.map(String.init) ?? input
                files.append(SourceFile(path: input, relativePath: name, root: parentDirectory(input), size: status.size))
            case .directory:
                var visited: Set<[UInt64]> = [[status.device, status.inode]]
                try walkDirectory(input, relative: "", root: input, visited: &visited, into: &files, skipped: skipped, pruned: pruned)
            case .other:
                // Named pipes and devices given explicitly are read as streams (e.g. <(zcat ...)).
                files.append(SourceFile(path: input, relativePath: input, root: parentDirectory(input), size: 0))
            }
        }
        return files
    }

    private func walkDirectory(
        _ directory: String, relative: String, root: String, visited: inout Set<[UInt64]>,
        into files: inout [SourceFile], skipped: (SourceFile) -> Void, pruned: (String) -> Void
    ) throws(TrailMergeError) {
        for name in try listDirectory(directory) {
            let path = directory == "/" ? "/" + name : directory + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            let status = try fileStatus(path)
            switch status.kind {
            case .directory:
                if let timeRange, !dateFolderMayHold(path, timeRange) {
                    pruned(path)
                    continue
                }
                if visited.insert([status.device, status.inode]).inserted {
                    try walkDirectory(
                        path, relative: relativePath, root: root, visited: &visited, into: &files, skipped: skipped, pruned: pruned)
                }
            case .file:
                let file = SourceFile(path: path, relativePath: relativePath, root: root, size: status.size)
                if let pattern, !pattern.matches(matchRelative ? relativePath : path) {
                    skipped(file)
                } else {
                    files.append(file)
                }
            case .other:
                continue
            }
        }
    }
}

/// A unit of work for one worker: consecutive files totalling about `--chunk-size` bytes.
public struct Chunk: Sendable {
    public let index: Int
    public let files: Range<Int>
}

/// Groups consecutive files into chunks of about `targetBytes`, never splitting a file.
public func planChunks(_ files: [SourceFile], targetBytes: Int) -> [Chunk] {
    var chunks: [Chunk] = []
    var start = 0
    var bytes = 0
    for (i, file) in files.enumerated() {
        bytes += file.size
        if bytes >= targetBytes {
            chunks.append(Chunk(index: chunks.count, files: start..<(i + 1)))
            start = i + 1
            bytes = 0
        }
    }
    if start < files.count { chunks.append(Chunk(index: chunks.count, files: start..<files.count)) }
    return chunks
}
