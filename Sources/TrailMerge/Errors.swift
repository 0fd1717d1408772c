/// Every failure the library can report. Each case carries the context a user needs to act on it:
/// the file, the byte offset where it helps, and what went wrong. `description` is the one-line
/// message the executable prints after `trailmerge: `.
public enum TrailMergeError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A command-line value is malformed or inconsistent (exit 2).
    case usage(String)
    /// A file could not be opened, read, listed or stat'ed.
    case unreadable(path: String, reason: String)
    /// The gzip stream is corrupt or truncated; `offset` counts compressed bytes.
    case corruptGzip(path: String, offset: Int, reason: String)
    /// The JSON is not valid RFC 8259, or has the wrong shape; `offset` counts decompressed bytes.
    case invalidJSON(path: String, offset: Int, reason: String)
    /// A text file given to `merge` is not what trailmerge writes, or not sorted; `line` counts from 1.
    case invalidInput(path: String, line: Int, reason: String)
    /// A single JSON value is larger than the tool is willing to buffer.
    case tooLarge(path: String, offset: Int, limit: Int)
    /// Writing an output, a spill run or a temp file failed.
    case writeFailed(path: String, reason: String)
    /// The group stage found a problem with a file or group.
    case group(String)
    /// Nothing matched the inputs or filters; the message says what was seen and skipped.
    case noInput(String)
    /// `--strict` turned warnings into a failure.
    case strict(String)
    /// A signal arrived; the run was cancelled and cleaned up.
    case interrupted(signal: Int32)
    /// S3 answered with an error: the object or prefix (`s3://bucket/key`), the HTTP status, S3's
    /// error code and message (412 `PreconditionFailed` is how `If-None-Match: *` reports an existing key).
    case s3(object: String, status: Int, code: String, message: String)
    /// An S3 request could not complete (connection, timeout, truncated body), after every retry.
    case s3Transport(object: String, reason: String)
    /// S3 set-up: credentials, region, endpoint or profile.
    case s3Configuration(String)

    public var description: String {
        switch self {
        case .usage(let message):
            return message
        case .unreadable(let path, let reason):
            return "\(path): \(reason)"
        case .corruptGzip(let path, let offset, let reason):
            return "\(path): byte \(offset): corrupt gzip: \(reason)"
        case .invalidJSON(let path, let offset, let reason):
            return "\(path): byte \(offset): \(reason)"
        case .invalidInput(let path, let line, let reason):
            return "\(path): line \(line): \(reason)"
        case .tooLarge(let path, let offset, let limit):
            return "\(path): byte \(offset): a single JSON value is larger than the \(formatSize(limit)) limit"
        case .writeFailed(let path, let reason):
            return "\(path): \(reason)"
        case .group(let message), .noInput(let message), .strict(let message):
            return message
        case .interrupted(let signal):
            return "interrupted by signal \(signal); temporary files removed, no output written"
        case .s3(let object, let status, let code, let message):
            return "\(object): \(status) \(code)" + (message.isEmpty ? "" : ": \(message)")
        case .s3Transport(let object, let reason):
            return "\(object): \(reason)"
        case .s3Configuration(let message):
            return message
        }
    }

    /// The process exit code this error maps to: 2 for usage errors, 128+N for signals, 1 otherwise.
    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .interrupted(let signal): return 128 + signal
        default: return 1
        }
    }
}
