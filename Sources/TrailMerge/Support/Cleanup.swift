/// The owned temporary resources of a run (spill directories, output temp files) and the signal
/// handling that removes them. Everything created under a temporary name is registered here first,
/// so that success, failure and SIGINT/SIGTERM all leave no debris.
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public final class Cleanup: Sendable {
    /// The process-wide registry.
    public static let shared = Cleanup()

    private let paths = Locked<[String: Bool]>([:])  // path -> isDirectory
    /// Kept alive for the life of the process; written once, before any signal can arrive.
    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []
    /// Set while sources are being deleted by `group --delete-on-success`; signals wait for it.
    private let critical = Locked<Bool>(false)

    func register(file path: String) { paths.withLock { $0[path] = false } }
    func register(directory path: String) { paths.withLock { $0[path] = true } }
    func forget(_ path: String) { _ = paths.withLock { $0.removeValue(forKey: path) } }

    /// Removes every registered path (used on failure and on signals).
    public func removeAll() {
        let all = paths.withLock { dict -> [String: Bool] in
            let copy = dict
            dict.removeAll()
            return copy
        }
        for (path, isDirectory) in all {
            if isDirectory { removeTree(path) } else { removeFile(path) }
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

/// An output written under a temporary sibling name and renamed into place on `commit`.
/// Until then the temp file is registered with `Cleanup`, so any failure or signal removes it.
final class AtomicFile {
    let finalPath: String
    let tempPath: String
    let writer: BufferedWriter

    init(path: String) throws(TrailMergeError) {
        finalPath = path
        let dir = parentDirectory(path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        tempPath = (dir == "." && !path.hasPrefix("./") ? "" : dir + "/") + ".\(base).tmp-\(randomToken())"
        if let status = try? fileStatus(dir) {
            if status.kind != .directory { throw .writeFailed(path: path, reason: "\(dir) is not a directory") }
        } else {
            throw .writeFailed(path: path, reason: "output directory \(dir) does not exist")
        }
        let temp = tempPath
        writer = try Cleanup.shared.withSignalsDeferred { () throws(TrailMergeError) in
            Cleanup.shared.register(file: temp)
            do throws(TrailMergeError) {
                return try BufferedWriter(creating: temp, exclusive: true)
            } catch {
                Cleanup.shared.forget(temp)
                throw error
            }
        }
    }

    /// Flushes, fsyncs and renames the temp file over the final path.
    func commit() throws(TrailMergeError) {
        try writer.close(sync: true)
        guard rename(tempPath, finalPath) == 0 else {
            let reason = errnoText()
            abandon()
            throw .writeFailed(path: finalPath, reason: "cannot rename into place: \(reason)")
        }
        Cleanup.shared.forget(tempPath)
    }

    /// Removes the temp file.
    func abandon() {
        try? writer.close(sync: false)
        removeFile(tempPath)
        Cleanup.shared.forget(tempPath)
    }
}

/// A private directory for spill runs, created lazily and removed when the run ends.
final class TempDirectory: @unchecked Sendable {
    let parent: String
    private let state = Locked<(path: String?, counter: Int)>((nil, 0))

    init(parent: String) { self.parent = parent }

    /// A new unique file path inside the directory, creating the directory on first use.
    func newFilePath(prefix: String) throws(TrailMergeError) -> String {
        let result: Result<String, TrailMergeError> = state.withLock { st in
            if st.path == nil {
                var template = Array((parent + "/trailmerge-XXXXXX").utf8CString)
                let made: String? = Cleanup.shared.withSignalsDeferred {
                    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { return nil }
                    let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    Cleanup.shared.register(directory: path)
                    return path
                }
                guard let made else {
                    return .failure(.writeFailed(path: parent, reason: "cannot create a temp directory: \(errnoText())"))
                }
                st.path = made
            }
            st.counter += 1
            return .success("\(st.path!)/\(prefix)-\(st.counter)")
        }
        return try result.get()
    }

    /// Removes the directory and everything in it.
    func remove() {
        let path = state.withLock { st -> String? in
            let p = st.path
            st.path = nil
            return p
        }
        if let path {
            removeTree(path)
            Cleanup.shared.forget(path)
        }
    }
}

/// Writes a small text file through a temp sibling and a rename.
public func writeTextFileAtomically(_ text: String, to path: String) throws(TrailMergeError) {
    let file = try AtomicFile(path: path)
    do {
        try file.writer.write(Array(text.utf8))
        try file.commit()
    } catch {
        file.abandon()
        throw error
    }
}
