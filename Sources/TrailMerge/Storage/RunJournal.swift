/// Proof of ownership for a run's temporary files, so a later run can reclaim what a killed run
/// (SIGKILL, OOM kill) left behind without ever touching a live run's files or anything it did not
/// create. Each run holds an `flock` on a lock file of its own for its whole life: the journal
/// `.trailmerge-run-XXXXXXXX.lock` beside its outputs, and `owner.lock` inside its private spill
/// folder. The journal lists, before each is made, every temp file, backup and folder the run
/// creates, and the renames of its commit. A lock file whose lock can be taken belongs to a dead
/// run; only the paths it lists are removed (names alone are never proof), and a commit it had
/// started is rolled back, so every destination returns to what it was before the killed run.
#if canImport(Glibc)
import Glibc
#endif

/// An exclusively locked lock file identifying this run.
final class OwnerLock {
    static let magic = "trailmerge-run v1"
    let path: String
    private var fd: Int32

    /// Creates `path` (which must not exist), locked and holding the owner line from the moment it
    /// appears: it is written as an unnamed file (`O_TMPFILE`) and linked into place, so a kill can
    /// never leave a lock file without its proof of ownership.
    init(creating path: String) throws(TrailMergeError) {
        let owner = "\(OwnerLock.magic) pid=\(getpid()) host=\(hostName())\n"
        // O_TMPFILE is __O_TMPFILE (0o20000000 on Linux) | O_DIRECTORY; Glibc's macro is not imported.
        let unnamed = open(parentDirectory(path), 0o20000000 | O_DIRECTORY | O_WRONLY | O_CLOEXEC, 0o644)
        var fd: Int32
        if unnamed >= 0 {
            fd = unnamed
            var text = owner
            let written = text.withUTF8 { write(fd, $0.baseAddress, $0.count) }
            guard written == owner.utf8.count, flock(fd, LOCK_EX | LOCK_NB) == 0,
                linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0
            else {
                let reason = errnoText()
                _ = close(fd)
                throw .writeFailed(path: path, reason: "cannot create a lock file: \(reason)")
            }
            _ = fcntl(fd, F_SETFL, O_APPEND)
        } else {
            // A file system without O_TMPFILE: create, lock, then write (a kill in between can
            // leave an empty lock file, which is never taken for ours).
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .writeFailed(path: path, reason: "cannot create a lock file: \(errnoText())") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                _ = close(fd)
                throw .writeFailed(path: path, reason: "cannot lock: \(errnoText())")
            }
            var text = owner
            text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
        }
        self.path = path
        self.fd = fd
    }

    /// Appends one line (a single write, so a kill leaves whole lines).
    func append(_ line: String) {
        guard fd >= 0 else { return }
        var text = line + "\n"
        text.withUTF8 { bytes in _ = write(fd, bytes.baseAddress, bytes.count) }
    }

    /// Lets go of the lock and leaves the file, as a killed run does (tests).
    func abandonAsIfKilled() {
        guard fd >= 0 else { return }
        _ = close(fd)
        fd = -1
    }

    /// Removes the lock file and releases the lock.
    func release() {
        guard fd >= 0 else { return }
        _ = unlink(path)
        _ = close(fd)
        fd = -1
    }

    deinit { release() }
}

/// The host name, as written into lock files (a lock of another host is never reclaimed).
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A lock file left by a dead run of this host, locked by us while it is cleaned up.
struct AbandonedLock {
    let path: String
    let pid: String
    let lines: [String]
    fileprivate let fd: Int32

    /// Opens `path` and returns it when it is a trailmerge lock file of this host whose owner is
    /// gone (its lock can be taken); nil otherwise (live, foreign, or not ours).
    /// Only a regular file owned by this run's user is trusted: anyone who can write into a
    /// shared folder can forge the text of a lock file, not its owner.
    static func take(_ path: String) -> AbandonedLock? {
        // O_NONBLOCK: a FIFO planted under a lock file's name must not hang the run.
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid() else {
            _ = close(fd)
            return nil
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            _ = close(fd)
            return nil
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < 64 << 20 {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        let lines = bytes.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        guard let first = lines.first, first.hasPrefix(OwnerLock.magic + " pid="),
            first.hasSuffix(" host=" + hostName())
        else {
            _ = close(fd)
            return nil
        }
        let pid = first.dropFirst((OwnerLock.magic + " pid=").count).prefix { $0 != " " }
        return AbandonedLock(path: path, pid: String(pid), lines: Array(lines.dropFirst()), fd: fd)
    }

    /// Removes the lock file and lets go of it.
    func remove() {
        _ = unlink(path)
        _ = close(fd)
    }
}

/// What a reclaim removed, for the one-line notice.
struct Reclaimed {
    var bytes = 0
    var pids: [String] = []
    /// Paths a dead run's journal listed that its rules do not allow removing (not a name
    /// trailmerge gives, not a regular file or folder of this user, a symbolic link): left alone.
    var refused: [String] = []
    /// Sources a killed `group --delete-on-success` had committed and not yet deleted, deleted now.
    var deletedSources = 0

    var notice: String? {
        var pids: [String] = []
        for pid in self.pids where !pids.contains(pid) { pids.append(pid) }
        guard !pids.isEmpty else { return nil }
        let owners = pids.count == 1 ? "a killed run (pid \(pids[0]))" : "\(pids.count) killed runs (pids \(pids.joined(separator: ", ")))"
        let deleted = deletedSources == 0 ? "" :
            "; deleted the \(plural(deletedSources, "source")) its committed --delete-on-success had not deleted yet"
        return "removed \(formatSize(bytes)) left by \(owners)" + deleted
    }

    /// The warning about refused paths, if any.
    var warning: String? {
        guard let first = refused.first else { return nil }
        return "left alone \(plural(refused.count, "path")) listed by a killed run's journal that trailmerge does not "
            + "create or own (e.g. \(first))"
    }
}

/// The names a run gives its files: `.NAME.tmp-XXXXXXXX` and `.NAME.bak-XXXXXXXX` beside an
/// output, `trailmerge-XXXXXX` for a spill folder (X: `randomToken` letters and digits).
enum RunNames {
    private static func isToken<C: Collection<UInt8>>(_ text: C, length: Int) -> Bool {
        text.count == length && text.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// True for `.FINAL.tmp-XXXXXXXX` (`kind` "tmp") or `.FINAL.bak-XXXXXXXX` (`kind` "bak"); any
    /// FINAL when `final` is nil.
    static func isStaging(_ name: String, kind: String, of final: String? = nil) -> Bool {
        let bytes = Array(name.utf8)
        let marker = Array(("." + kind + "-").utf8)
        let tail = marker.count + 8
        guard bytes.count > tail + 1, bytes[0] == 0x2E, !name.contains("/") else { return false }
        let stem = bytes[1..<(bytes.count - tail)]
        guard Array(bytes[(bytes.count - tail)..<(bytes.count - 8)]) == marker, isToken(bytes.suffix(8), length: 8) else {
            return false
        }
        return final.map { Array(stem) == Array($0.utf8) } ?? true
    }

    static func isSpillFolder(_ name: String) -> Bool {
        name.hasPrefix("trailmerge-") && isToken(name.utf8.dropFirst(11), length: 6)
    }
}

/// The entry at `path` when it is of `kind` and owned by this run's user (never following a link).
private func owned(_ path: String, _ kind: LinkStatus.Kind) -> LinkStatus? {
    guard let status = linkStatus(path), status.kind == kind, status.owner == geteuid() else { return nil }
    return status
}

/// Undoes what a dead run's journal lists: rolls back a commit it had started (restoring
/// backups, removing outputs it had renamed into place), removes its temp files and backups,
/// and the folders it created if they are empty. Only what the journal's rules allow is touched:
/// temp and backup files under trailmerge's names, regular files and folders of this user, spill
/// folders named `trailmerge-XXXXXX`; links are never followed; anything else is left alone.
private func recover(_ journal: AbandonedLock, into reclaimed: inout Reclaimed) {
    var temps: [String] = []
    var backups: [String] = []
    var folders: [String] = []
    var spills: [String] = []
    var renames: [(temp: String, final: String, backup: String?)] = []
    var deleteRoot: String?
    var deletes: [String] = []
    var done = false
    for line in journal.lines {
        if line.hasPrefix("delete-root ") { deleteRoot = unescapeJournalPath(line.dropFirst(12)) }
        else if line.hasPrefix("delete ") { deletes.append(unescapeJournalPath(line.dropFirst(7))) }
        else if line.hasPrefix("temp ") { temps.append(String(line.dropFirst(5))) }
        else if line.hasPrefix("backup ") { backups.append(String(line.dropFirst(7))) }
        else if line.hasPrefix("folder ") { folders.append(String(line.dropFirst(7))) }
        else if line.hasPrefix("spill ") { spills.append(String(line.dropFirst(6))) }
        else if line.hasPrefix("not-spill ") { spills.removeAll { $0 == line.dropFirst(10) } }
        else if line.hasPrefix("rename ") {
            let parts = line.dropFirst(7).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 3 { renames.append((parts[0], parts[1], parts[2] == "-" ? nil : parts[2])) }
        } else if line == "done" { done = true }
    }
    func refuse(_ path: String) { if linkStatus(path) != nil { reclaimed.refused.append(path) } }
    if !done {
        // The commit did not finish: put back what its renames replaced, newest first.
        for rename in renames.reversed() where linkStatus(rename.temp) == nil {
            let folder = parentDirectory(rename.final)
            let final = baseName(rename.final)
            // A rename a run made: of a temp file it listed, beside its final name.
            guard rename.final.hasPrefix("/"), temps.contains(rename.temp), parentDirectory(rename.temp) == folder,
                RunNames.isStaging(baseName(rename.temp), kind: "tmp", of: final),
                rename.backup.map({ parentDirectory($0) == folder && RunNames.isStaging(baseName($0), kind: "bak", of: final) }) ?? true
            else {
                refuse(rename.final)
                continue
            }
            if let backup = rename.backup, owned(backup, .file) != nil {
                _ = Glibc.rename(backup, rename.final)
            } else if let status = owned(rename.final, .file) {
                reclaimed.bytes += status.size
                removeFile(rename.final)
            } else {
                refuse(rename.final)
            }
        }
    }
    for (paths, kind) in [(temps, "tmp"), (backups, "bak")] {
        for path in paths {
            guard RunNames.isStaging(baseName(path), kind: kind), let status = owned(path, .file) else {
                refuse(path)
                continue
            }
            reclaimed.bytes += status.size
            removeFile(path)
        }
    }
    if done, let root = deleteRoot, root.hasPrefix("/"), root.count > 1 {
        // The commit is complete and `group --delete-on-success` was deleting its sources: roll
        // the deletion forward (only files and links under SRC, never followed), so a re-run
        // does not group them again.
        var emptied = Set<String>()
        for path in deletes where path.hasPrefix(root + "/") {
            emptied.insert(parentDirectory(path))
            guard let status = linkStatus(path), status.kind == .file || status.kind == .symlink else { continue }
            if unlink(path) == 0 { reclaimed.deletedSources += 1 }
        }
        removeEmptiedFolders(emptied, under: root)
    }
    for folder in folders.sorted(by: { $0.count > $1.count }) where owned(folder, .directory) != nil {
        removeEmptyFolder(folder)
    }
    for spill in spills {
        guard RunNames.isSpillFolder(baseName(spill)) else {
            refuse(spill)
            continue
        }
        reclaimSpillFolder(spill, listedByDeadJournal: true, into: &reclaimed)
    }
    reclaimed.pids.append(journal.pid)
    journal.remove()
}

/// Reclaims what dead runs left in `folders`: journals beside outputs and spill folders
/// (`trailmerge-XXXXXX` holding `owner.lock`). Never touches a live run's files, nor lock files
/// of another user.
func reclaimAbandoned(outputFolders: [String], tempFolder: String?) -> Reclaimed {
    var reclaimed = Reclaimed()
    var seen = Set<String>()
    for folder in outputFolders where seen.insert(folder).inserted {
        guard let names = try? listDirectory(folder) else { continue }
        for name in names where name.hasPrefix(".trailmerge-run-") && name.hasSuffix(".lock") {
            if let journal = AbandonedLock.take(folder + "/" + name) { recover(journal, into: &reclaimed) }
        }
    }
    if let tempFolder, let names = try? listDirectory(tempFolder) {
        for name in names where RunNames.isSpillFolder(name) { reclaimSpillFolder(tempFolder + "/" + name, into: &reclaimed) }
    }
    return reclaimed
}

/// Removes a dead run's spill folder: a real folder of this user holding an `owner.lock` of this
/// user that nobody holds, or, when a dead run's journal lists it, one the run was killed in
/// before its `owner.lock` existed. Links inside are unlinked, never followed.
private func reclaimSpillFolder(_ folder: String, listedByDeadJournal: Bool = false, into reclaimed: inout Reclaimed) {
    guard linkStatus(folder) != nil else { return }
    guard owned(folder, .directory) != nil else {
        if listedByDeadJournal { reclaimed.refused.append(folder) }
        return
    }
    let owner = AbandonedLock.take(folder + "/owner.lock")
    if owner == nil {
        // Live (its lock is held), or not provably ours, unless the dead journal lists it and it
        // has no owner.lock at all.
        guard listedByDeadJournal, linkStatus(folder + "/owner.lock") == nil else { return }
    }
    if let files = try? listDirectory(folder) {
        for file in files where file != "owner.lock" { reclaimed.bytes += linkStatus(folder + "/" + file)?.size ?? 0 }
    }
    owner?.remove()
    removeTree(folder)
    if let owner { reclaimed.pids.append(owner.pid) }
}

/// Removes the folders in `folders` that are empty, and then their parents, up to (not
/// including) `root`.
func removeEmptiedFolders(_ folders: Set<String>, under root: String) {
    var folders = folders
    while let deepest = folders.max(by: { $0.count < $1.count }) {
        folders.remove(deepest)
        guard deepest.count > root.count, deepest.hasPrefix(root + "/"), removeEmptyFolder(deepest) else { continue }
        folders.insert(parentDirectory(deepest))
    }
}

/// A path as one journal line holds it (`%` and line breaks escaped).
func escapeJournalPath(_ path: String) -> String {
    guard path.contains("%") || path.contains("\n") else { return path }
    var text = ""
    for character in path {
        switch character {
        case "%": text += "%25"
        case "\n": text += "%0A"
        default: text.append(character)
        }
    }
    return text
}

func unescapeJournalPath(_ text: Substring) -> String {
    guard text.contains("%") else { return String(text) }
    var result = ""
    var rest = text[...]
    while let first = rest.first {
        if rest.hasPrefix("%25") { result += "%"; rest = rest.dropFirst(3) }
        else if rest.hasPrefix("%0A") { result += "\n"; rest = rest.dropFirst(3) }
        else { result.append(first); rest = rest.dropFirst() }
    }
    return result
}
