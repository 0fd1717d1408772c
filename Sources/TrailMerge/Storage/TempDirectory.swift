/// The private folder of spilled runs: `--temp-dir/trailmerge-XXXXXX`, created on first use and
/// removed when the run ends (success, failure or signal, through the run's `Cleanup`). It holds a
/// locked `owner.lock`, so a later run can tell it from a live run's and reclaim it after a kill.
#if canImport(Glibc)
import Glibc
#endif

final class TempDirectory: @unchecked Sendable {
    let parent: String
    private let cleanup: Cleanup
    private let state = Locked<(path: String?, counter: Int, owner: OwnerLock?)>((nil, 0, nil))
    /// Told the folder's path before it is created, and `false` if that name was taken by another
    /// folder (the run's journal lists the one it made, and not a name it did not get).
    nonisolated(unsafe) var onCreate: ((String, Bool) -> Void)?

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
                // The name is announced (to the run's journal) before the folder exists, so a kill
                // between mkdir and owner.lock still leaves proof of whose folder it is.
                var made: (String, OwnerLock?)? = nil
                for _ in 0..<100 where made == nil {
                    let path = parent + "/trailmerge-" + String(randomToken().prefix(6))
                    onCreate?(path, true)
                    made = cleanup.withSignalsDeferred {
                        guard mkdir(path, 0o700) == 0 else { return nil }
                        cleanup.register(directory: path)
                        return (path, try? OwnerLock(creating: path + "/owner.lock"))
                    }
                    if made == nil {
                        let code = errno
                        onCreate?(path, false)
                        if code != EEXIST { break }
                    }
                }
                guard let made else {
                    return .failure(.writeFailed(path: parent, reason: "cannot create a temp folder: \(errnoText())"))
                }
                st.path = made.0
                st.owner = made.1
            }
            st.counter += 1
            return .success("\(st.path!)/\(prefix)-\(st.counter)")
        }
        return try result.get()
    }

    /// Removes the folder and everything in it.
    func remove() {
        let (path, owner) = state.withLock { st -> (String?, OwnerLock?) in
            let taken = (st.path, st.owner)
            st.path = nil
            st.owner = nil
            return taken
        }
        if let path {
            removeTree(path)
            owner?.release()
            cleanup.forget(path)
        }
    }

    /// Runs `body` with signal cleanup held back (for creating files inside the folder).
    func withSignalsDeferred<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try cleanup.withSignalsDeferred(body)
    }
}
