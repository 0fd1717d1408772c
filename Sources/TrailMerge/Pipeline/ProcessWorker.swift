/// One worker of `process`: reads, inflates, scans and flattens whole files into its own arena,
/// spilling sorted runs when the arena reaches its share of the memory budget.
/// In: source files. Out: run files plus a final sorted in-memory arena.
/// Invariant: the worker owns every buffer it uses; nothing on its path takes a lock.

final class ProcessWorker {
    /// The largest single JSON unit (a record, or a skipped top-level member) that is buffered whole.
    static let maxValueSize = 64 << 20
    private let initialWindow: Int

    private let reader = GzipReader()
    let scanner: RecordScanner
    let arena: RowArena
    private let sorter: ExternalSorter
    private let skipBadFiles: Bool
    private let progress: ProgressCounters?
    private let storage: Storage
    /// `--since`/`--until` and `--where`, checked on each record before it is exploded into rows.
    private let filter: RecordFilter?
    private var window: UnsafeMutablePointer<UInt8>
    private var windowCapacity: Int

    /// Run files this worker wrote.
    private(set) var runs: [String] = []
    private(set) var stats = RunStats()
    private(set) var warnings: [(file: Int, message: String)] = []
    private(set) var skipped: [(file: Int, message: String)] = []
    /// Documents without the records array: how many, how many looked like events, and the first
    /// one (list index, path, and JSON byte offset within the file or segment read).
    private(set) var documentsWithoutRecords = 0
    private(set) var eventLikeDocuments = 0
    private(set) var firstDocumentWithoutRecords: (file: Int, path: String, byte: Int)?
    /// Decoded bytes of each segment read (by list index), to turn a segment's offsets into the file's.
    private(set) var segmentJSONBytes: [Int: Int] = [:]
    /// Records left out by `--since`/`--until` for want of a usable eventTime, and the first file
    /// (list index, path) that had one.
    private(set) var untimedRecords = 0
    private(set) var firstUntimed: (file: Int, path: String)?
    /// With `--records .`: records holding a top-level `Records` array.
    private(set) var recordsHoldingRecordsArray = 0
    /// Set when a segment failed (see `FileSplitter`): the run reads every file whole again.
    private(set) var segmentFailed = false

    init(
        plan: FieldPlan, recordsPath: String, layout: RowLayout, budget: Int, sorter: ExternalSorter,
        skipBadFiles: Bool, window initialSize: Int, progress: ProgressCounters?, storage: Storage, filter: RecordFilter? = nil
    ) {
        self.filter = filter
        self.progress = progress
        self.storage = storage
        initialWindow = max(16, initialSize)
        windowCapacity = initialWindow
        scanner = RecordScanner(plan: plan, recordsPath: recordsPath)
        arena = RowArena(layout: layout, budget: budget)
        self.sorter = sorter
        self.skipBadFiles = skipBadFiles
        window = .allocate(capacity: windowCapacity)
    }

    deinit { window.deallocate() }

    /// Reads one file completely. With `skipBadFiles`, a bad file contributes no rows and is recorded.
    func process(_ file: SourceFile, index: Int) throws(TrailMergeError) {
        let mark = arena.mark()
        let before = stats
        let untimedBefore = filter?.untimed ?? 0
        defer {
            progress?.fileDone(
                bytes: file.segment?.count ?? file.size, jsonBytes: stats.jsonBytes - before.jsonBytes,
                rows: stats.rows - before.rows, files: file.segment.map { $0.isLast ? 1 : 0 } ?? 1)
        }
        var tentativeRuns: [String] = []
        do {
            try scanFile(file, index: index, tentativeRuns: &tentativeRuns)
            runs += tentativeRuns
            if (file.segment?.ordinal ?? 0) == 0 { stats.files += 1 }
            if file.segment != nil { segmentJSONBytes[index] = stats.jsonBytes - before.jsonBytes }
            if scanner.documentsWithoutRecords > 0 {
                documentsWithoutRecords += scanner.documentsWithoutRecords
                eventLikeDocuments += scanner.eventLikeDocuments
                if firstDocumentWithoutRecords == nil || index < firstDocumentWithoutRecords!.file {
                    firstDocumentWithoutRecords = (index, file.path, scanner.firstDocumentWithoutRecords)
                }
            }
            recordsHoldingRecordsArray += scanner.recordsHoldingRecordsArray
            let untimed = (filter?.untimed ?? 0) - untimedBefore
            if untimed > 0 {
                untimedRecords += untimed
                if firstUntimed == nil || index < firstUntimed!.file { firstUntimed = (index, file.path) }
            }
        } catch {
            guard skipBadFiles && file.segment == nil else {
                for run in tentativeRuns { removeFile(run) }
                // A segment's failure may be a wrong cut rather than the file's fault: it is not
                // skipped, and the run reads every file whole again.
                if file.segment != nil { segmentFailed = true }
                throw error
            }
            // Drop every row this file produced: spilled ones with their runs, the rest from the arena.
            for run in tentativeRuns { removeFile(run) }
            if tentativeRuns.isEmpty { arena.rollBack(to: mark) } else { arena.reset() }
            // Runs spilled while reading it still count as spilled (they were written, then removed).
            let spilled = stats.spilledRuns
            stats = before
            stats.spilledRuns = spilled
            stats.files += 1
            stats.inputBytes += file.size
            skipped.append((index, error.description))
        }
        reader.close()
    }

    private func scanFile(_ file: SourceFile, index: Int, tentativeRuns: inout [String]) throws(TrailMergeError) {
        try reader.open(storage.open(file), path: file.path)
        scanner.beginFile()
        // A segment must start with an object or array (after whitespace) and, unless it is the
        // file's last, end with one, so its cuts are document boundaries (`FileSplitter`).
        let segment = file.segment
        var firstByte: UInt8?
        var lastByte: UInt8?
        var filled = 0
        var start = 0
        var windowOffset = 0
        var eof = false
        var fileRowsStart = arena.count
        var rowsAdded = 0
        let arena = self.arena
        let filter = self.filter
        let scanner = self.scanner
        let fileBits = UInt64(truncatingIfNeeded: index) << 32
        while true {
            while !eof && filled < windowCapacity {
                let n = try reader.read(into: window + filled, capacity: windowCapacity - filled)
                if n == 0 { eof = true } else {
                    if segment != nil { noteEdges(window + filled, n, first: &firstByte, last: &lastByte) }
                    filled += n
                    stats.jsonBytes += n
                }
            }
            let outcome: ScanOutcome
            do {
                outcome = try scanner.scan(
                    window, count: filled, from: start, eof: eof, offset: windowOffset,
                    onRecord: { values in
                        if let filter, !filter.accepts(values) { return false }
                        rowsAdded += arena.append(values, record: fileBits | UInt64(truncatingIfNeeded: scanner.records))
                        return arena.isFull
                    })
            } catch {
                switch error {
                case .invalid(let position, let reason):
                    throw .invalidJSON(path: file.path, offset: windowOffset + position, reason: reason)
                case .needMore:
                    throw .invalidJSON(path: file.path, offset: windowOffset + filled, reason: "unexpected end of input")
                }
            }
            switch outcome {
            case .finished:
                if let segment {
                    let opens = firstByte == 0x7B || firstByte == 0x5B
                    let closes = lastByte == 0x7D || lastByte == 0x5D
                    guard (segment.ordinal == 0 || opens) && (segment.isLast || closes) else {
                        throw .invalidJSON(path: file.path, offset: windowOffset + filled, reason: "a segment cut is not between documents")
                    }
                }
                stats.inputBytes += reader.fileBytesRead
                stats.records += scanner.records
                stats.rows += rowsAdded
                if windowOffset + filled == 0 {
                    warnings.append((index, "\(file.path): empty file; 0 records"))
                }
                return
            case .paused(let resumeAt):
                progress?.spillsInProgress.wrappingAdd(1, ordering: .relaxed)
                defer { progress?.spillsInProgress.wrappingSubtract(1, ordering: .relaxed) }
                if skipBadFiles {
                    // Keep this file's rows in a run of their own, so a later failure can drop them.
                    if fileRowsStart > 0 {
                        runs.append(try sorter.spill(arena, range: 0..<fileRowsStart))
                        stats.spilledRuns += 1
                    }
                    if fileRowsStart < arena.count {
                        tentativeRuns.append(try sorter.spill(arena, range: fileRowsStart..<arena.count))
                        stats.spilledRuns += 1
                    }
                } else {
                    runs.append(try sorter.spill(arena))
                    stats.spilledRuns += 1
                }
                arena.reset()
                fileRowsStart = 0
                start = resumeAt
            case .needMore(let keepFrom):
                if keepFrom == 0 && filled == windowCapacity {
                    guard windowCapacity < ProcessWorker.maxValueSize else {
                        throw .tooLarge(path: file.path, offset: windowOffset, limit: ProcessWorker.maxValueSize)
                    }
                    growWindow(keeping: filled)
                } else {
                    window.update(from: window + keepFrom, count: filled - keepFrom)
                    windowOffset += keepFrom
                    filled -= keepFrom
                }
                start = 0
            }
        }
    }

    /// Notes the first and last non-whitespace bytes of the decoded stream, piece by piece.
    private func noteEdges(_ bytes: UnsafePointer<UInt8>, _ count: Int, first: inout UInt8?, last: inout UInt8?) {
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
        if first == nil, let i = (0..<count).first(where: { !isSpace(bytes[$0]) }) { first = bytes[i] }
        if let i = (0..<count).reversed().first(where: { !isSpace(bytes[$0]) }) { last = bytes[i] }
    }

    private func growWindow(keeping count: Int) {
        let newCapacity = max(windowCapacity + 1, min(windowCapacity * 2, ProcessWorker.maxValueSize))
        let newWindow = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newWindow.update(from: window, count: count)
        window.deallocate()
        window = newWindow
        windowCapacity = newCapacity
    }

    /// Called after the last file: rows counted, the final arena sorted, big buffers returned.
    func finish() {
        arena.sort()
        if windowCapacity > initialWindow {
            window.deallocate()
            windowCapacity = initialWindow
            window = .allocate(capacity: windowCapacity)
        }
    }
}
