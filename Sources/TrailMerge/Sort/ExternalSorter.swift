/// Spilling and merging. In: full row arenas from workers, and at the end their last in-memory runs.
/// Out: every row in order, to the output stage. Invariants: at most `fanIn` run files are open at
/// once (more runs are merged in intermediate passes); run files live in one private temp directory
/// that is removed on every path.
import Glibc

final class ExternalSorter: @unchecked Sendable {
    let tempDirectory: TempDirectory
    let fanIn: Int
    let readBufferSize: Int
    let writeBufferSize: Int
    /// Rows in each run file, for the merge's progress.
    private let runRows = Locked<[String: Int]>([:])

    init(tempParent: String, memoryBudget: Int, cleanup: Cleanup, fanIn requested: Int? = nil) {
        tempDirectory = TempDirectory(parent: tempParent, cleanup: cleanup)
        fanIn = min(ExternalSorter.allowedFanIn(), max(2, requested ?? 16))
        readBufferSize = min(1 << 20, max(64 << 10, memoryBudget / (4 * fanIn)))
        writeBufferSize = min(1 << 20, max(64 << 10, memoryBudget / 16))
    }

    /// The merge fan-in: 16 like GNU sort, fewer when the open-file limit is low.
    static func allowedFanIn() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 16 }
        let available = Int(min(limit.rlim_cur, 1 << 20)) - 24
        return max(2, min(16, available / 2))
    }

    /// Descriptors this process can still open: the soft `ulimit -n` minus those open now (stdio,
    /// outputs, journal, locks, the runtime's own, inputs being read).
    static func freeDescriptors() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1 << 20 }
        let cap = Int(min(limit.rlim_cur, 1 << 20))
        guard let dir = opendir("/proc/self/fd") else { return cap - 24 }
        var open = 0
        let own = dirfd(dir)
        while let entry = readdir(dir) {
            // Descriptors at or above the limit (inherited) do not take the numbers new ones get.
            let number = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                raw.prefix { $0 != 0 }.reduce(0) { ($1 >= 0x30 && $1 <= 0x39) ? $0 * 10 + Int($1 - 0x30) : -1 << 40 }
            }
            if number >= 0 && number < cap && number != Int(own) { open += 1 }
        }
        closedir(dir)
        return cap - open
    }

    /// The fan-in for a merge starting now: at most `fanIn`, and within the descriptors left (one
    /// is kept for the pass's run file, one spare), never below 2.
    func currentFanIn() -> Int { max(2, min(fanIn, ExternalSorter.freeDescriptors() - 2)) }

    /// Sorts the rows of `arena` in `range` (all by default) and writes them as a new run file.
    /// - Returns: the run's path.
    func spill(_ arena: RowArena, range: Range<Int>? = nil) throws(TrailMergeError) -> String {
        arena.sort(range)
        let path = try tempDirectory.newFilePath(prefix: "run")
        let writer = try RunWriter(path: path, bufferSize: writeBufferSize, in: tempDirectory)
        do {
            try arena.forEachRow(range) { (row, length) throws(TrailMergeError) in try writer.write(row, length) }
            try writer.close()
            let rows = writer.rows
            runRows.withLock { $0[path] = rows }
        } catch {
            try? writer.close()
            removeFile(path)
            throw error
        }
        return path
    }

    /// Merges the in-memory arenas (already sorted) and the run files into `emit`.
    /// - Returns: the number of merge passes, the final one included.
    /// The number of passes `merge` makes over `runs` run files (the final pass included).
    func passCount(runs: Int, fanIn: Int? = nil) -> Int {
        let fanIn = fanIn ?? self.fanIn
        var pending = runs
        var passes = 1
        while pending > fanIn {
            pending = (pending + fanIn - 1) / fanIn
            passes += 1
        }
        return passes
    }

    /// Merges the in-memory arenas (already sorted) and the run files into `emit`.
    func merge(
        arenas: [RowArena], runs: [String], sorted: Bool, progress: ProgressCounters? = nil,
        emit: (UnsafePointer<UInt8>, Int) throws(TrailMergeError) -> Void
    ) throws(TrailMergeError) -> Int {
        try merge(arenas: arenas, sources: runs.map { .file($0) }, sorted: sorted, progress: progress, emit: emit)
    }

    /// Merges arenas, run files and sorted text files (`merge`) into `emit`; with more sources
    /// than the fan-in, groups of them are first merged into run files in extra passes.
    func merge(
        arenas: [RowArena], sources: [SortedRunSource], sorted: Bool, progress: ProgressCounters? = nil,
        emit: (UnsafePointer<UInt8>, Int) throws(TrailMergeError) -> Void
    ) throws(TrailMergeError) -> Int {
        let narrowed = try narrow(sources, sorted: sorted, extraRows: arenas.reduce(0) { $0 + $1.count }, progress: progress)
        try finalPass(arenas: arenas, sources: narrowed.sources, sorted: sorted, emit: emit)
        return narrowed.passes + 1
    }

    /// Merges groups of `sources` into run files until at most the fan-in remain (the inputs of
    /// each group are removed once merged), so one final pass can read them all, or several
    /// final passes the same rows in the same order (`--dedupe` reads them twice).
    /// - Returns: the sources left and the passes made.
    func narrow(
        _ sources: [SortedRunSource], sorted: Bool, extraRows: Int, progress: ProgressCounters? = nil
    ) throws(TrailMergeError) -> (sources: [SortedRunSource], passes: Int) {
        var pending = sources
        var passes = 0
        let fanIn = currentFanIn()
        let totalPasses = passCount(runs: sources.count, fanIn: fanIn)
        let rowsIn = { (runs: [SortedRunSource]) -> Int in
            self.runRows.withLock { table in
                runs.reduce(0) { total, run in
                    if case .file(let path) = run { return total + (table[path] ?? 0) }
                    return total
                }
            }
        }
        while pending.count > fanIn {
            passes += 1
            progress?.beginPass(passes, of: totalPasses, rows: rowsIn(pending))
            var written = 0
            var next: [SortedRunSource] = []
            var index = 0
            while index < pending.count {
                let group = Array(pending[index..<min(index + fanIn, pending.count)])
                index += group.count
                if group.count == 1 {
                    next.append(group[0])
                    continue
                }
                let path = try tempDirectory.newFilePath(prefix: "merged")
                let writer = try RunWriter(path: path, bufferSize: writeBufferSize, in: tempDirectory)
                let cursors = try openCursors(group)
                try mergeRuns(cursors, sorted: sorted) { (row, length) throws(TrailMergeError) in
                    try writer.write(row, length)
                    written &+= 1
                    if written & 0xFFFF == 0 { progress?.rowsWritten.store(written, ordering: .relaxed) }
                }
                try writer.close()
                let rows = writer.rows
                runRows.withLock { $0[path] = rows }
                for cursor in cursors { cursor.close() }
                for case .file(let run) in group { removeFile(run) }
                next.append(.file(path))
            }
            pending = next
        }
        progress?.beginPass(passes + 1, of: totalPasses, rows: rowsIn(pending) + extraRows)
        return (pending, passes)
    }

    /// One pass over the arenas and at most a fan-in of sources (see `narrow`), into `emit`.
    /// Reads and removes nothing, so it may be repeated.
    func finalPass(
        arenas: [RowArena], sources: [SortedRunSource], sorted: Bool,
        emit: (UnsafePointer<UInt8>, Int) throws(TrailMergeError) -> Void
    ) throws(TrailMergeError) {
        var cursors = arenas.filter { $0.count > 0 }.map { MergeCursor(arena: $0) }
        defer { for cursor in cursors { cursor.close() } }
        cursors += try openCursors(sources)
        try mergeRuns(cursors, sorted: sorted, emit: emit)
    }

    private func openCursors(_ sources: [SortedRunSource]) throws(TrailMergeError) -> [MergeCursor] {
        var cursors: [MergeCursor] = []
        for source in sources {
            switch source {
            case .file(let path):
                cursors.append(MergeCursor(reader: try RunReader(path: path, bufferSize: readBufferSize)))
            case .text(let input):
                cursors.append(MergeCursor(text: try TextRunReader(input)))
            }
        }
        return cursors
    }

    func removeTemporaries() { tempDirectory.remove() }
}
