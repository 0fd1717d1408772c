/// `trailmerge group`: walk SRC → match --group-by → plan parts → write every part under a temp
/// name (keep: byte concatenation; gzip: parallel recompression; none: inflate) → rename all →
/// manifest → optional deletion of sources. In: `GroupOptions`. Out: files in DEST and `RunStats`.
/// Invariant: outputs appear only after every part was written and fsynced; a failure or signal
/// removes every temp file and deletes no source.
import Dispatch
import Synchronization

public struct GroupOptions: Sendable {
    public var source = ""
    public var destination = ""
    public var groupBy: GroupPattern?
    public var sourcePattern: SourcePattern?
    public var nameTemplate: String?
    /// Bytes of input per part; nil keeps groups whole.
    public var targetSize: Int?
    public var codec = OutputCodec.keep
    public var compressionLevel = 6
    public var outputManifest: String?
    public var previousManifest: String?
    public var deleteOnSuccess = false
    public var dryRun = false
    public var threads = ProcessOptions.defaultThreads
    public init() {}
}

public struct GroupResult: Sendable {
    public var stats = RunStats()
    public var parts: [PlannedPart] = []
    public var unmatched: [String] = []
    public var carried = 0
}

extension RunStats {
    /// The one-line summary printed after `group`.
    public func groupSummary(dryRun: Bool) -> String {
        var text = dryRun ? "dry run: would write " : ""
        text += "\(files) files (\(formatDecimal(Double(inputBytes) / 1e6, places: 1)) MB) → "
        text += "\(outputFiles) file\(outputFiles == 1 ? "" : "s")"
        if !dryRun { text += " (\(formatDecimal(Double(outputBytes) / 1e6, places: 1)) MB)" }
        if unmatchedFiles > 0 {
            text += ", \(unmatchedFiles) file\(unmatchedFiles == 1 ? "" : "s") did not match --group-by"
        }
        text += ", \(formatDecimal(seconds, places: 2)) s"
        return text
    }
}

/// Runs `group`. The plan, unmatched files and renamed parts are reported through `events` and the result.
public func runGroup(_ options: GroupOptions, events: @escaping @Sendable (RunEvent) -> Void = { _ in }) throws(TrailMergeError) -> GroupResult {
    let started = ContinuousClock.now
    guard let pattern = options.groupBy else { throw .usage("group: --group-by REGEX is required") }
    var source = options.source
    while source.count > 1 && source.hasSuffix("/") { source.removeLast() }
    var destination = options.destination
    while destination.count > 1 && destination.hasSuffix("/") { destination.removeLast() }
    guard (try? fileStatus(source))?.kind == .directory else {
        throw .unreadable(path: source, reason: "SRC is not a readable directory")
    }

    // Walk, then match every candidate against --group-by.
    var result = GroupResult()
    let destinationStatus = try? fileStatus(destination)
    var candidates = try SourceWalker(pattern: options.sourcePattern, matchRelative: true).walk([source])
    if let destinationStatus {
        // Never read our own outputs when DEST lies inside SRC.
        candidates = candidates.filter { file in
            var dir = parentDirectory(file.path)
            while dir.count >= source.count {
                if let s = try? fileStatus(dir), s.device == destinationStatus.device && s.inode == destinationStatus.inode { return false }
                let up = parentDirectory(dir)
                if up == dir { break }
                dir = up
            }
            return true
        }
    }
    var previous: [String: Int] = [:]
    var carried: [ManifestEntry] = []
    if let path = options.previousManifest {
        for entry in try readManifest(path) {
            previous[entry.baseName] = entry.size
            carried.append(entry)
        }
    }
    var groups: [String: [SourceFile]] = [:]
    for file in candidates {
        guard let captures = pattern.captures(in: file.relativePath) else {
            result.unmatched.append(file.relativePath)
            continue
        }
        let key = try groupKey(captures: captures, template: options.nameTemplate, path: file.path)
        guard !key.isEmpty else { throw .group("\(file.path): the group key is empty; check the --group-by captures") }
        if let size = previous[file.relativePath], size == file.size { continue }
        groups[key, default: []].append(file)
    }
    // Only carry entries whose sources still exist unchanged or are gone (S3DistCp keeps them all).
    carried = carried.filter { entry in !groups.values.contains { $0.contains { $0.relativePath == entry.baseName } } }
    result.carried = carried.count

    // Plan the parts: keys in byte order, files in path order.
    let keys = groups.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    for key in keys {
        let files = groups[key]!.sorted { Array($0.relativePath.utf8).lexicographicallyPrecedes(Array($1.relativePath.utf8)) }
        if options.codec == .keep {
            var gzipCount = 0
            for file in files where try isGzipFile(file.path) { gzipCount += 1 }
            if gzipCount != 0 && gzipCount != files.count {
                throw .group("group '\(key)' mixes gzip and plain files, which --output-codec keep cannot concatenate; "
                    + "use --output-codec gzip or none")
            }
        }
        let suffix = outputSuffix(firstFile: files[0].relativePath, codec: options.codec)
        let planned = nameParts(key: key, suffix: suffix, parts: cutIntoParts(files, target: options.targetSize)) { name in
            (try? fileStatus(destination + "/" + name)) != nil
        }
        result.parts += planned
    }
    for part in result.parts {
        if let wanted = part.renamedFrom {
            events(.warning("\(destination)/\(wanted) exists; writing \(destination)/\(part.name) instead"))
        }
    }
    result.stats.unmatchedFiles = result.unmatched.count
    result.stats.files = result.parts.reduce(0) { $0 + $1.files.count }
    result.stats.inputBytes = result.parts.reduce(0) { $0 + $1.inputBytes }
    result.stats.outputFiles = result.parts.count
    if options.dryRun {
        result.stats.seconds = secondsSince(started)
        return result
    }

    // Write every part under a temp name, in parallel; rename only when all succeeded.
    try makeDirectories(destination)
    let parts = result.parts
    var temps: [AtomicFile] = []
    for part in parts {
        let path = destination + "/" + part.name
        try makeDirectories(parentDirectory(path))
        temps.append(try AtomicFile(path: path))
    }
    let tempBox = UncheckedBox(temps)
    let next = Atomic<Int>(0)
    let failure = Locked<(index: Int, error: TrailMergeError)?>(nil)
    let written = Atomic<Int>(0)
    let threads = max(1, min(options.threads, parts.count))
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        let reader = GzipReader()
        while failure.withLock({ $0 == nil }) {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard index < parts.count else { break }
            do throws(TrailMergeError) {
                let bytes = try writePart(
                    parts[index], to: tempBox.value[index], codec: options.codec, level: options.compressionLevel,
                    threads: options.threads, reader: reader)
                written.wrappingAdd(bytes, ordering: .relaxed)
            } catch {
                failure.withLock { if $0 == nil || index < $0!.index { $0 = (index, error) } }
            }
        }
    }
    if let failed = failure.withLock({ $0 }) {
        for temp in temps { temp.abandon() }
        throw failed.error
    }
    do throws(TrailMergeError) {
        try Cleanup.shared.withSignalsDeferred { () throws(TrailMergeError) in
            for temp in temps { try temp.commit() }
        }
    } catch {
        for temp in temps { temp.abandon() }
        throw error
    }
    result.stats.outputBytes = written.load(ordering: .relaxed)

    if let manifest = options.outputManifest {
        var text = ""
        for entry in carried { text += entry.jsonLine }
        for part in parts {
            for file in part.files {
                text += ManifestEntry(path: destination + "/" + part.name, baseName: file.relativePath, srcDir: source, size: file.size).jsonLine
            }
        }
        let deflater = GzipDeflater(level: 6)
        var compressed: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { deflater.compressMember($0, appendingTo: &compressed) }
        let file = try AtomicFile(path: manifest)
        do {
            try file.writer.write(compressed)
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }
    if options.deleteOnSuccess {
        Cleanup.shared.withSignalsDeferred {
            for part in parts {
                for file in part.files { removeFile(file.path) }
            }
        }
    }
    result.stats.seconds = secondsSince(started)
    return result
}

/// True when the file starts with the gzip magic bytes.
func isGzipFile(_ path: String) throws(TrailMergeError) -> Bool {
    let file = try ReadableFile(path: path)
    var magic: (UInt8, UInt8) = (0, 0)
    let n = try withUnsafeMutableBytes(of: &magic) { (raw) throws(TrailMergeError) -> Int in
        try file.read(into: raw.baseAddress!, count: 2)
    }
    return n == 2 && magic.0 == 0x1F && magic.1 == 0x8B
}

/// Writes one part into its temp file. Returns the bytes written.
private func writePart(
    _ part: PlannedPart, to output: AtomicFile, codec: OutputCodec, level: Int, threads: Int, reader: GzipReader
) throws(TrailMergeError) -> Int {
    switch codec {
    case .keep:
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        for file in part.files {
            let input = try ReadableFile(path: file.path)
            while true {
                let n = try input.read(into: buffer, count: 1 << 20)
                if n == 0 { break }
                try output.writer.write(UnsafeRawBufferPointer(start: buffer, count: n))
            }
        }
        try output.writer.flush()
        return output.writer.bytesWritten
    case .none, .gzip:
        let sink: OutputSink = codec == .gzip
            ? ParallelGzipSink(writer: output.writer, level: level, maxInFlight: threads + 1)
            : PlainSink(writer: output.writer)
        let block = ByteBuffer(capacity: 1 << 20)
        for file in part.files {
            try reader.open(file.path)
            defer { reader.close() }
            while true {
                if block.count == block.capacity {
                    try sink.write(block)
                    block.count = 0
                }
                let n = try reader.read(into: block.base + block.count, capacity: block.capacity - block.count)
                if n == 0 { break }
                block.count += n
            }
        }
        if block.count > 0 { try sink.write(block) }
        try sink.finish()
        try output.writer.flush()
        return output.writer.bytesWritten
    }
}
