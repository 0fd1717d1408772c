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

    init(tempParent: String, memoryBudget: Int) {
        tempDirectory = TempDirectory(parent: tempParent)
        fanIn = ExternalSorter.allowedFanIn()
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

    /// Sorts the rows of `arena` in `range` (all by default) and writes them as a new run file.
    /// - Returns: the run's path.
    func spill(_ arena: RowArena, range: Range<Int>? = nil) throws(TrailMergeError) -> String {
        arena.sort(range)
        let path = try tempDirectory.newFilePath(prefix: "run")
        let writer = try RunWriter(path: path, bufferSize: writeBufferSize)
        do {
            try arena.forEachRow(range) { (row, length) throws(TrailMergeError) in try writer.write(row, length) }
            try writer.close()
        } catch {
            try? writer.close()
            removeFile(path)
            throw error
        }
        return path
    }

    /// Merges the in-memory arenas (already sorted) and the run files into `emit`.
    /// - Returns: the number of merge passes, the final one included.
    func merge(
        arenas: [RowArena], runs: [String], sorted: Bool,
        emit: (UnsafePointer<UInt8>, Int) throws(TrailMergeError) -> Void
    ) throws(TrailMergeError) -> Int {
        var pending = runs
        var passes = 0
        while pending.count > fanIn {
            passes += 1
            var next: [String] = []
            var index = 0
            while index < pending.count {
                let group = Array(pending[index..<min(index + fanIn, pending.count)])
                index += group.count
                if group.count == 1 {
                    next.append(group[0])
                    continue
                }
                let path = try tempDirectory.newFilePath(prefix: "merged")
                let writer = try RunWriter(path: path, bufferSize: writeBufferSize)
                let cursors = try openCursors(group)
                try mergeRuns(cursors, sorted: sorted) { (row, length) throws(TrailMergeError) in
                    try writer.write(row, length)
                }
                try writer.close()
                for cursor in cursors { cursor.close() }
                for run in group { removeFile(run) }
                next.append(path)
            }
            pending = next
        }
        var cursors = arenas.filter { $0.count > 0 }.map { MergeCursor(arena: $0) }
        cursors += try openCursors(pending)
        try mergeRuns(cursors, sorted: sorted, emit: emit)
        for cursor in cursors { cursor.close() }
        return passes + 1
    }

    private func openCursors(_ paths: [String]) throws(TrailMergeError) -> [MergeCursor] {
        var cursors: [MergeCursor] = []
        for path in paths {
            cursors.append(MergeCursor(reader: try RunReader(path: path, bufferSize: readBufferSize)))
        }
        return cursors
    }

    func removeTemporaries() { tempDirectory.remove() }
}
