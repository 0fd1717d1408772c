/// Turns command-line inputs into the ordered list of files to read. In: files, directories and
/// `s3://` objects or prefixes, listed by the storage layer. Out: `SourceFile`s in a deterministic
/// order (inputs in the order given, entries byte-wise sorted, depth first). Invariant: explicit
/// files are always kept; walked files are kept when their path matches the source pattern.
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
    /// The local file's device and inode at walk time (nil for `s3://` objects and for files not
    /// walked): what `process` tells two paths of one file apart by.
    public var fileID: FileID? = nil
    /// Set when `process` reads only this byte range of the file, in parallel with the rest
    /// (`FileSplitter`).
    public var segment: FileSegment? = nil
}

/// A local file's identity: every path and link to it has the same one.
public struct FileID: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64
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
    /// Lists `s3://` inputs.
    let storage: Storage

    /// With bounds: `…/YYYY/MM/DD` (and `…/YYYY/MM`) folders that cannot hold an event in range
    /// are neither listed nor read (S3 prefixes are listed whole, but their objects are not read).
    public var timeRange: TimeRange?

    public init(pattern: SourcePattern?, matchRelative: Bool = false, timeRange: TimeRange? = nil, storage: Storage = Storage()) {
        self.pattern = pattern
        self.matchRelative = matchRelative
        self.timeRange = timeRange
        self.storage = storage
    }

    /// Walks every input in order: files named directly are always kept; files found under a
    /// folder or prefix are kept when the pattern matches.
    /// - Parameter skipped: receives each walked file the pattern rejected.
    /// - Parameter pruned: receives each date folder the time range left out.
    public func walk(
        _ inputs: [String], skipped: (SourceFile) -> Void = { _ in }, pruned: (String) -> Void = { _ in }
    ) throws(TrailMergeError) -> [SourceFile] {
        var files: [SourceFile] = []
        for input in inputs {
            let listing = try storage.list(input) { folder in
                guard let timeRange, !dateFolderMayHold(folder, timeRange) else { return false }
                pruned(folder)
                return true
            }
            files += listing.named
            var prunedPrefixes = Set<String>()
            for file in listing.found {
                if Storage.isS3(file.path), let timeRange {
                    // A flat listing: the date "folders" are the key's parents, checked per object.
                    let folder = parentDirectory(file.path)
                    if prunedPrefixes.contains(folder) { continue }
                    if !dateFolderMayHold(folder, timeRange) || !dateFolderMayHold(parentDirectory(folder), timeRange) {
                        prunedPrefixes.insert(folder)
                        pruned(folder)
                        continue
                    }
                }
                if let pattern, !pattern.matches(matchRelative ? file.relativePath : file.path) {
                    skipped(file)
                } else {
                    files.append(file)
                }
            }
        }
        return files
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
