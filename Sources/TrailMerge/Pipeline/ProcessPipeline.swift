/// `trailmerge process`: check destinations → walk → chunk → parallel workers (inflate, scan,
/// flatten, sort, spill) → k-way merge → format → (parallel) compress → commit. In:
/// `ProcessOptions`. Out: the output file (and `--stats`) and `RunStats`. Invariants: destinations
/// are checked before any input is read; the output and the stats file appear together or not at
/// all; on any failure or signal every temporary file is removed.
import Dispatch
import Foundation
import Synchronization

/// Output compression.
public enum Compression: String, Sendable {
    case gzip, none
}

/// A validated `process` configuration.
public struct ProcessOptions: Sendable {
    public var inputs: [String] = []
    /// Output path, or "-" for stdout.
    public var output = "-"
    public var format = OutputFormat.tsv
    /// Codec and row groups for `format == .parquet` (`compression` does not apply to Parquet).
    public var parquet = ParquetOutputOptions()
    public var compression = Compression.none
    public var compressionLevel = 1
    public var recordsPath = "Records"
    public var fields: [FieldPath] = ProcessOptions.defaultFields
    /// Column indices to sort by; nil for `--sort-by none`.
    public var sortColumns: [Int]? = [0, 1]
    public var memoryBudget = ProcessOptions.defaultMemoryBudget
    public var threads = ProcessOptions.defaultThreads
    public var chunkSize = 1 << 20
    public var tempDirectory = ProcessOptions.defaultTempDirectory
    public var sourcePattern: SourcePattern? = try? SourcePattern(SourcePattern.defaultPattern)
    public var header = false
    public var skipBadFiles = false
    /// Initial decoded-input window per worker; it grows for larger values. Tests shrink it to
    /// force values across window boundaries.
    public var readWindow = 1 << 20
    /// Emit `RunEvent.progress` about ten times a second.
    public var reportProgress = false
    /// Where to write the run's figures as JSON (committed with the output).
    public var statsPath: String?
    /// Exit 0 and write a valid empty output when no input file matched.
    public var allowEmpty = false
    /// Fail (before anything is committed) when a path matched nothing.
    public var strict = false
    /// Faults injected by tests.
    public var faults = FaultPlan()
    /// Tests: the merge fan-in (default: 16, or fewer under a low open-file limit), lowered to
    /// force intermediate merge passes.
    public var mergeFanIn: Int?
    /// Files read as given, one path a line (`--files-from`), besides `inputs`; never walked.
    public var explicitFiles: [String] = []
    /// N−1 values of the first sort column: rows go to N outputs `OUT-00000.EXT` … by range, a
    /// value equal to a split point going to the upper range (`--split-points`).
    public var splitPoints: [[UInt8]]?
    /// How `s3://` inputs and outputs are reached.
    public var s3 = S3Options()
    /// `--since`/`--until`/`--max-delivery-delay`: records outside are dropped, and date folders
    /// that cannot hold one are not walked.
    public var timeRange = TimeRange()
    /// `--where`: records are kept when every clause holds.
    public var filters: [WhereClause] = []
    /// `--dedupe`: the path that keys each event (eventID by default); one copy of each is kept.
    public var dedupeKey: FieldPath?
    /// `--partition-by`: `output` is then a folder of Hive-style partitions.
    public var partitionBy: [PartitionSpec] = []
    /// Which large files are read in parallel segments (with more than one thread).
    public var splitPolicy = SplitPolicy()

    public init() {}

    public static let defaultFieldList =
        "eventTime,eventName,eventSource,awsRegion,userIdentity.userName,sourceIPAddress,requestParameters.instancesSet.items[].instanceId"
    public static let defaultFields: [FieldPath] = defaultFieldList.split(separator: ",").map { try! FieldPath(String($0)) }

    /// 1 GiB, or a quarter of physical memory when that is smaller.
    public static var defaultMemoryBudget: Int {
        min(1 << 30, Int(ProcessInfo.processInfo.physicalMemory / 4))
    }

    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    public static var defaultTempDirectory: String {
        let value = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        return value.isEmpty ? "/tmp" : value
    }
}

/// Runs `process`. Warnings and progress go to `events`; nothing is printed. Temporary files are
/// registered with `cleanup`, which the caller's signal handling uses.
public func runProcess(
    _ options: ProcessOptions, cleanup: Cleanup = Cleanup(),
    events: @escaping @Sendable (RunEvent) -> Void = { _ in }
) throws(TrailMergeError) -> RunStats {
    let started = ContinuousClock.now
    // S3 buffers come out of the one budget: objects fetched ahead of the workers, and each
    // upload's parts in flight. The rows keep at least a quarter of it.
    var options = options
    let partsInFlight = max(1, min(4, options.memoryBudget / (8 * options.s3.partSize)))
    let remoteOutputs = Storage.isS3(options.output) ? (options.splitPoints?.count ?? 0) + 1 : 0
    let remoteInputs = (options.inputs + options.explicitFiles).contains(where: Storage.isS3)
    let prefetchBudget = remoteInputs ? min(256 << 20, max(16 << 20, options.memoryBudget / 4)) : 0
    let s3Bytes = prefetchBudget + remoteOutputs * (partsInFlight + 1) * options.s3.partSize
    options.memoryBudget = max(options.memoryBudget / 4, options.memoryBudget - s3Bytes)
    guard !options.fields.isEmpty else { throw .usage("process: --fields needs at least one path") }
    if let columns = options.sortColumns, let bad = columns.first(where: { !options.fields.indices.contains($0) }) {
        throw .usage("process: sort column \(bad) is not one of the \(options.fields.count) fields")
    }
    if options.header && options.format == .jsonl {
        throw .usage("process: --header applies to tsv and csv output; JSON Lines rows carry their keys")
    }
    if options.splitPoints != nil && options.sortColumns == nil {
        throw .usage("process: --split-points cuts sorted output by its first sort column; it cannot go with --sort-by none")
    }
    let selection = RecordSelection(options)
    let plan = try FieldPlan(fields: options.fields, hidden: selection.hidden)
    var layout = RowLayout(
        fieldCount: options.fields.count, sortColumns: options.sortColumns,
        arrayColumns: options.fields.map(\.hasArray), nullsDistinct: options.format == .parquet)
    if let key = options.dedupeKey {
        guard !key.hasArray else {
            throw .usage("process: --dedupe '\(key.text)': the key must be one value per event (a path without [])")
        }
        layout.dedupeField = plan.hiddenFieldIndex[selection.hidden.count - 1]
    }

    while !options.partitionBy.isEmpty && options.output.count > 1 && options.output.hasSuffix("/") { options.output.removeLast() }
    let partitionColumns = try partitionColumnIndices(options)
    // Destinations first: nothing is read until every output can be written.
    let storage = Storage(s3: options.s3)
    let outputs = OutputSet(
        cleanup: cleanup, faults: options.faults,
        journalFolder: options.partitionBy.isEmpty || Storage.isS3(options.output) ? nil : parentDirectory(absolutePath(options.output)),
        storage: storage)
    outputs.partsInFlight = partsInFlight
    let sorter = ExternalSorter(
        tempParent: options.tempDirectory, memoryBudget: options.memoryBudget, cleanup: cleanup, fanIn: options.mergeFanIn)
    defer { sorter.removeTemporaries() }
    do throws(TrailMergeError) {
        try TempDirectory.check(options.tempDirectory)
        var outputFiles: [StagedFile?] = []
        if !options.partitionBy.isEmpty && Storage.isS3(options.output) {
            // An S3 prefix: it must hold no object yet (partition files are uploads committed last).
            let listed = try storage.listS3(options.output.hasSuffix("/") ? options.output : options.output + "/")
            if let first = listed.objects.first {
                throw .writeFailed(path: options.output, reason: "the partition prefix is not empty (it holds \(first.path)); give a new prefix")
            }
        } else if !options.partitionBy.isEmpty {
            // What a killed run left in the folder (listed in its journal beside it) goes first.
            outputs.reclaim(in: parentDirectory(absolutePath(options.output)))
            try checkPartitionFolder(options.output)
            try outputs.createFolder(options.output)
        } else if let points = options.splitPoints {
            guard options.output != "-" else { throw .usage("process: --split-points needs -o OUTPUT (it writes OUTPUT-00000… files)") }
            for index in 0...points.count {
                outputFiles.append(try outputs.stage(splitOutputName(options.output, index), role: "output"))
            }
        } else {
            outputFiles.append(options.output == "-" ? nil : try outputs.stage(options.output, role: "output"))
        }
        let statsFile = try options.statsPath.map { (path) throws(TrailMergeError) in try outputs.stage(path, role: "--stats") }
        startRun(outputs: outputs, sorter: sorter, tempFolder: options.tempDirectory, events: events)
        // A low `ulimit -n`: fewer reading threads (each holds an input and a run being spilled),
        // so the descriptors the run already holds and the merge's two inputs and run file fit.
        var options = options
        let free = ExternalSorter.freeDescriptors()
        guard free >= 4 else { throw .writeFailed(path: options.tempDirectory, reason: lowDescriptorLimitReason(free: free)) }
        options.threads = max(1, min(options.threads, (free - 2) / 2))
        var stats = try readAndMerge(
            options, plan: plan, selection: selection, layout: layout, sorter: sorter, outputFiles: outputFiles,
            partitions: partitionColumns.isEmpty ? nil : (outputs, partitionColumns), storage: storage,
            prefetchBudget: prefetchBudget, started: started, events: events)
        try finishRun(&stats, command: .process, started: started, statsFile: statsFile, outputs: outputs)
        // No file read and none skipped as bad: none matched (only --allow-empty gets here).
        if stats.files == 0 && stats.skippedFiles.isEmpty {
            events(.notice("no input file matched, so an empty output was written (--allow-empty)"))
        }
        return stats
    } catch {
        outputs.abandon()
        throw error
    }
}

/// The hidden paths a run captures besides its columns (eventTime for the time range, each
/// `--where` path), and the per-worker filter over them.
struct RecordSelection {
    let hidden: [FieldPath]
    private let timeRange: TimeRange
    private let filters: [WhereClause]

    init(_ options: ProcessOptions) {
        var hidden: [FieldPath] = []
        if options.timeRange.isBounded { hidden.append(try! FieldPath("eventTime")) }
        hidden += options.filters.map(\.path)
        if let key = options.dedupeKey { hidden.append(key) }
        self.hidden = hidden
        timeRange = options.timeRange
        filters = options.filters
    }

    /// The field index of each `--where` path and of the `--dedupe` key.
    func fieldIndices(_ plan: FieldPlan) -> (filters: [Int], dedupe: Int?) {
        let offset = timeRange.isBounded ? 1 : 0
        let filterIndices = filters.indices.map { plan.hiddenFieldIndex[offset + $0] }
        return (filterIndices, hidden.count > offset + filters.count ? plan.hiddenFieldIndex[offset + filters.count] : nil)
    }

    /// A new filter for one worker, or nil when every record is kept.
    func filter(_ plan: FieldPlan) -> RecordFilter? {
        guard timeRange.isBounded || !filters.isEmpty else { return nil }
        let offset = timeRange.isBounded ? 1 : 0
        return RecordFilter(
            clauses: filters, fields: filters.indices.map { plan.hiddenFieldIndex[offset + $0] },
            multiStart: plan.multiStart, timeField: timeRange.isBounded ? plan.hiddenFieldIndex[0] : nil, range: timeRange)
    }
}

/// Checks, without writing anything, every destination a `process` run would write (the output,
/// its split parts or its partition folder, the stats file) and the temp folder: what `--dry-run`
/// checks.
public func checkProcessDestinations(_ options: ProcessOptions) throws(TrailMergeError) {
    if options.output != "-" {
        if !options.partitionBy.isEmpty {
            // A folder (or an S3 prefix), as the run checks it.
            var folder = options.output
            while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
            if Storage.isS3(folder) { try OutputSet.check(folder, role: "output") } else { try checkPartitionFolder(folder) }
        } else if let points = options.splitPoints {
            for index in 0...points.count { try OutputSet.check(splitOutputName(options.output, index), role: "output") }
        } else {
            try OutputSet.check(options.output, role: "output")
        }
    }
    if let path = options.statsPath { try OutputSet.check(path, role: "--stats") }
    try TempDirectory.check(options.tempDirectory)
}

/// Why a run cannot go on with `free` descriptors left under `ulimit -n`.
func lowDescriptorLimitReason(free: Int) -> String {
    var limit = rlimit()
    let soft = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? "\(limit.rlim_cur)" : "?"
    return "the open-file limit (ulimit -n \(soft)) leaves \(plural(max(0, free), "descriptor")) besides the ones the run "
        + "holds, and sorting needs at least 4; raise it with ulimit -n"
}

/// The end of every run: the time taken, the stats file written, and all outputs committed together.
func finishRun(
    _ stats: inout RunStats, command: RunStats.Command, started: ContinuousClock.Instant, statsFile: StagedFile?, outputs: OutputSet
) throws(TrailMergeError) {
    stats.seconds = secondsSince(started)
    try statsFile?.write(stats.json(for: command))
    try outputs.commit()
}

/// Once a run's outputs are staged: lists its spill folder in its journal (so a killed run's is
/// found from any `--temp-dir`), and reclaims what killed runs left in the temp folder and beside
/// the outputs, saying so in one line.
func startRun(outputs: OutputSet, sorter: ExternalSorter, tempFolder: String, events: (RunEvent) -> Void) {
    sorter.tempDirectory.onCreate = { folder, made in outputs.noteSpillFolder(folder, made: made) }
    var reclaimed = reclaimAbandoned(outputFolders: [], tempFolder: tempFolder)
    reclaimed.bytes += outputs.reclaimed.bytes
    reclaimed.pids += outputs.reclaimed.pids
    reclaimed.refused += outputs.reclaimed.refused
    reclaimed.deletedSources += outputs.reclaimed.deletedSources
    if let notice = reclaimed.notice { events(.notice(notice)) }
    if let warning = reclaimed.warning { events(.warning(warning)) }
}

/// The files `process` reads: the walked inputs, then the `--files-from` list as given, each file
/// once (identity by device and inode, so a path given twice, a symbolic link and a hard link to
/// a file already listed are all the same file; `s3://` objects by URL: the first occurrence is
/// kept). `skipped` receives the walked files that `--src-pattern` rejected; `pruned` the date
/// folders that `--since`/`--until` left out; `duplicates` the number of files dropped for being
/// given again (and one of them), when there are any.
public func processInputFiles(
    _ options: ProcessOptions, storage: Storage? = nil, skipped: (SourceFile) -> Void = { _ in },
    pruned: (String) -> Void = { _ in }, duplicates: (Int, String) -> Void = { _, _ in }
) throws(TrailMergeError) -> [SourceFile] {
    let files = try listInputFiles(options, storage: storage, skipped: skipped, pruned: pruned)
    // One stat per file at most (walked files carry theirs): resolving every path instead cost a
    // readlink per path component, 180,000 calls on 20,000 files.
    var seenFiles = Set<FileID>()
    var seenNames = Set<String>()
    var kept: [SourceFile] = []
    kept.reserveCapacity(files.count)
    var example: String?
    for file in files {
        let id = file.fileID ?? (Storage.isS3(file.path) ? nil : (try? fileStatus(file.path))?.id)
        let first = id.map { seenFiles.insert($0).inserted } ?? seenNames.insert(absolutePath(file.path)).inserted
        if first {
            kept.append(file)
        } else if example == nil {
            example = file.path
        }
    }
    if let example { duplicates(files.count - kept.count, example) }
    return kept
}

/// The warning for `count` input files dropped for naming a file already listed.
public func duplicateInputWarning(count: Int, example: String) -> String {
    "\(plural(count, "input file")) given more than once dropped (each file is read once; e.g. \(example))"
}

private func listInputFiles(
    _ options: ProcessOptions, storage: Storage?, skipped: (SourceFile) -> Void, pruned: (String) -> Void
) throws(TrailMergeError) -> [SourceFile] {
    let storage = storage ?? Storage(s3: options.s3)
    let walker = SourceWalker(
        pattern: options.sourcePattern, timeRange: options.timeRange.isBounded ? options.timeRange : nil, storage: storage)
    var files = try walker.walk(options.inputs, skipped: skipped, pruned: pruned)
    for path in options.explicitFiles {
        var size = 0
        switch try storage.entry(path) {
        case .folder: throw .unreadable(path: path, reason: "is a folder; --files-from lists files, one a line (no walking)")
        case .file(let bytes): size = bytes
        case .other: break
        }
        files.append(SourceFile(path: path, relativePath: baseName(path), root: parentDirectory(path), size: size))
    }
    return files
}

/// `OUT-00000.EXT` for range `index` of `--split-points` (the number goes before `.tsv`, `.csv.gz`, …).
public func splitOutputName(_ output: String, _ index: Int) -> String {
    let number = String(index)
    let padded = String(repeating: "0", count: max(0, 5 - number.count)) + number
    var stem = output
    var suffix = ""
    for candidate in [".gz", ".tsv", ".csv", ".jsonl", ".parquet"] {
        while stem.hasSuffix(candidate) && stem.count > candidate.count && !stem.hasSuffix("/" + candidate) {
            stem.removeLast(candidate.count)
            suffix = candidate + suffix
        }
    }
    return stem + "-" + padded + suffix
}

/// Walks, reads, sorts and merges into `outputFiles` (one, or one per split range; nil is
/// stdout); commits nothing.
private func readAndMerge(
    _ options: ProcessOptions, plan: FieldPlan, selection: RecordSelection, layout: RowLayout, sorter: ExternalSorter,
    outputFiles: [StagedFile?], partitions: (outputs: OutputSet, columns: [Int])?, storage: Storage, prefetchBudget: Int,
    started: ContinuousClock.Instant, events: @escaping @Sendable (RunEvent) -> Void
) throws(TrailMergeError) -> RunStats {
    let progress = options.reportProgress ? ProgressCounters() : nil
    let ticker = progress.map { ProgressTicker(counters: $0, emit: events) }
    defer { ticker?.stop() }
    var skippedByPattern: [SourceFile] = []
    var prunedFolders = 0
    var duplicateWarnings = 0
    let files = try processInputFiles(
        options, storage: storage, skipped: { skippedByPattern.append($0) }, pruned: { _ in prunedFolders += 1 }
    ) { count, example in
        duplicateWarnings += 1
        events(.warning(duplicateInputWarning(count: count, example: example)))
    }
    if files.isEmpty && !options.allowEmpty {
        throw .noInput(noInputMessage(
            inputs: options.inputs, skipped: skippedByPattern, pattern: options.sourcePattern, prunedFolders: prunedFolders))
    }
    progress?.filesTotal.store(files.count, ordering: .relaxed)
    progress?.inputBytesTotal.store(files.reduce(0) { $0 + $1.size }, ordering: .relaxed)
    progress?.set(.reading)
    // S3 objects are fetched ahead of the workers, in their order, within their share of the budget.
    try storage.startPrefetch(files, budget: prefetchBudget)
    defer { storage.stopPrefetch() }
    // Large multi-member gzip files are read in segments, in parallel (`FileSplitter`); if a cut
    // proves wrong, everything read so far is dropped and every file is read whole instead.
    var readList = options.threads > 1 ? FileSplitter.split(files, policy: options.splitPolicy) : files
    var workers: [ProcessWorker] = []
    while true {
        let chunks = planChunks(readList, targetBytes: options.chunkSize)
        let threads = max(1, min(options.threads, max(1, chunks.count)))
        // Workers: each thread owns one worker and takes the next chunk until none remain or one fails.
        workers = (0..<threads).map { _ in
            ProcessWorker(
                plan: plan, recordsPath: options.recordsPath, layout: layout,
                budget: options.memoryBudget / threads, sorter: sorter, skipBadFiles: options.skipBadFiles,
                window: options.readWindow, progress: progress, storage: storage, filter: selection.filter(plan))
        }
        let box = UncheckedBox(workers)
        let list = readList
        do throws(TrailMergeError) {
            try parallelForEach(count: chunks.count, threads: threads) { (chunk, thread, status) throws(TrailMergeError) in
                let worker = box.value[thread]
                for index in chunks[chunk].files {
                    if status.isCancelled { return }
                    try worker.process(list[index], index: index)
                }
            } finishThread: { thread in
                box.value[thread].finish()
            }
            break
        } catch {
            guard readList.count != files.count, workers.contains(where: \.segmentFailed) else { throw error }
            for worker in workers { for run in worker.runs { removeFile(run) } }
            progress?.restart()
            readList = files
        }
    }

    var stats = RunStats()
    stats.readSeconds = secondsSince(started)
    stats.prunedFolders = prunedFolders
    var warnings: [(file: Int, message: String)] = []
    var skipped: [(file: Int, message: String)] = []
    for worker in workers {
        let s = worker.stats
        stats.files += s.files
        stats.inputBytes += s.inputBytes
        stats.jsonBytes += s.jsonBytes
        stats.records += s.records
        stats.rows += s.rows
        stats.spilledRuns += s.spilledRuns
        warnings += worker.warnings
        skipped += worker.skipped
    }
    for warning in warnings.sorted(by: { $0.file < $1.file }) { events(.warning(warning.message)) }
    skipped.sort { $0.file < $1.file }
    for skip in skipped { events(.warning("skipped \(skip.message)")) }
    stats.skippedFiles = skipped.map { readList[$0.file].path }
    stats.splitFiles = Set(readList.lazy.filter { $0.segment != nil }.map(\.path)).count
    stats.segments = readList.lazy.filter { $0.segment != nil }.count
    let pathWarnings = unmatchedPathWarnings(
        options, workers: workers, files: files, readList: readList, records: stats.records, hidden: selection.fieldIndices(plan))
    for warning in pathWarnings { events(.warning(warning)) }
    // Records no time range can hold are left out, as documented, but never silently.
    let untimed = workers.reduce(0) { $0 + $1.untimedRecords }
    var untimedWarnings = 0
    if untimed > 0, let first = workers.compactMap(\.firstUntimed).min(by: { $0.file < $1.file }) {
        events(.warning(
            "\(plural(untimed, "record")) without a usable eventTime (missing, null or not an ISO-8601 UTC time) "
                + "\(untimed == 1 ? "was" : "were") left out by --since/--until (the first in \(first.path))"))
        untimedWarnings = 1
    }
    stats.warnings = warnings.count + pathWarnings.count + duplicateWarnings + untimedWarnings
    if options.strict && !pathWarnings.isEmpty {
        throw .strict("--strict: \(plural(pathWarnings.count, "path")) matched nothing (the first: \(pathWarnings[0])); no output written")
    }

    // Merge and write (the sorter reports each merge pass).
    var merged = 0
    var rowOutputs: [any RowSink] = []
    let makeSink = { (writer: BufferedWriter, share: Int) throws(TrailMergeError) -> any RowSink in
        if options.format == .parquet {
            return try ParquetRowOutput(
                writer: writer, layout: layout, names: options.fields.map(\.text), options: options.parquet,
                memoryBudget: options.memoryBudget / share, threads: options.threads, events: events)
        }
        return RowOutput(
            writer: writer, format: options.format, layout: layout, names: options.fields.map(\.text),
            header: options.header, compression: options.compression, level: options.compressionLevel,
            threads: options.threads)
    }
    var partitioned: PartitionedOutput?
    if let partitions {
        let router = PartitionedOutput(
            folder: options.output, fileName: partitionFileName(options), specs: options.partitionBy,
            columns: partitions.columns, layout: layout, outputs: partitions.outputs
        ) { (writer) throws(TrailMergeError) in try makeSink(writer, PartitionedOutput.budgetShares) }
        partitioned = router
        rowOutputs.append(router)
    }
    for file in outputFiles {
        rowOutputs.append(try makeSink(file?.writer ?? BufferedWriter(descriptor: 1, name: "<stdout>"), outputFiles.count))
    }
    // Rows arrive sorted, so the range only ever moves up: one comparison per row.
    let bounds = (options.splitPoints ?? []).map(encodedSplitPoint)
    var range = 0
    var rowOutput = rowOutputs[0]
    var arenas = workers.map(\.arena)
    var runs = workers.flatMap(\.runs)
    var deduper: Deduper?
    if layout.dedupeField != nil {
        // The key index gets what the final arenas leave of the budget; when that is under a
        // quarter, the arenas are spilled first so the index has the whole budget.
        var indexBudget = options.memoryBudget - arenas.reduce(0) { $0 + $1.usedBytes }
        if indexBudget < options.memoryBudget / 4 {
            for arena in arenas where arena.count > 0 {
                runs.append(try sorter.spill(arena))
                stats.spilledRuns += 1
                arena.releaseMemory()
            }
            arenas = []
            indexBudget = options.memoryBudget
        }
        deduper = Deduper(layout: layout, sorter: sorter, budget: indexBudget)
    }
    let narrowed = try sorter.narrow(
        runs.map { .file($0) }, sorted: layout.sorted, extraRows: arenas.reduce(0) { $0 + $1.count }, progress: progress)
    stats.mergePasses = narrowed.passes + 1
    if let deduper {
        try sorter.finalPass(arenas: arenas, sources: narrowed.sources, sorted: layout.sorted) { (row, length) throws(TrailMergeError) in
            try deduper.note(row, length)
        }
        try deduper.resolve()
    }
    try sorter.finalPass(arenas: arenas, sources: narrowed.sources, sorted: layout.sorted) { (row, length) throws(TrailMergeError) in
        var length = length
        if let deduper {
            guard let visible = deduper.visibleLength(row, length) else { return }
            length = visible
        }
        while range < bounds.count && !encodedRow(row, length, precedes: bounds[range]) {
            range += 1
            rowOutput = rowOutputs[range]
        }
        try rowOutput.write(row, length)
        merged &+= 1
        if merged & 0xFFFF == 0 { progress?.rowsWritten.store(merged, ordering: .relaxed) }
    }
    progress?.set(.writing)
    if let deduper {
        stats.duplicates = deduper.duplicates
        stats.rows -= deduper.droppedRows
    }
    for output in rowOutputs {
        try output.finish()
        stats.outputBytes += output.bytesWritten
        stats.warnings += output.warnings
    }
    stats.outputFiles = partitioned?.partitions ?? rowOutputs.count
    return stats
}

/// The column of each `--partition-by` field; a usage error when one is not among the --fields.
func partitionColumnIndices(_ options: ProcessOptions) throws(TrailMergeError) -> [Int] {
    guard !options.partitionBy.isEmpty else { return [] }
    guard options.output != "-" else { throw .usage("process: --partition-by writes a folder of partitions; give it with -o FOLDER") }
    guard options.splitPoints == nil else { throw .usage("process: --partition-by and --split-points cannot be combined") }
    let names = options.fields.map(\.text)
    var columns: [Int] = []
    for spec in options.partitionBy {
        guard let column = names.firstIndex(of: spec.field) else {
            var message = "process: --partition-by \(spec.name)=\(spec.field): '\(spec.field)' is not one of the --fields (partition values come from the output columns)"
            if let suggestion = closest(spec.field, in: names) { message += "; did you mean '\(suggestion)'?" }
            throw .usage(message)
        }
        columns.append(column)
    }
    let names2 = options.partitionBy.map(\.name)
    if let repeated = names2.first(where: { name in names2.filter { $0 == name }.count > 1 }) {
        throw .usage("process: --partition-by names '\(repeated)' twice")
    }
    return columns
}

/// `part-00000.EXT`: `.parquet`, or `.tsv`/`.csv`/`.jsonl` with `.gz` when compressed.
func partitionFileName(_ options: ProcessOptions) -> String {
    if options.format == .parquet { return "part-00000.parquet" }
    return "part-00000." + options.format.rawValue + (options.compression == .gzip ? ".gz" : "")
}

/// The partition folder must be new (in an existing folder) or empty (hidden entries aside), so no
/// partition of an earlier run is mixed with this one's.
func checkPartitionFolder(_ folder: String) throws(TrailMergeError) {
    guard let status = try? fileStatus(folder) else {
        try OutputSet.checkFolder(folder, role: "--partition-by output folder")
        return
    }
    guard status.kind == .directory else {
        throw .writeFailed(path: folder, reason: "with --partition-by the output is a folder, and this is a file")
    }
    let visible = try listDirectory(folder).filter { !$0.hasPrefix(".") }
    guard visible.isEmpty else {
        throw .writeFailed(path: folder, reason: "the partition folder is not empty (it holds \(visible.first!)); remove it or give a new folder")
    }
    try OutputSet.checkFolder(folder, role: "--partition-by output folder")
}

/// A split point as the encoded first column it bounds: the value with the row encoding's
/// escapes, then its terminator. A row whose first value equals the point compares above it.
func encodedSplitPoint(_ value: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    for c in value {
        if c == 0 { out += [1, 1] } else if c == 1 { out += [1, 2] } else { out.append(c) }
    }
    out.append(0)
    return out
}

/// True when the encoded row sorts before the encoded split point.
@inline(__always)
func encodedRow(_ row: UnsafePointer<UInt8>, _ length: Int, precedes bound: [UInt8]) -> Bool {
    bound.withUnsafeBufferPointer { b in
        let common = min(length, b.count)
        let r = memcmp(row, b.baseAddress!, common)
        return r < 0 || (r == 0 && length < b.count)
    }
}

/// The message for a run in which no file matched: what was seen and what skipped it.
public func noInputMessage(inputs: [String], skipped: [SourceFile], pattern: SourcePattern?, prunedFolders: Int = 0, group: Bool = false) -> String {
    let places = inputs.isEmpty ? "the --files-from list" : inputs.count == 1 ? inputs[0] : "the \(inputs.count) inputs"
    if skipped.isEmpty && prunedFolders > 0 {
        return "no input files: all \(plural(prunedFolders, "day or month folder")) under \(places) are outside --since/--until "
            + "(with --max-delivery-delay); widen the range or use --allow-empty to write an empty output anyway"
    }
    guard let example = skipped.first else {
        return "no input files: \(places) \(inputs.count > 1 ? "hold" : "holds") no files "
            + (group ? "(use --allow-empty to exit 0 anyway)" : "(use --allow-empty to write an empty output anyway)")
    }
    return "no input files: \(plural(skipped.count, "file")) seen under \(places), all skipped by --src-pattern "
        + "'\(pattern?.text ?? "")' (e.g. \(example.path)); widen --src-pattern or use --allow-empty"
}

/// Warnings for `--fields` and `--records` paths that matched nothing in the whole run, with
/// suggestions from the keys the records really have.
private func unmatchedPathWarnings(
    _ options: ProcessOptions, workers: [ProcessWorker], files: [SourceFile], readList: [SourceFile], records: Int,
    hidden: (filters: [Int], dedupe: Int?)
) -> [String] {
    var warnings: [String] = []
    var sample: KeySample?
    func keys() -> KeySample {
        if let sample { return sample }
        let made = KeySample(files: files, recordsPath: options.recordsPath)
        sample = made
        return made
    }
    let withoutRecords = workers.reduce(0) { $0 + $1.documentsWithoutRecords }
    if withoutRecords > 0 {
        let eventLike = workers.reduce(0) { $0 + $1.eventLikeDocuments }
        var first: (file: Int, place: String)?
        if let earliest = workers.compactMap(\.firstDocumentWithoutRecords).min(by: { $0.file < $1.file }) {
            // In a segment, the offset counts from the segment's start: add the segments before it.
            var byte = earliest.byte
            let ordinal = readList[earliest.file].segment?.ordinal ?? 0
            for index in (earliest.file - ordinal)..<earliest.file {
                byte += workers.lazy.compactMap { $0.segmentJSONBytes[index] }.first ?? 0
            }
            first = (earliest.file, "\(earliest.path): byte \(byte)")
        }
        var text = "\(plural(withoutRecords, "document")) without a '\(options.recordsPath)' array gave no records"
        if let first { text += " (the first: \(first.place))" }
        if let suggestion = keys().arraySuggestion(for: options.recordsPath) { text += "; did you mean --records '\(suggestion)'?" }
        if eventLike > 0 {
            text += "; \(eventLike) of them look like events themselves (eventTime or eventName at the top level): "
                + "for one event per document (NDJSON) use --records ."
        }
        warnings.append(text)
    }
    let holding = workers.reduce(0) { $0 + $1.recordsHoldingRecordsArray }
    if options.recordsPath == "." && holding > 0 {
        warnings.append(
            "--records .: \(holding) of \(plural(records, "record")) \(holding == 1 ? "holds" : "hold") a top-level 'Records' array, so they look like "
                + "CloudTrail documents rather than events; drop --records . to read the events inside (the default is --records Records)")
    }
    guard records > 0 else { return warnings }
    for (index, field) in options.fields.enumerated() where !workers.contains(where: { $0.scanner.values.wasSeen(index) }) {
        var text = "--fields '\(field.text)' was absent from all \(plural(records, "record")); its column is empty"
        if let suggestion = keys().suggestion(for: field.text) { text += "; did you mean '\(suggestion)'?" }
        warnings.append(text)
    }
    // --where and --dedupe paths that no record had: a typo there would silently drop or keep everything.
    func seen(_ index: Int) -> Bool { workers.contains { $0.scanner.values.wasSeen(index) } }
    for (clause, index) in zip(options.filters, hidden.filters) where !seen(index) {
        var text = "--where '\(clause.text)': '\(clause.path.text)' was absent from all \(plural(records, "record"))"
        if let suggestion = keys().suggestion(for: clause.path.text) { text += "; did you mean '\(suggestion)'?" }
        warnings.append(text)
    }
    if let key = options.dedupeKey, let index = hidden.dedupe, !seen(index) {
        var text = "--dedupe '\(key.text)' was absent from all \(plural(records, "record")), so none was deduplicated"
        if let suggestion = keys().suggestion(for: key.text) { text += "; did you mean '\(suggestion)'?" }
        warnings.append(text)
    }
    return warnings
}

/// Seconds elapsed since `start`.
func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
