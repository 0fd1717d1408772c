/// `trailmerge merge`: k-way merge of files that trailmerge wrote sorted (TSV, CSV, JSON Lines;
/// gzip or plain) into one output, byte-identical to `process` over the union of their inputs.
/// In: `ProcessOptions` (inputs are the sorted files). Out: the output (and `--stats`), committed
/// together. Invariants: every input is verified while it is read (order, column count, header);
/// at most the fan-in's worth of inputs is open at once (extra passes through run files otherwise).

/// Runs `merge`. The options mean what they mean for `process`; each input's format comes from
/// its name (`.tsv`, `.csv`, `.jsonl`, optionally `.gz`), else from `options.format`.
public func runMerge(
    _ options: ProcessOptions, cleanup: Cleanup = Cleanup(),
    events: @escaping @Sendable (RunEvent) -> Void = { _ in }
) throws(TrailMergeError) -> RunStats {
    let started = ContinuousClock.now
    guard !options.inputs.isEmpty else { throw .usage("merge: no INPUT given") }
    if options.header && options.format == .jsonl {
        throw .usage("merge: --header applies to tsv and csv output; JSON Lines rows carry their keys")
    }
    if options.format == .parquet {
        throw .usage("merge: writes tsv, csv or jsonl; merge text parts, then convert with process if Parquet is needed")
    }
    let layout = RowLayout(
        fieldCount: options.fields.count, sortColumns: options.sortColumns,
        arrayColumns: options.fields.map { _ in false })
    let names = options.fields.map(\.text)
    let storage = Storage(s3: options.s3)
    let outputs = OutputSet(cleanup: cleanup, faults: options.faults, storage: storage)
    let sorter = ExternalSorter(tempParent: options.tempDirectory, memoryBudget: options.memoryBudget, cleanup: cleanup)
    defer { sorter.removeTemporaries() }
    do throws(TrailMergeError) {
        try TempDirectory.check(options.tempDirectory)
        let outputFile = options.output == "-" ? nil : try outputs.stage(options.output, role: "output")
        let statsFile = try options.statsPath.map { (path) throws(TrailMergeError) in try outputs.stage(path, role: "--stats") }
        startRun(outputs: outputs, sorter: sorter, tempFolder: options.tempDirectory, events: events)
        let free = ExternalSorter.freeDescriptors()
        guard free >= 4 else { throw .writeFailed(path: options.tempDirectory, reason: lowDescriptorLimitReason(free: free)) }
        var sources: [SortedRunSource] = []
        var stats = RunStats()
        for path in options.inputs {
            var size = 0
            switch try storage.entry(path) {
            case .folder: throw .unreadable(path: path, reason: "is a folder; merge takes the sorted files themselves")
            case .file(let bytes): size = bytes
            case .other: break
            }
            stats.files += 1
            stats.inputBytes += size
            let format = OutputFormat.inferred(from: path) ?? options.format
            sources.append(.text(TextRunInput(
                path: path, format: format, names: names, header: options.header, layout: layout, storage: storage)))
        }
        let progress = options.reportProgress ? ProgressCounters() : nil
        let ticker = progress.map { ProgressTicker(counters: $0, emit: events) }
        defer { ticker?.stop() }
        let rowOutput = RowOutput(
            writer: outputFile?.writer ?? BufferedWriter(descriptor: 1, name: "<stdout>"), format: options.format,
            layout: layout, names: names, header: options.header,
            compression: options.compression, level: options.compressionLevel, threads: options.threads)
        var rows = 0
        stats.mergePasses = try sorter.merge(arenas: [], sources: sources, sorted: layout.sorted, progress: progress) {
            (row, length) throws(TrailMergeError) in
            try rowOutput.write(row, length)
            rows &+= 1
            if rows & 0xFFFF == 0 { progress?.rowsWritten.store(rows, ordering: .relaxed) }
        }
        progress?.set(.writing)
        try rowOutput.finish()
        stats.rows = rows
        stats.outputBytes = rowOutput.bytesWritten
        stats.outputFiles = 1
        try finishRun(&stats, command: .merge, started: started, statsFile: statsFile, outputs: outputs)
        return stats
    } catch {
        outputs.abandon()
        throw error
    }
}

extension OutputFormat {
    /// The format a file name says (`x.tsv`, `x.csv.gz`, …), if any.
    public static func inferred(from path: String) -> OutputFormat? {
        var name = path
        if name.hasSuffix(".gz") { name.removeLast(3) }
        return allCases.first { name.hasSuffix("." + $0.rawValue) }
    }
}
