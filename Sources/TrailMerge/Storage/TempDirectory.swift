/// The private folder of spilled runs: `--temp-dir/trailmerge-XXXXXX`, created on first use and
/// removed when the run ends (success, failure or signal, through the run's `Cleanup`).
#if canImport(Glibc)
import Glibc
#endif

final class TempDirectory: @unchecked Sendable {
    let parent: String
    private let cleanup: Cleanup
    private let state = Locked<(path: String?, counter: Int)>((nil, 0))

    init(parent: String, cleanup: Cleanup) {
        self.parent = parent
        self.cleanup = cleanup
    }

    /// Checks before the run that `parent` is an existing, writable folder.
    static func check(_ parent: String) throws(TrailMergeError) {
        guard let status = try? fileStatus(parent) else {
            throw .writeFailed(path: parent, reason: "the temp folder (--temp-dir) does not exist")
        }
        guard status.kind == .directory else {
            throw .writeFailed(path: parent, reason: "the temp folder (--temp-dir) is not a folder")
        }
        guard access(parent, W_OK | X_OK) == 0 else {
            throw .writeFailed(path: parent, reason: "the temp folder (--temp-dir) is not writable")
        }
    }

    /// A new unique file path inside the folder, creating the folder on first use.
    func newFilePath(prefix: String) throws(TrailMergeError) -> String {
        let cleanup = self.cleanup
        let parent = self.parent
        let result: Result<String, TrailMergeError> = state.withLock { st in
            if st.path == nil {
                var template = Array((parent + "/trailmerge-XXXXXX").utf8CString)
                let made: String? = cleanup.withSignalsDeferred {
                    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { return nil }
                    let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    cleanup.register(directory: path)
                    return path
                }
                guard let made else {
                    return .failure(.writeFailed(path: parent, reason: "cannot create a temp folder: \(errnoText())"))
                }
                st.path = made
            }
            st.counter += 1
            return .success("\(st.path!)/\(prefix)-\(st.counter)")
        }
        return try result.get()
    }

    /// Removes the folder and everything in it.
    func remove() {
        let path = state.withLock { st -> String? in
            let p = st.path
            st.path = nil
            return p
        }
        if let path {
            removeTree(path)
            cleanup.forget(path)
        }
    }

    /// Runs `body` with signal cleanup held back (for creating files inside the folder).
    func withSignalsDeferred<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try cleanup.withSignalsDeferred(body)
    }
}
