/// The cleanup context of a run: the temporary resources it owns (spill directories, output temp
/// files, folders it created) and the signal handling that removes them. The executable makes one
/// and passes it to the library; everything created under a temporary name is registered here
/// first, so that success, failure and SIGINT/SIGTERM all leave no debris.
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public final class Cleanup: Sendable {
    public init() {}

    private enum Kind { case file, tree, createdFolder }
    private let paths = Locked<[String: Kind]>([:])
    /// Kept alive for the life of the process; written once, before any signal can arrive.
    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []
    /// Set while sources are being deleted by `group --delete-on-success`; signals wait for it.
    private let critical = Locked<Bool>(false)

    /// A temp file: removed on failure.
    func register(file path: String) { paths.withLock { $0[path] = .file } }
    /// A private temp folder: removed with everything in it.
    func register(directory path: String) { paths.withLock { $0[path] = .tree } }
    /// A folder created for an output: removed (only if empty) after the files.
    func register(createdFolder path: String) { paths.withLock { $0[path] = .createdFolder } }
    func forget(_ path: String) { _ = paths.withLock { $0.removeValue(forKey: path) } }
    /// Undoes a remote resource (aborts an S3 multipart upload): run on failure and on signals.
    private let remote = Locked<[String: @Sendable () -> Void]>([:])
    func register(remote name: String, undo: @escaping @Sendable () -> Void) { remote.withLock { $0[name] = undo } }
    func forgetRemote(_ name: String) { _ = remote.withLock { $0.removeValue(forKey: name) } }

    /// What the run has made final, once its commit is done (a signal then must not say that no
    /// output was written).
    private let committed = Locked<String?>(nil)
    /// Records that the outputs are committed; `detail` says what else is settled.
    func markCommitted(_ detail: String = "the outputs were committed and are in place") {
        committed.withLock { $0 = detail }
    }

    /// The one line for an interruption by `signal`: before the commit nothing was written; after
    /// it, what was committed (and, for `group --delete-on-success`, whether the sources went).
    public func interruptionMessage(signal: Int32) -> String {
        guard let detail = committed.withLock({ $0 }) else { return TrailMergeError.interrupted(signal: signal).description }
        return "interrupted by signal \(signal) after the commit: \(detail); temporary files removed"
    }

    /// Removes every registered path (used on failure and on signals).
    public func removeAll() {
        let all = paths.withLock { dict -> [String: Kind] in
            let copy = dict
            dict.removeAll()
            return copy
        }
        let undos = remote.withLock { dict -> [@Sendable () -> Void] in
            defer { dict.removeAll() }
            return Array(dict.values)
        }
        for undo in undos { undo() }
        for (path, kind) in all where kind == .file { removeFile(path) }
        for (path, kind) in all where kind == .tree { removeTree(path) }
        // Deepest first, so a parent is empty by the time its turn comes.
        for (path, kind) in all.sorted(by: { $0.key.count > $1.key.count }) where kind == .createdFolder {
            _ = rmdir(path)
        }
    }

    /// Installs handlers for SIGINT, SIGTERM and SIGHUP: they remove every registered temporary
    /// path, call `report` with the signal number, and exit with 128 + signal.
    public func installSignalHandlers(report: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "trailmerge.signals")
        var made: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [self] in
                self.critical.withLock { _ in
                    self.removeAll()
                    report(sig)
                    _exit(128 + sig)
                }
            }
            source.resume()
            made.append(source)
        }
        Cleanup.signalSources = made
    }

    /// Runs `body` with signal-triggered cleanup held back until it returns. Temp files are created
    /// inside it, so the cleanup never races with the creation of a file it would miss.
    func withSignalsDeferred<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = critical.withLock { _ in
            do throws(E) { return .success(try body()) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

