/// The local destination of a run: every file a run produces (outputs, parts, manifest, stats) is
/// staged under a temporary sibling name, written, and published only by `commit`, all together.
/// In: final paths, checked before any input is read. Out: the files under their final names.
/// Invariants: until `commit` nothing is visible under a final name; if any rename of a commit
/// fails, the ones already made are rolled back (a replaced file is restored from a hard-link
/// backup), so every destination is left as it was; temp files and folders made for the outputs
/// are registered with the run's `Cleanup`, so errors and signals remove them; and the run's
/// journal (`RunJournal.swift`) lists them first, so a later run can undo what a SIGKILL left.
#if canImport(Glibc)
import Glibc
#endif

/// Faults injected by tests into the commit protocol (never set by the executable).
public struct FaultPlan: Sendable, Equatable {
    /// Make the rename of the staged file with this index (in staging order) fail.
    public var failRename: Int?
    /// `group --delete-on-success`: stop dead after deleting this many sources, as a SIGKILL would
    /// (the journal is left behind, unlocked).
    public var killAfterDeleting: Int?

    public init(failRename: Int? = nil, killAfterDeleting: Int? = nil) {
        self.failRename = failRename
        self.killAfterDeleting = killAfterDeleting
    }
}

/// One output being written under a temporary name (locally), or as an S3 upload that only
/// `commit` completes.
final class StagedFile {
    let finalPath: String
    let tempPath: String
    let writer: BufferedWriter
    /// For `s3://` outputs: the upload the writer feeds.
    let upload: S3UploadWriter?
    /// A FIFO, device or socket written directly (no temp file, no rename).
    var isStream = false

    fileprivate init(finalPath: String, tempPath: String, writer: BufferedWriter, upload: S3UploadWriter? = nil) {
        self.finalPath = finalPath
        self.tempPath = tempPath
        self.writer = writer
        self.upload = upload
    }
}

final class OutputSet {
    private let cleanup: Cleanup
    private let faults: FaultPlan
    private(set) var staged: [StagedFile] = []
    private var roles: [String] = []
    /// The identity (canonical path, or S3 URL) of each staged file, in staging order, and the
    /// role that staged each identity: one lookup per stage, not a realpath of every earlier file.
    private var identities: [String] = []
    private var roleOfIdentity: [String: String] = [:]
    private var createdFolders: [String] = []
    private var finished = false
    /// Where the journal goes (the first staged file's folder unless given).
    private var journalFolder: String?
    private var journal: OwnerLock?
    private var reclaimedFolders = Set<String>()
    /// What was reclaimed from killed runs while staging, for the run's notice.
    private(set) var reclaimed = Reclaimed()

    /// Opens S3 uploads for `s3://` destinations.
    let storage: Storage
    /// S3 outputs that must not replace an existing object (`group`): `If-None-Match: *`.
    private let noOverwrite: Bool
    /// Buckets already checked.
    private var checkedBuckets = Set<String>()
    /// Parts in flight per S3 upload (bounded so uploads stay within the memory budget).
    var partsInFlight = 4
    /// S3 outputs already visible (`publish`), deleted again unless the commit succeeds.
    private var published: [StagedFile] = []

    init(cleanup: Cleanup, faults: FaultPlan = FaultPlan(), journalFolder: String? = nil, storage: Storage = Storage(), noOverwrite: Bool = false) {
        self.cleanup = cleanup
        self.faults = faults
        self.journalFolder = journalFolder
        self.storage = storage
        self.noOverwrite = noOverwrite
    }

    /// Removes what killed runs left in `folder`, once per folder. A run calls it for its
    /// destination before it looks at what is there (a commit cut midway is rolled back first).
    func reclaim(in folder: String) {
        guard reclaimedFolders.insert(folder).inserted else { return }
        let found = reclaimAbandoned(outputFolders: [folder], tempFolder: nil)
        reclaimed.bytes += found.bytes
        reclaimed.pids += found.pids
        reclaimed.refused += found.refused
        reclaimed.deletedSources += found.deletedSources
    }

    /// The run's journal, created on first use; every temp path is written to it before it exists.
    private func record(_ line: String, near path: String) throws(TrailMergeError) {
        if journal == nil {
            let folder = journalFolder ?? parentDirectory(path)
            reclaim(in: folder)
            let lockPath = folder + "/.trailmerge-run-\(randomToken()).lock"
            let cleanup = self.cleanup
            journal = try cleanup.withSignalsDeferred { () throws(TrailMergeError) -> OwnerLock in
                cleanup.register(file: lockPath)
                do throws(TrailMergeError) { return try OwnerLock(creating: lockPath) } catch {
                    cleanup.forget(lockPath)
                    throw error
                }
            }
        }
        journal!.append(line)
    }

    /// Lists a spill folder in the journal, so a later run reclaims it whatever its `--temp-dir`.
    func noteSpillFolder(_ folder: String, made: Bool) {
        journal?.append((made ? "spill " : "not-spill ") + absolutePath(folder))
    }

    /// True once `journalDeletions` listed sources: the journal outlives the commit until
    /// `deletionsDone`.
    private var holdJournal = false

    /// Lists in the journal, before the commit, the sources `group --delete-on-success` deletes
    /// once it is done (under `root`). A run killed while deleting leaves the journal, whose
    /// commit is complete, and the next run deletes the rest.
    func journalDeletions(_ paths: [String], root: String) {
        guard !paths.isEmpty, let journal else { return }
        var text = "delete-root " + escapeJournalPath(absolutePath(root))
        for path in paths { text += "\ndelete " + escapeJournalPath(absolutePath(path)) }
        journal.append(text)
        holdJournal = true
    }

    /// Ends the journal kept by `journalDeletions`, once the sources are deleted.
    func deletionsDone() { closeJournal() }

    /// What a SIGKILL leaves (tests): the journal stays, unlocked.
    func abandonJournalAsIfKilled() {
        guard let journal else { return }
        cleanup.forget(journal.path)
        journal.abandonAsIfKilled()
        self.journal = nil
    }

    /// Ends the journal: the run's files are all committed or all removed.
    private func closeJournal() {
        guard let journal else { return }
        cleanup.forget(journal.path)
        journal.release()
        self.journal = nil
    }

    /// Checks, without writing anything, that a file can be created at `path`: its folder exists
    /// (or, with `createFolders`, its nearest existing ancestor is a folder) and is writable, and
    /// `path` itself is not a folder. `role` names the path in messages ("output", "--stats file").
    static func check(_ path: String, role: String, createFolders: Bool = false) throws(TrailMergeError) {
        guard !path.isEmpty else { throw .writeFailed(path: path, reason: "the \(role) path is empty") }
        if Storage.isS3(path) {
            let url = try S3URL(parsing: path)
            guard !url.key.isEmpty, !url.key.hasSuffix("/") else {
                throw .writeFailed(path: path, reason: "the \(role) must name an object (s3://bucket/key), not a bucket or prefix")
            }
            return
        }
        if path.hasSuffix("/") {
            throw .writeFailed(path: path, reason: "the \(role) path must name a file, not a folder")
        }
        let (path, stream) = outputTarget(path)
        if stream {
            guard access(path, W_OK) == 0 else { throw .writeFailed(path: path, reason: "the \(role) is not writable") }
            return
        }
        if let status = try? fileStatus(path), status.kind == .directory {
            throw .writeFailed(path: path, reason: "the \(role) path is a folder; name a file")
        }
        var folder = parentDirectory(path)
        while true {
            if let status = try? fileStatus(folder) {
                guard status.kind == .directory else {
                    throw .writeFailed(path: path, reason: "\(folder) is not a folder")
                }
                guard access(folder, W_OK | X_OK) == 0 else {
                    throw .writeFailed(path: path, reason: "the \(role) folder \(folder) is not writable")
                }
                return
            }
            guard createFolders else {
                throw .writeFailed(path: path, reason: "the \(role) folder \(folder) does not exist")
            }
            let up = parentDirectory(folder)
            if up == folder { throw .writeFailed(path: path, reason: "no existing folder above \(folder)") }
            folder = up
        }
    }

    /// Checks that `folder` (a run's top-level destination folder: `group`'s DEST, the
    /// `--partition-by` output folder) is a writable folder, or can be made: its parent is a
    /// writable folder. Only the destination itself is ever created, never the folders above it,
    /// just as an output file's folder must exist.
    static func checkFolder(_ folder: String, role: String) throws(TrailMergeError) {
        if let status = try? fileStatus(folder) {
            guard status.kind == .directory else { throw .writeFailed(path: folder, reason: "\(folder) is not a folder") }
            guard access(folder, W_OK | X_OK) == 0 else {
                throw .writeFailed(path: folder, reason: "the \(role) folder \(folder) is not writable")
            }
            return
        }
        let parent = parentDirectory(folder)
        let subject = role == "DEST" ? role : "the " + role
        guard let status = try? fileStatus(parent) else {
            throw .writeFailed(
                path: folder, reason: "the folder \(parent) does not exist; create it first (only \(subject) itself is created)")
        }
        guard status.kind == .directory else { throw .writeFailed(path: folder, reason: "\(parent) is not a folder") }
        guard access(parent, W_OK | X_OK) == 0 else {
            throw .writeFailed(path: folder, reason: "the folder \(parent) above \(subject) is not writable")
        }
    }

    /// Creates the temp file for `path` (and, with `createFolders`, its missing folders).
    /// Two destinations of one run naming the same file is an error (one would replace the other).
    func stage(_ path: String, role: String, createFolders: Bool = false) throws(TrailMergeError) -> StagedFile {
        try OutputSet.check(path, role: role, createFolders: createFolders)
        let identity = Storage.isS3(path) ? path : canonicalPath(outputTarget(path).path)
        if let other = roleOfIdentity[identity] {
            throw .usage("\(path): the \(role) path is also the \(other) of this run; give them different names")
        }
        let file = try stageChecked(path, role: role, createFolders: createFolders)
        identities.append(identity)
        roleOfIdentity[identity] = role
        return file
    }

    /// `stage` once the path is known to be free.
    private func stageChecked(_ path: String, role: String, createFolders: Bool) throws(TrailMergeError) -> StagedFile {
        if Storage.isS3(path) { return try stageUpload(path, role: role) }
        let (path, stream) = outputTarget(path)
        if stream {
            roles.append(role)
            let file = StagedFile(finalPath: path, tempPath: path, writer: try BufferedWriter(streamingTo: path))
            file.isStream = true
            staged.append(file)
            return file
        }
        roles.append(role)
        reclaimBeforeCreating(near: path)
        let folder = parentDirectory(path)
        if createFolders { try makeFolders(folder) }
        reclaim(in: folder)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let temp = (folder == "." && !path.hasPrefix("./") ? "" : folder + "/") + ".\(base).tmp-\(randomToken())"
        try record("temp \(absolutePath(temp))", near: path)
        let cleanup = self.cleanup
        let writer = try cleanup.withSignalsDeferred { () throws(TrailMergeError) -> BufferedWriter in
            cleanup.register(file: temp)
            do throws(TrailMergeError) {
                return try BufferedWriter(creating: temp, exclusive: true)
            } catch {
                cleanup.forget(temp)
                throw error
            }
        }
        let file = StagedFile(finalPath: path, tempPath: temp, writer: writer)
        staged.append(file)
        return file
    }

    /// An S3 destination: the bucket is checked once (it exists and can be listed), then an
    /// upload is opened that `commit` completes and `abandon` (or a signal) aborts.
    private func stageUpload(_ path: String, role: String) throws(TrailMergeError) -> StagedFile {
        let url = try S3URL(parsing: path)
        let client = try storage.s3()
        if checkedBuckets.insert(url.bucket).inserted {
            try client.listObjects(bucket: url.bucket, prefix: url.key, pageSize: 1) { (_: [S3Object]) throws(TrailMergeError) in }
        }
        roles.append(role)
        let upload = S3UploadWriter(
            client: client, url: url, partSize: storage.s3Options.partSize, maxPartsInFlight: partsInFlight,
            ifNoneMatch: noOverwrite)
        cleanup.register(remote: path, undo: upload.abortHandle())
        let writer = BufferedWriter(sink: S3UploadSink(upload), name: path)
        let file = StagedFile(finalPath: path, tempPath: path, writer: writer, upload: upload)
        staged.append(file)
        return file
    }

    /// Creates `path` and its missing parents; a failed run removes the ones it made.
    func createFolder(_ path: String) throws(TrailMergeError) {
        reclaimBeforeCreating(near: path + "/x")
        try makeFolders(path)
    }

    /// Reclaims a killed run's debris in the journal folder before this run creates anything
    /// (its recovery removes folders the killed run made, which must not be ours by then).
    private func reclaimBeforeCreating(near path: String) {
        let folder = journalFolder ?? parentDirectory(path)
        if (try? fileStatus(folder))?.kind == .directory { reclaim(in: folder) }
    }

    /// `mkdir -p`, remembering each folder it made so a failed run can remove them again.
    private var unrecordedFolders: [String] = []

    private func makeFolders(_ path: String) throws(TrailMergeError) {
        if path.isEmpty || path == "." || path == "/" { return }
        if let status = try? fileStatus(path) {
            if status.kind == .directory { return }
            throw .writeFailed(path: path, reason: "exists and is not a folder")
        }
        try makeFolders(parentDirectory(path))
        let cleanup = self.cleanup
        let made = cleanup.withSignalsDeferred { () -> Bool in
            guard mkdir(path, 0o755) == 0 else { return false }
            cleanup.register(createdFolder: path)
            return true
        }
        if made {
            createdFolders.append(path)
            // Recorded once it exists (the journal may live in it); a kill in between leaves at
            // most an empty folder. Folders made above a DEST that does not exist yet wait until
            // the journal's own folder exists.
            unrecordedFolders.append(path)
            if journal != nil || (try? fileStatus(journalFolder ?? path))?.kind == .directory {
                for folder in unrecordedFolders { try record("folder \(absolutePath(folder))", near: folder + "/x") }
                unrecordedFolders = []
            }
        } else if errno != EEXIST {
            throw .writeFailed(path: path, reason: "cannot create folder: \(errnoText())")
        }
    }

    /// Flushes and fsyncs every staged file, then renames them all into place. On any failure
    /// every destination is restored and every temp file removed.
    func commit() throws(TrailMergeError) {
        precondition(!finished, "OutputSet committed twice")
        do throws(TrailMergeError) {
            for file in staged { try file.writer.close(sync: true) }
        } catch {
            abandon()
            throw error
        }
        // S3 objects appear first (the step most likely to fail); a later failure deletes them again.
        for file in staged where file.upload != nil && !published.contains(where: { $0 === file }) {
            do throws(TrailMergeError) {
                try publish(file)
            } catch {
                abandon()
                if case .s3(_, 412, _, _) = error {
                    throw .writeFailed(
                        path: file.finalPath,
                        reason: "appeared while this run was writing (another run into the same DEST?); it was not "
                            + "overwritten and nothing was committed; run again to take the next free part number")
                }
                throw error
            }
        }
        let cleanup = self.cleanup
        let result: Result<Void, TrailMergeError> = cleanup.withSignalsDeferred {
            var done: [(file: StagedFile, backup: String?)] = []
            for (index, file) in staged.enumerated() where file.upload == nil && !file.isStream {
                var backup: String? = nil
                // A folder (or a FIFO, device, socket) that appeared at the final name during the
                // run is not replaced, nor moved aside: the commit fails and rolls back.
                let kind = linkStatus(file.finalPath)?.kind
                let changed = kind == .directory ? "it has become a folder" : kind == .other ? "it is no longer a regular file" : nil
                if changed == nil, (try? fileStatus(file.finalPath)) != nil {
                    let name = parentDirectory(file.finalPath) + "/.\(baseName(file.finalPath)).bak-\(randomToken())"
                    journal?.append("backup \(absolutePath(name))")
                    // A hard link keeps the old file in place until the rename replaces it; where
                    // links are not supported, moving it aside still lets a rollback restore it.
                    if link(file.finalPath, name) == 0 || rename(file.finalPath, name) == 0 { backup = name }
                }
                if changed == nil {
                    journal?.append("rename \(absolutePath(file.tempPath))\t\(absolutePath(file.finalPath))\t\(backup.map(absolutePath) ?? "-")")
                }
                let failed = changed ?? (faults.failRename == index ? "injected fault" : (rename(file.tempPath, file.finalPath) == 0 ? nil : errnoText()))
                if let reason = failed {
                    if let backup { removeFile(backup) }
                    // Roll back: restore replaced files, remove new ones, newest first.
                    for (previous, previousBackup) in done.reversed() {
                        if let previousBackup {
                            _ = rename(previousBackup, previous.finalPath)
                        } else {
                            removeFile(previous.finalPath)
                        }
                    }
                    return .failure(.writeFailed(path: file.finalPath, reason: "cannot rename into place: \(reason); no output was changed"))
                }
                done.append((file, backup))
            }
            journal?.append("done")
            cleanup.markCommitted()
            for (_, backup) in done { if let backup { removeFile(backup) } }
            return .success(())
        }
        if case .failure(let error) = result {
            abandon()
            throw error
        }
        // Durability: the folder entries reach the disk before the run reports success.
        var folders: [String] = []
        for file in staged where file.upload == nil && !file.isStream {
            let folder = parentDirectory(file.finalPath)
            if !folders.contains(folder) { folders.append(folder) }
            cleanup.forget(file.tempPath)
        }
        for folder in folders + createdFolders.map(parentDirectory) { syncFolder(folder) }
        for folder in createdFolders { cleanup.forget(folder) }
        for file in published { cleanup.forgetRemote(file.finalPath) }
        if holdJournal, let journal {
            // Left on a signal too: the deletion it lists is then finished by the next run.
            cleanup.forget(journal.path)
        } else {
            closeJournal()
        }
        finished = true
    }

    /// Makes one staged S3 output appear ahead of the commit (group, to learn of a name taken
    /// meanwhile while it can still choose another). Until the commit, a failure, `abandon` or a
    /// signal deletes it again. Throws S3's 412 when the key exists (`noOverwrite`); the file is
    /// then still staged, for `discard`.
    func publish(_ file: StagedFile) throws(TrailMergeError) {
        guard let upload = file.upload else { return }
        try file.writer.close(sync: true)
        try upload.commit()
        cleanup.forgetRemote(file.finalPath)
        if let client = try? storage.s3(), let url = try? S3URL(parsing: file.finalPath) {
            cleanup.register(remote: file.finalPath) { try? client.deleteObjects(bucket: url.bucket, keys: [url.key]) }
        }
        published.append(file)
    }

    /// Drops a staged S3 output that was not published (its upload is aborted).
    func discard(_ file: StagedFile) {
        guard let index = staged.firstIndex(where: { $0 === file }) else { return }
        file.upload?.abandon()
        cleanup.forgetRemote(file.finalPath)
        staged.remove(at: index)
        roles.remove(at: index)
        roleOfIdentity[identities.remove(at: index)] = nil
    }

    /// Deletes the S3 objects this run made appear, when a later step failed (best effort; an
    /// object it replaced is not restored).
    private func unpublish() {
        guard !published.isEmpty, let client = try? storage.s3() else { return }
        for file in published {
            if let url = try? S3URL(parsing: file.finalPath) { try? client.deleteObjects(bucket: url.bucket, keys: [url.key]) }
            cleanup.forgetRemote(file.finalPath)
        }
        published = []
    }

    /// Removes every temp file and every folder made for the outputs (if empty), and aborts every
    /// S3 upload.
    func abandon() {
        guard !finished else { return }
        finished = true
        unpublish()
        for file in staged {
            if let upload = file.upload {
                upload.abandon()
                cleanup.forgetRemote(file.finalPath)
                continue
            }
            try? file.writer.close(sync: false)
            if file.isStream { continue }
            removeFile(file.tempPath)
            cleanup.forget(file.tempPath)
        }
        // The journal first: it may live in a folder the run created, which is then empty.
        closeJournal()
        for folder in createdFolders.reversed() {
            _ = rmdir(folder)
            cleanup.forget(folder)
        }
    }
}

/// fsyncs a folder so renames and creations in it are durable.
func syncFolder(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = fsync(fd)
    _ = close(fd)
}

/// The last component of a path.
func baseName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}

/// Writes small files (manifests, stats) into staged outputs.
extension StagedFile {
    func write(_ text: String) throws(TrailMergeError) { try writer.write(Array(text.utf8)) }
}

/// `path` made absolute against the current folder (journals outlive the run's working folder).
func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") || Storage.isS3(path) { return path }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return path }
    let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let relative = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    return (cwd == "/" ? "" : cwd) + "/" + relative
}

/// An exclusive `flock` on a folder, held for a run's life: two `group` runs into one DEST would
/// group the same sources twice, so the second fails at once instead.
final class FolderLock {
    private var fd: Int32

    init(_ path: String) throws(TrailMergeError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: "cannot open: \(errnoText())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            _ = close(fd)
            throw .writeFailed(path: path, reason: "another trailmerge group run is writing into this DEST; "
                + "run one at a time (nothing was written)")
        }
        self.fd = fd
    }

    func release() {
        if fd >= 0 { _ = close(fd); fd = -1 }
    }

    deinit { release() }
}

/// Where an output at `path` is written: a symbolic link is followed to its target (which is
/// staged and replaced; the link stays), and `stream` is true when the target is a FIFO, device
/// or socket, or is reached through `/proc` (`/dev/stdout`, `/dev/fd/N`): those are written
/// directly, like `-o -`, never replaced.
func outputTarget(_ path: String) -> (path: String, stream: Bool) {
    var current = path
    for _ in 0..<40 {
        guard let status = linkStatus(current) else { return (current, false) }
        if current.hasPrefix("/proc/") { return (current, true) }
        switch status.kind {
        case .other: return (current, true)
        case .file, .directory: return (current, false)
        case .symlink:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { return (current, false) }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : parentDirectory(current) + "/" + target
        }
    }
    return (current, false)  // a loop of links: creating a file there fails with a clear message
}

/// `path` with its folder resolved (symbolic links, `.`, `..`), to tell when two paths name one file.
func canonicalPath(_ path: String) -> String {
    let folder = parentDirectory(path)
    guard let resolved = realpath(folder, nil) else { return absolutePath(path) }
    defer { free(resolved) }
    return String(cString: resolved) + "/" + baseName(path)
}
