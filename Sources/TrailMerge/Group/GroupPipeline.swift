/// `trailmerge group`: check destinations → walk SRC → match --group-by → plan parts → write every
/// part, the manifest and the stats under temp names (keep: byte concatenation; gzip: parallel
/// recompression; none: inflate) → commit all → optional deletion of sources. In: `GroupOptions`.
/// Out: files in DEST and `RunStats`. Invariants: destinations are checked before any input is
/// read; parts, manifest and stats appear together or not at all; a failure or signal removes
/// every temp file and deletes no source.
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
    /// Where to write the run's figures as JSON (committed with the outputs).
    public var statsPath: String?
    /// Exit 0 when no file matched.
    public var allowEmpty = false
    /// Emit `RunEvent.progress` about ten times a second.
    public var reportProgress = false
    /// Faults injected by tests.
    public var faults = FaultPlan()
    /// How `s3://` SRC, DEST and manifests are reached.
    public var s3 = S3Options()
    /// Tests: runs after the parts are written, before the first S3 part is published (to take a
    /// planned name from another writer).
    public var beforePublish: (@Sendable () -> Void)?
    public init() {}
}

public struct GroupResult: Sendable {
    public var stats = RunStats()
    public var parts: [PlannedPart] = []
    public var unmatched: [String] = []
    /// Entries of the previous manifest carried into the new one.
    public var carried: [ManifestEntry] = []
}

extension RunStats {
    /// The one-line summary printed after `group`.
    public func groupSummary(dryRun: Bool) -> String {
        var text = dryRun ? "dry run: would write " : ""
        if files == 0 && !dryRun { text += "nothing to do: " }
        text += "\(plural(files, "file")) (\(formatDecimal(Double(inputBytes) / 1e6, places: 1)) MB) → "
        text += plural(outputFiles, "file")
        if !dryRun { text += " (\(formatDecimal(Double(outputBytes) / 1e6, places: 1)) MB)" }
        if unmatchedFiles > 0 {
            text += ", \(plural(unmatchedFiles, "file")) did not match --group-by"
        }
        if previouslyGrouped > 0 {
            text += ", \(plural(previouslyGrouped, "file")) skipped (already in the previous manifest)"
        }
        text += ", \(formatDecimal(seconds, places: 2)) s"
        if warnings > 0 { text += ", \(plural(warnings, "warning"))" }
        return text
    }
}

/// Runs `group`. The plan, unmatched files and renamed parts are reported through `events` and the
/// result. Temporary files are registered with `cleanup`.
public func runGroup(
    _ options: GroupOptions, cleanup: Cleanup = Cleanup(),
    events report: @escaping @Sendable (RunEvent) -> Void = { _ in }
) throws(TrailMergeError) -> GroupResult {
    let started = ContinuousClock.now
    // Every warning is counted for the summary and --stats, wherever it is raised.
    let warningCount = WarningCounter()
    let events: @Sendable (RunEvent) -> Void = { event in
        if case .warning = event { warningCount.add() }
        report(event)
    }
    guard let pattern = options.groupBy else { throw .usage("group: --group-by REGEX is required") }
    var source = options.source
    while source.count > 1 && source.hasSuffix("/") { source.removeLast() }
    var destination = options.destination
    while destination.count > 1 && destination.hasSuffix("/") { destination.removeLast() }
    let storage = Storage(s3: options.s3)
    let remoteDestination = Storage.isS3(destination)
    if Storage.isS3(source) {
        _ = try S3URL(parsing: source)
    } else if !storage.isFolder(source) {
        throw .unreadable(path: source, reason: "SRC is not a readable directory")
    }

    // Destinations first: DEST (created if missing; its parent must exist), the manifest and the
    // stats file.
    if remoteDestination {
        let url = try S3URL(parsing: destination)
        // The bucket must exist and be listable (the plan lists DEST to never overwrite).
        try storage.s3().listObjects(bucket: url.bucket, prefix: url.key, pageSize: 1) { (_: [S3Object]) throws(TrailMergeError) in }
    } else {
        if storage.exists(destination), !storage.isFolder(destination) {
            throw .writeFailed(path: destination, reason: "DEST exists and is not a folder")
        }
        try OutputSet.checkFolder(destination, role: "DEST")
    }
    if let path = options.outputManifest { try OutputSet.check(path, role: "--output-manifest") }
    if let path = options.statsPath { try OutputSet.check(path, role: "--stats") }

    // What a killed run left in DEST is undone before the plan looks at which names are taken.
    let outputs = OutputSet(
        cleanup: cleanup, faults: options.faults, journalFolder: remoteDestination ? nil : destination, storage: storage,
        noOverwrite: remoteDestination)
    if !options.dryRun, !remoteDestination, storage.isFolder(destination) { outputs.reclaim(in: destination) }
    var result = try planGroup(options, pattern: pattern, source: source, destination: destination, storage: storage, events: events)
    // Nothing matched (only --allow-empty gets here; sources grouped before do not count as that):
    // said once the run is done.
    let noneMatched = !options.dryRun && result.parts.isEmpty && result.stats.previouslyGrouped == 0
    let noneMatchedNotice = RunEvent.notice("no input file matched, so no part was written (--allow-empty)")
    // Nothing to write and nothing to record: leave DEST alone (not even created).
    if options.dryRun || (result.parts.isEmpty && options.outputManifest == nil && options.statsPath == nil) {
        result.stats.seconds = secondsSince(started)
        result.stats.warnings = warningCount.count
        if noneMatched { events(noneMatchedNotice) }
        return result
    }

    var destLock: FolderLock?
    defer { destLock?.release() }
    do {
        if !remoteDestination {
            try outputs.createFolder(destination)
            // One group run at a time per DEST: a second would group the same files again.
            destLock = try FolderLock(destination)
        }
        // Every destination is staged before any part is written, so two that collide fail first.
        let statsFile = try options.statsPath.map { (path) throws(TrailMergeError) in try outputs.stage(path, role: "--stats") }
        try writeGroup(&result, options, source: source, destination: destination, outputs: outputs, storage: storage, events: events)
        if let notice = outputs.reclaimed.notice { events(.notice(notice)) }
        if let warning = outputs.reclaimed.warning { events(.warning(warning)) }
        if options.deleteOnSuccess {
            // Listed before the commit: a run killed while deleting has the deletion finished by the next.
            outputs.journalDeletions(result.parts.flatMap { $0.files.map(\.path) }.filter { !Storage.isS3($0) }, root: source)
        }
        result.stats.warnings = warningCount.count
        try finishRun(&result.stats, command: .group, started: started, statsFile: statsFile, outputs: outputs)
    } catch {
        outputs.abandon()
        throw error
    }
    if noneMatched { events(noneMatchedNotice) }
    if options.deleteOnSuccess {
        // S3 sources: DeleteObjects, 1,000 keys a call, per bucket, only now that all is committed.
        var remote: [String: [String]] = [:]
        for part in result.parts {
            for file in part.files where Storage.isS3(file.path) {
                let url = try S3URL(parsing: file.path)
                remote[url.bucket, default: []].append(url.key)
            }
        }
        defer { outputs.deletionsDone() }
        cleanup.markCommitted("the outputs were committed and are in place; the sources were not deleted"
            + (Storage.isS3(source) ? "" : " yet (the next group run into \(destination) deletes them)"))
        for (bucket, keys) in remote.sorted(by: { $0.key < $1.key }) { try storage.s3().deleteObjects(bucket: bucket, keys: keys) }
        try cleanup.withSignalsDeferred { () throws(TrailMergeError) in
            var deleted = 0
            for part in result.parts {
                for file in part.files where !Storage.isS3(file.path) {
                    removeFile(file.path)
                    deleted += 1
                    if options.faults.killAfterDeleting == deleted {
                        outputs.abandonJournalAsIfKilled()
                        throw .interrupted(signal: 9)  // SIGKILL
                    }
                }
            }
            // Folders the deletion emptied go too, up to (not including) SRC.
            removeEmptiedFolders(
                Set(result.parts.flatMap { $0.files.filter { !Storage.isS3($0.path) }.map { parentDirectory($0.path) } }), under: source)
            cleanup.markCommitted("the outputs were committed and are in place; the sources were deleted")
        }
    }
    return result
}

/// Walks SRC and plans the parts; reads nothing but the first bytes of files (under `keep`) and
/// the previous manifest.
private func planGroup(
    _ options: GroupOptions, pattern: GroupPattern, source: String, destination: String, storage: Storage,
    events: @escaping @Sendable (RunEvent) -> Void
) throws(TrailMergeError) -> GroupResult {
    var result = GroupResult()
    let remoteDestination = Storage.isS3(destination)
    let destinationIdentity = remoteDestination ? nil : storage.identity(destination)
    var skippedByPattern: [SourceFile] = []
    var candidates = try SourceWalker(pattern: options.sourcePattern, matchRelative: true, storage: storage).walk([source]) {
        skippedByPattern.append($0)
    }
    // The names DEST already holds (listed once for S3: names are never overwritten).
    var existingRemote = Set<String>()
    if remoteDestination {
        let listed = try storage.listS3(destination.hasSuffix("/") ? destination : destination + "/")
        for object in listed.objects { existingRemote.insert(object.relativePath) }
        // Never read our own outputs when DEST lies under SRC (DEST must not be SRC itself).
        let prefix = (destination.hasSuffix("/") ? destination : destination + "/")
        if (source.hasSuffix("/") ? source : source + "/") == prefix {
            throw .usage("group: DEST \(destination) is SRC itself; give a DEST prefix beside or under \(source)")
        }
        candidates = candidates.filter { !$0.path.hasPrefix(prefix) }
    }
    if let destinationIdentity {
        // DEST may lie inside SRC (its files are then never read), but not be SRC: every file
        // would be DEST's, and the run would say SRC is empty.
        if storage.identity(source) == destinationIdentity {
            throw .usage("group: DEST \(destination) is SRC itself; give a DEST folder beside or inside \(source)")
        }
        // Never read our own outputs when DEST lies inside SRC.
        candidates = candidates.filter { file in
            var dir = parentDirectory(file.path)
            while dir.count >= source.count {
                if storage.identity(dir) == destinationIdentity { return false }
                let up = parentDirectory(dir)
                if up == dir { break }
                dir = up
            }
            return true
        }
    }
    if candidates.isEmpty && !options.allowEmpty {
        throw .noInput(noInputMessage(inputs: [source], skipped: skippedByPattern, pattern: options.sourcePattern, group: true))
    }
    var previous: [String: Int] = [:]
    var previousOutputs = Set<String>()
    var carried: [ManifestEntry] = []
    if let path = options.previousManifest {
        for entry in try readManifest(path, storage: storage) {
            previous[entry.baseName] = entry.size
            previousOutputs.insert(absolutePath(entry.path))
            carried.append(entry)
        }
    }
    var groups: [String: [SourceFile]] = [:]
    var alreadyGrouped = 0
    for file in candidates {
        guard let captures = pattern.captures(in: file.relativePath) else {
            result.unmatched.append(file.relativePath)
            continue
        }
        let key = try groupKey(captures: captures, template: options.nameTemplate, path: file.path)
        guard !key.isEmpty else { throw .group("\(file.path): the group key is empty; check the --group-by captures") }
        // The name is a path relative to DEST: it must stay inside it (and its lock and checks).
        if key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw .group("\(file.path): the output name '\(key)' is not a path inside DEST (no leading '/', "
                + "no empty, '.' or '..' segments); check --name and the --group-by captures")
        }
        if let size = previous[file.relativePath], size == file.size {
            alreadyGrouped += 1
            continue
        }
        groups[key, default: []].append(file)
    }
    if groups.isEmpty && alreadyGrouped == 0 && !options.allowEmpty, let example = result.unmatched.first {
        throw .noInput(
            "no file matched --group-by: \(plural(candidates.count, "file")) seen under \(source), none matched "
                + "'\(pattern.text)' as a whole path relative to SRC (e.g. \(example)); check the regex and SRC")
    }
    // Carry only the entries whose sources are not grouped again in this run.
    var regrouped = Set<String>()
    for files in groups.values { for file in files { regrouped.insert(file.relativePath) } }
    carried = carried.filter { !regrouped.contains($0.baseName) }
    result.carried = carried
    result.stats.previouslyGrouped = alreadyGrouped

    // Plan the parts: keys in byte order, files in path order.
    let keys = groups.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    for key in keys {
        let files = groups[key]!.sorted { Array($0.relativePath.utf8).lexicographicallyPrecedes(Array($1.relativePath.utf8)) }
        // (S3 sources are checked while they are copied: a ranged GET per object only to look
        // at two bytes would double the requests.)
        if options.codec == .keep && !Storage.isS3(source) {
            var gzipCount = 0
            for file in files where try storage.startsWithGzipMagic(file.path) { gzipCount += 1 }
            if gzipCount != 0 && gzipCount != files.count {
                throw .group("group '\(key)' mixes gzip and plain files, which --output-codec keep cannot concatenate; "
                    + "use --output-codec gzip or none")
            }
        }
        let suffix = outputSuffix(firstFile: files[0].relativePath, codec: options.codec)
        let planned = nameParts(key: key, suffix: suffix, parts: cutIntoParts(files, target: options.targetSize)) { name in
            remoteDestination ? existingRemote.contains(name) : storage.exists(destination + "/" + name)
        }
        result.parts += planned
    }
    for part in result.parts {
        // A name taken by an output of the previous manifest is the incremental workflow at work
        // (late files of a day already grouped): the next part number is expected, not a warning.
        if let wanted = part.renamedFrom, !previousOutputs.contains(absolutePath(destination + "/" + wanted)) {
            events(.warning("\(destination)/\(wanted) exists; writing \(destination)/\(part.name) instead"))
        }
    }
    result.stats.unmatchedFiles = result.unmatched.count
    result.stats.files = result.parts.reduce(0) { $0 + $1.files.count }
    result.stats.inputBytes = result.parts.reduce(0) { $0 + $1.inputBytes }
    result.stats.outputFiles = result.parts.count
    return result
}

/// Writes every part (in parallel) and the manifest into `outputs`; commits nothing.
private func writeGroup(
    _ result: inout GroupResult, _ options: GroupOptions, source: String, destination: String, outputs: OutputSet,
    storage: Storage, events: @escaping @Sendable (RunEvent) -> Void
) throws(TrailMergeError) {
    var parts = result.parts
    let manifestFile = try options.outputManifest.map { (path) throws(TrailMergeError) in
        try outputs.stage(path, role: "--output-manifest")
    }
    var temps: [StagedFile] = []
    for part in parts {
        temps.append(try outputs.stage(destination + "/" + part.name, role: "output", createFolders: true))
    }
    let progress = options.reportProgress ? ProgressCounters() : nil
    let ticker = progress.map { ProgressTicker(counters: $0, emit: events) }
    defer { ticker?.stop() }
    progress?.filesTotal.store(result.stats.files, ordering: .relaxed)
    progress?.inputBytesTotal.store(result.stats.inputBytes, ordering: .relaxed)
    progress?.set(.writing)

    let box = UncheckedBox((temps, (0..<max(1, min(options.threads, parts.count))).map { _ in GzipReader() }))
    let written = Atomic<Int>(0)
    try storage.startPrefetch(parts.flatMap(\.files), budget: 128 << 20)
    defer { storage.stopPrefetch() }
    try parallelForEach(count: parts.count, threads: options.threads) { (index, thread, _) throws(TrailMergeError) in
        let bytes = try writePart(
            parts[index], to: box.value.0[index], codec: options.codec, level: options.compressionLevel,
            threads: options.threads, reader: box.value.1[thread], storage: storage, progress: progress)
        written.wrappingAdd(bytes, ordering: .relaxed)
    }
    result.stats.outputBytes = written.load(ordering: .relaxed)

    // S3 parts appear now, each with If-None-Match: a name another writer took since the listing
    // (412) moves that part to the next free number, written again, as a local run would do.
    if Storage.isS3(destination) {
        options.beforePublish?()
        var taken = Set(parts.map(\.name))
        for index in parts.indices {
            while true {
                do throws(TrailMergeError) {
                    try outputs.publish(temps[index])
                    break
                } catch {
                    guard case .s3(_, 412, _, _) = error else { throw error }
                    outputs.discard(temps[index])
                    let part = parts[index]
                    let suffix = outputSuffix(firstFile: part.files[0].relativePath, codec: options.codec)
                    var number = 1
                    while taken.contains("\(part.key)-\(number)\(suffix)") { number += 1 }
                    let name = "\(part.key)-\(number)\(suffix)"
                    taken.insert(name)
                    events(.warning("\(destination)/\(part.name) appeared while this run was writing; writing \(destination)/\(name) instead"))
                    parts[index].name = name
                    temps[index] = try outputs.stage(destination + "/" + name, role: "output")
                    let bytes = try writePart(
                        parts[index], to: temps[index], codec: options.codec, level: options.compressionLevel,
                        threads: options.threads, reader: GzipReader(), storage: storage, progress: nil)
                    result.stats.outputBytes += bytes
                }
            }
        }
        result.parts = parts
    }

    if let manifestFile {
        var text = ""
        for entry in result.carried { text += entry.jsonLine }
        for part in parts {
            for file in part.files {
                text += ManifestEntry(
                    path: absolutePath(destination + "/" + part.name), baseName: file.relativePath, srcDir: absolutePath(source),
                    size: file.size
                ).jsonLine
            }
        }
        let deflater = GzipDeflater(level: 6)
        var compressed: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { deflater.compressMember($0, appendingTo: &compressed) }
        try manifestFile.writer.write(compressed)
    }
}

/// Writes one part into its temp file. Returns the bytes written. Progress advances as each
/// source file is copied in, not when the part is complete, so one large group does not hold the
/// line at 0 files; parts written in parallel share the counters (relaxed atomics).
func writePart(
    _ part: PlannedPart, to output: StagedFile, codec: OutputCodec, level: Int, threads: Int, reader: GzipReader,
    storage: Storage, progress: ProgressCounters?
) throws(TrailMergeError) -> Int {
    var reported = output.writer.bytesWritten
    /// Counts `file` as done, with the bytes written since the last report.
    func copied(_ file: SourceFile) {
        guard let progress else { return }
        progress.fileDone(bytes: file.size, jsonBytes: 0, rows: 0)
        progress.bytesDone.wrappingAdd(output.writer.bytesWritten - reported, ordering: .relaxed)
        reported = output.writer.bytesWritten
    }
    // What the sink writes once the last file is in (buffered blocks, the gzip trailer).
    defer { progress?.bytesDone.wrappingAdd(output.writer.bytesWritten - reported, ordering: .relaxed) }
    switch codec {
    case .keep:
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var firstIsGzip: Bool?
        for file in part.files {
            let input = try storage.open(file.path, size: file.size)
            defer { input.close() }
            var first = true
            while true {
                let n = try input.read(into: buffer, count: 1 << 20)
                if n == 0 { break }
                if first && Storage.isS3(file.path) {
                    // Local groups were checked while planning; objects are checked here.
                    let gzip = n >= 2 && buffer.load(as: UInt8.self) == 0x1F && buffer.load(fromByteOffset: 1, as: UInt8.self) == 0x8B
                    if firstIsGzip == nil { firstIsGzip = gzip }
                    if firstIsGzip != gzip {
                        throw .group("group '\(part.key)' mixes gzip and plain files, which --output-codec keep cannot concatenate; "
                            + "use --output-codec gzip or none")
                    }
                }
                first = false
                try output.writer.write(UnsafeRawBufferPointer(start: buffer, count: n))
            }
            copied(file)
        }
        try output.writer.flush()
        return output.writer.bytesWritten
    case .none, .gzip:
        let sink: OutputSink = codec == .gzip
            ? ParallelGzipSink(writer: output.writer, level: level, maxInFlight: threads + 1)
            : PlainSink(writer: output.writer)
        // Members end at source boundaries once they hold 1 MiB, so each starts a document and
        // `process` can read the part's members in parallel; only a source larger than a block
        // (4 MiB decoded) is cut inside.
        let memberTarget = 1 << 20
        let block = ByteBuffer(capacity: 4 << 20)
        for file in part.files {
            try reader.open(storage.open(file.path, size: file.size), path: file.path)
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
            if block.count >= memberTarget {
                try sink.write(block)
                block.count = 0
            }
            copied(file)
        }
        if block.count > 0 { try sink.write(block) }
        try sink.finish()
        try output.writer.flush()
        return output.writer.bytesWritten
    }
}

/// Counts the warnings of a run, from any thread.
private final class WarningCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
