/// Range partitioning for scale-out: `trailmerge sample` picks N−1 split points of the first sort
/// column from a deterministic sample of the input, and `process --split-points` cuts its output
/// into N sorted ranges by them, so that per-range `merge`s concatenate to one sorted output.
/// In: inputs (or a list of files), N, a seed. Out: a split-points file (one value a line, with
/// TSV escapes: `\\`, `\t`, `\n`, `\r`). Invariants: the same inputs and seed give the same
/// points; points never decrease; a value equal to a point belongs to the range above it.

/// Options of `trailmerge sample`: the process options that decide rows and order, plus N.
public struct SampleOptions: Sendable {
    public var process = ProcessOptions()
    public var partitions = 2
    public var seed: UInt64 = 1
    /// At most this many files are read (chosen by a seeded shuffle).
    public var sampleFiles = 256
    public var output = ""
    public init() {}
}

/// Reads a file list (`--files-from`): one path a line, blank lines skipped; `-` is stdin.
public func readFileList(_ path: String) throws(TrailMergeError) -> [String] {
    let bytes = try readWholeFile(path == "-" ? "/dev/stdin" : path)
    return bytes.split(separator: 0x0A).map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }
        .filter { !$0.isEmpty }
}

/// Reads a split-points file: one value a line, TSV escapes undone; points must not decrease.
public func readSplitPoints(_ path: String) throws(TrailMergeError) -> [[UInt8]] {
    var points: [[UInt8]] = []
    for (index, line) in try readWholeFile(path).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().enumerated() {
        var value: [UInt8] = []
        var escaped = false
        for c in line {
            if escaped {
                switch c {
                case 0x5C: value.append(0x5C)
                case 0x74: value.append(0x09)
                case 0x6E: value.append(0x0A)
                case 0x72: value.append(0x0D)
                default: throw .invalidInput(path: path, line: index + 1, reason: "unknown escape (use \\\\, \\t, \\n, \\r)")
                }
                escaped = false
            } else if c == 0x5C {
                escaped = true
            } else {
                value.append(c)
            }
        }
        if let last = points.last, value.lexicographicallyPrecedes(last) {
            throw .invalidInput(path: path, line: index + 1, reason: "split points must not decrease")
        }
        points.append(value)
    }
    return points
}

/// The whole content of a (small) file or object.
func readWholeFile(_ path: String) throws(TrailMergeError) -> [UInt8] {
    try Storage.plain.readAll(path)
}

/// Runs `sample`: processes a seeded sample of the input files with the same fields, records
/// path and order, and writes the N−1 values of the first sort column at the N-quantiles of the
/// sampled rows. Returns the points.
public func runSample(
    _ options: SampleOptions, cleanup: Cleanup = Cleanup(), events: @escaping @Sendable (RunEvent) -> Void = { _ in }
) throws(TrailMergeError) -> [[UInt8]] {
    guard options.partitions >= 1 else { throw .usage("sample: --partitions must be at least 1") }
    guard let sortColumns = options.process.sortColumns, let first = sortColumns.first else {
        throw .usage("sample: split points need a sort order (not --sort-by none)")
    }
    let outputs = OutputSet(cleanup: cleanup, faults: options.process.faults)
    do throws(TrailMergeError) {
        let pointsFile = try outputs.stage(options.output, role: "output")
        try TempDirectory.check(options.process.tempDirectory)
        var files = try processInputFiles(options.process)
        if files.isEmpty && !options.process.allowEmpty {
            throw .noInput("sample: no input files in \(options.process.inputs.joined(separator: ", "))")
        }
        // A seeded shuffle, then the first files of it, read in their original order.
        var random = SeededRandom(seed: options.seed)
        var order = Array(files.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.below(i + 1)) }
        files = order.prefix(options.sampleFiles).sorted().map { files[$0] }

        // The sampled rows' first sort column, in order, through `process` itself.
        let temp = TempDirectory(parent: options.process.tempDirectory, cleanup: cleanup)
        defer { temp.remove() }
        var run = options.process
        run.inputs = []
        run.explicitFiles = files.map(\.path)
        run.output = try temp.newFilePath(prefix: "sample") + ".tsv"
        run.format = .tsv
        run.compression = .none
        run.header = false
        run.statsPath = nil
        run.splitPoints = nil
        run.strict = false
        run.reportProgress = false
        _ = try runProcess(run, cleanup: cleanup) { event in if case .warning = event { events(event) } }
        var values: [ArraySlice<UInt8>] = []
        for line in try readWholeFile(run.output).split(separator: 0x0A) {
            var column = 0
            var start = line.startIndex
            var end = line.endIndex
            for i in line.indices where line[i] == 0x09 {
                if column == first { end = i; break }
                column += 1
                start = i + 1
            }
            values.append(line[start..<end])
        }
        var text: [UInt8] = []
        for k in 1..<max(1, options.partitions) {
            // No sampled row: empty points (every range but the last stays empty).
            if !values.isEmpty { text += values[min(values.count - 1, k * values.count / options.partitions)] }
            text.append(0x0A)
        }
        try pointsFile.writer.write(text)
        try outputs.commit()
        return try readSplitPoints(options.output)
    } catch {
        outputs.abandon()
        throw error
    }
}
