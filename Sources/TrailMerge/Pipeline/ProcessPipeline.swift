/// `trailmerge process`: walk → chunk → parallel workers (inflate, scan, flatten, sort, spill) →
/// k-way merge → format → (parallel) compress → atomic rename. In: `ProcessOptions`. Out: the
/// output file and `RunStats`. Invariant: on any failure or signal the output does not appear and
/// every temporary file is removed.
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

/// Runs `process`. Warnings and progress go to `events`; nothing is printed.
public func runProcess(_ options: ProcessOptions, events: @escaping @Sendable (RunEvent) -> Void = { _ in }) throws(TrailMergeError) -> RunStats {
    let started = ContinuousClock.now
    guard !options.fields.isEmpty else { throw .usage("process: --fields needs at least one path") }
    if let columns = options.sortColumns, let bad = columns.first(where: { !options.fields.indices.contains($0) }) {
        throw .usage("process: sort column \(bad) is not one of the \(options.fields.count) fields")
    }
    let plan = try FieldPlan(fields: options.fields)
    let layout = RowLayout(
        fieldCount: options.fields.count, sortColumns: options.sortColumns,
        arrayColumns: options.fields.map(\.hasArray), nullsDistinct: options.format == .parquet)
    let progress = options.reportProgress ? ProgressCounters() : nil
    let ticker = progress.map { ProgressTicker(counters: $0, emit: events) }
    defer { ticker?.stop() }
    let files = try SourceWalker(pattern: options.sourcePattern).walk(options.inputs)
    progress?.filesTotal.store(files.count, ordering: .relaxed)
    progress?.bytesTotal.store(files.reduce(0) { $0 + $1.size }, ordering: .relaxed)
    progress?.set(.reading)
    let chunks = planChunks(files, targetBytes: options.chunkSize)
    let threads = max(1, min(options.threads, max(1, chunks.count)))
    let sorter = ExternalSorter(tempParent: options.tempDirectory, memoryBudget: options.memoryBudget)
    defer { sorter.removeTemporaries() }

    // Workers: each takes the next chunk until none remain or one of them fails.
    let nextChunk = Atomic<Int>(0)
    let failed = Atomic<Bool>(false)
    let firstError = Locked<(file: Int, error: TrailMergeError)?>(nil)
    let workers = (0..<threads).map { _ in
        ProcessWorker(
            plan: plan, recordsPath: options.recordsPath, layout: layout,
            budget: options.memoryBudget / threads, sorter: sorter, skipBadFiles: options.skipBadFiles,
            window: options.readWindow, progress: progress)
    }
    let box = UncheckedBox(workers)
    DispatchQueue.concurrentPerform(iterations: threads) { w in
        let worker = box.value[w]
        while !failed.load(ordering: .relaxed) {
            let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            guard c < chunks.count else { break }
            for index in chunks[c].files {
                if failed.load(ordering: .relaxed) { break }
                do throws(TrailMergeError) {
                    try worker.process(files[index], index: index)
                } catch {
                    firstError.withLock { current in
                        if current == nil || index < current!.file { current = (index, error) }
                    }
                    failed.store(true, ordering: .relaxed)
                    break
                }
            }
        }
        worker.finish()
    }
    if let failure = firstError.withLock({ $0 }) { throw failure.error }

    var stats = RunStats()
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
    stats.warnings = warnings.count
    for skip in skipped.sorted(by: { $0.file < $1.file }) { events(.warning("skipped \(skip.message)")) }
    stats.skippedFiles = skipped.sorted(by: { $0.file < $1.file }).map { files[$0.file].path }

    // Merge and write.
    progress?.set(.merging)
    progress?.rows.store(0, ordering: .relaxed)
    var merged = 0
    let output = try OutputTarget(path: options.output)
    do {
        let rowOutput: any RowSink = options.format == .parquet
            ? try ParquetRowOutput(
                writer: output.writer, layout: layout, names: options.fields.map(\.text), options: options.parquet,
                memoryBudget: options.memoryBudget, threads: options.threads, events: events)
            : RowOutput(
            writer: output.writer, format: options.format, layout: layout, names: options.fields.map(\.text),
            header: options.header, compression: options.compression, level: options.compressionLevel,
            threads: options.threads)
        stats.mergePasses = try sorter.merge(
            arenas: workers.map(\.arena), runs: workers.flatMap(\.runs), sorted: layout.sorted
        ) { (row, length) throws(TrailMergeError) in
            try rowOutput.write(row, length)
            merged &+= 1
            if merged & 0xFFFF == 0 { progress?.rows.store(merged, ordering: .relaxed) }
        }
        progress?.set(.writing)
        try rowOutput.finish()
        stats.warnings += rowOutput.warnings
        stats.outputBytes = rowOutput.bytesWritten
        try output.commit()
        stats.outputFiles = 1
    } catch {
        output.abandon()
        throw error
    }
    stats.seconds = secondsSince(started)
    return stats
}

/// Lets worker objects cross into `concurrentPerform`; each index is touched by one thread only.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The output file (atomic) or stdout.
final class OutputTarget {
    private let file: AtomicFile?
    let writer: BufferedWriter

    init(path: String) throws(TrailMergeError) {
        if path == "-" {
            file = nil
            writer = BufferedWriter(descriptor: 1, name: "<stdout>")
        } else {
            let atomic = try AtomicFile(path: path)
            file = atomic
            writer = atomic.writer
        }
    }

    func commit() throws(TrailMergeError) {
        if let file { try file.commit() } else { try writer.flush() }
    }

    func abandon() { file?.abandon() }
}

/// Seconds elapsed since `start`.
func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
