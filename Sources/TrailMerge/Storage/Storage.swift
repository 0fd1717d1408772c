/// The storage seam. Every place a run reads or writes is a local path or an `s3://` URL, and only
/// this layer tells them apart: the source store lists inputs (`list`) and opens byte streams
/// (`open`); destinations are staged by `OutputSet`, whose writers end in a `ByteSink` that commits
/// (rename, or CompleteMultipartUpload/PutObject) or abandons (unlink, or AbortMultipartUpload).
/// In: paths and URLs. Out: `SourceFile`s, `ByteSource`s and `ByteSink`s. Invariant: no stage
/// outside `Storage/` opens a POSIX path or sends an HTTP request for an input or an output.
import Foundation

/// How a run reaches S3 (the command-line options of every command).
public struct S3Options: Sendable {
    public var configuration = S3Configuration()
    /// GETs in flight while reading (`--s3-concurrency`).
    public var concurrency = 32
    /// Multipart part size (`--s3-part-size`, at least 5 MiB).
    public var partSize = 8 << 20

    public init() {}

    /// Objects above this size are read by ranged GETs in parallel, as a stream.
    static let rangedReadThreshold = 8 << 20
}

/// A stream of stored bytes, read front to back by one thread.
protocol ByteSource: AnyObject {
    /// Reads up to `count` bytes into `buffer`; 0 at the end.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TrailMergeError) -> Int
    /// The total size when known (the gzip reader sizes whole-member reads with it).
    var knownSize: Int? { get }
    func close()
}

extension ReadableFile: ByteSource {
    var knownSize: Int? {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : nil
    }
}

/// A byte range of a local file, read as if it were the whole file.
final class FileRangeSource: ByteSource {
    private let file: ReadableFile
    private var offset: Int
    private let end: Int

    /// Reads `start..<end`, or from `start` to the end of the file when `end` is nil.
    init(path: String, start: Int, end: Int?) throws(TrailMergeError) {
        file = try ReadableFile(path: path)
        offset = start
        self.end = end ?? Int.max
        knownSize = end.map { $0 - start } ?? file.knownSize.map { max(0, $0 - start) }
    }

    let knownSize: Int?

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TrailMergeError) -> Int {
        let n = try file.read(into: buffer, count: min(count, end - offset), at: offset)
        offset += n
        return n
    }

    func close() { file.close() }
}

/// An object already fetched whole.
final class MemorySource: ByteSource {
    private let data: Data
    private var offset = 0

    init(_ data: Data) { self.data = data }

    var knownSize: Int? { data.count }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TrailMergeError) -> Int {
        let n = min(count, data.count - offset)
        guard n > 0 else { return 0 }
        data.withUnsafeBytes { raw in
            // SAFETY: offset + n <= data.count, and the caller's buffer holds `count` >= n bytes.
            buffer.copyMemory(from: raw.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }

    func close() {}
}

/// A large object read by ranged GETs, several in flight, handed out in order.
final class S3StreamSource: ByteSource {
    private let reader: S3ObjectReader
    private var chunk = Data()
    private var offset = 0
    private var total = 0
    let knownSize: Int?

    init(_ reader: S3ObjectReader) {
        self.reader = reader
        knownSize = Int(reader.size)
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TrailMergeError) -> Int {
        while offset == chunk.count {
            guard let next = try reader.next() else {
                guard total == Int(reader.size) else {
                    throw .s3Transport(object: reader.url.description, reason: "read \(total) bytes, the listing said \(reader.size)")
                }
                return 0
            }
            chunk = next
            offset = 0
            total += next.count
        }
        let n = min(count, chunk.count - offset)
        chunk.withUnsafeBytes { raw in
            // SAFETY: offset + n <= chunk.count, and the caller's buffer holds `count` >= n bytes.
            buffer.copyMemory(from: raw.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }

    func close() { reader.close() }
}

/// Where written bytes go once they leave a `BufferedWriter`.
protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws(TrailMergeError)
}

/// An S3 upload as a sink: parts go up while later bytes are produced; `OutputSet` commits it.
final class S3UploadSink: ByteSink {
    let upload: S3UploadWriter

    init(_ upload: S3UploadWriter) { self.upload = upload }

    func write(_ bytes: UnsafeRawBufferPointer) throws(TrailMergeError) { try upload.write(bytes) }
}

/// The stores of one run: the local file system and, created on first use, one S3 client.
public final class Storage: Sendable {
    public let s3Options: S3Options
    private let client = Locked<S3Client?>(nil)
    private let prefetcher = Locked<ObjectPrefetcher?>(nil)

    public init(s3: S3Options = S3Options()) { self.s3Options = s3 }

    /// Local files, and S3 with the environment's settings, for the readers that take no options
    /// (merge inputs, lists).
    static let plain = Storage()

    /// Whether `path` names an S3 location.
    static func isS3(_ path: String) -> Bool { S3URL.isS3(path) }

    /// The run's S3 client (credentials and region are resolved on first use, so local-only runs
    /// never look for them).
    func s3() throws(TrailMergeError) -> S3Client {
        if let existing = client.withLock({ $0 }) { return existing }
        var configuration = s3Options.configuration
        configuration.maxConnections = max(configuration.maxConnections, s3Options.concurrency)
        let made = try S3Client(configuration)
        return client.withLock { current in
            if let current { return current }
            current = made
            return made
        }
    }

    // MARK: - Source store

    /// What an input holds: files it names directly (always read) and files found under it.
    struct Listing {
        var named: [SourceFile] = []
        var found: [SourceFile] = []
    }

    /// Lists one input: a local file, folder (walked recursively, entries in byte order, symlinked
    /// folder cycles walked once) or named pipe, or an `s3://` object or prefix.
    /// `skipFolder` is asked before each local subfolder is listed; true leaves it out.
    func list(_ input: String, skipFolder: (String) -> Bool = { _ in false }) throws(TrailMergeError) -> Listing {
        if Storage.isS3(input) {
            let listed = try listS3(input)
            return Listing(named: listed.single.map { [$0] } ?? [], found: listed.objects)
        }
        var path = input
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let status: FileStatus
        do throws(TrailMergeError) { status = try fileStatus(path) } catch {
            if input.lowercased().hasPrefix("s3:") || input.lowercased().hasPrefix("s3a:") || input.lowercased().hasPrefix("s3n:") {
                throw .usage("\(input): not a local path, and S3 locations are written s3://bucket/key")
            }
            throw error
        }
        var listing = Listing()
        switch status.kind {
        case .file:
            listing.named.append(SourceFile(
                path: path, relativePath: baseName(path), root: parentDirectory(path), size: status.size, fileID: status.id))
        case .directory:
            var visited: Set<[UInt64]> = [[status.device, status.inode]]
            try walkFolder(path, relative: "", root: path, visited: &visited, skipFolder: skipFolder, into: &listing.found)
        case .other:
            // Named pipes and devices given explicitly are read as streams (e.g. <(zcat ...)).
            listing.named.append(SourceFile(path: path, relativePath: path, root: parentDirectory(path), size: 0, fileID: status.id))
        }
        return listing
    }

    private func walkFolder(
        _ folder: String, relative: String, root: String, visited: inout Set<[UInt64]>, skipFolder: (String) -> Bool,
        into files: inout [SourceFile]
    ) throws(TrailMergeError) {
        for name in try listDirectory(folder) {
            let path = folder == "/" ? "/" + name : folder + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            let status = try fileStatus(path)
            switch status.kind {
            case .directory:
                if skipFolder(path) { continue }
                if visited.insert([status.device, status.inode]).inserted {
                    try walkFolder(path, relative: relativePath, root: root, visited: &visited, skipFolder: skipFolder, into: &files)
                }
            case .file:
                files.append(SourceFile(path: path, relativePath: relativePath, root: root, size: status.size, fileID: status.id))
            case .other:
                continue
            }
        }
    }

    /// Whether a local path exists (S3 paths: see `listS3`).
    func exists(_ path: String) -> Bool { (try? fileStatus(path)) != nil }

    /// Whether `path` is a local folder.
    func isFolder(_ path: String) -> Bool { (try? fileStatus(path))?.kind == .directory }

    /// A local path's (device, inode), to tell when two paths are one folder.
    func identity(_ path: String) -> [UInt64]? {
        (try? fileStatus(path)).map { [$0.device, $0.inode] }
    }

    /// Whether the file or object starts with the gzip magic bytes.
    func startsWithGzipMagic(_ path: String) throws(TrailMergeError) -> Bool {
        let source = try open(path)
        defer { source.close() }
        var magic: (UInt8, UInt8) = (0, 0)
        var got = 0
        while got < 2 {
            let n = try withUnsafeMutableBytes(of: &magic) { (raw) throws(TrailMergeError) -> Int in
                try source.read(into: raw.baseAddress! + got, count: 2 - got)
            }
            if n == 0 { break }
            got += n
        }
        return got == 2 && magic.0 == 0x1F && magic.1 == 0x8B
    }

    /// What an input names: one object or file, or a folder/prefix to walk.
    enum Entry {
        case file(size: Int)
        case folder
        case other
    }

    /// Lists `input` (an `s3://bucket/prefix`): an exact key is one file; otherwise every object
    /// under `prefix/`, in byte order of key, as (key relative to the prefix, size). Folder
    /// markers (keys ending in `/`) are not files.
    func listS3(_ input: String) throws(TrailMergeError) -> (root: String, single: SourceFile?, objects: [SourceFile]) {
        let url = try S3URL(parsing: input)
        let client = try s3()
        if !url.key.isEmpty && !url.key.hasSuffix("/"), let info = try client.headObject(url) {
            let name = url.key.split(separator: "/").last.map(String.init) ?? url.key
            let root = "s3://\(url.bucket)/" + String(url.key.dropLast(name.count))
            return (root, SourceFile(path: url.description, relativePath: name, root: root, size: Int(info.size)), [])
        }
        let prefix = url.key.isEmpty || url.key.hasSuffix("/") ? url.key : url.key + "/"
        var rootText = "s3://\(url.bucket)/" + prefix
        if rootText.hasSuffix("/") && prefix.count > 0 { rootText.removeLast() }
        var files: [SourceFile] = []
        try client.listObjects(bucket: url.bucket, prefix: prefix) { (page: [S3Object]) throws(TrailMergeError) in
            for object in page where !object.key.hasSuffix("/") {
                let relative = String(object.key.dropFirst(prefix.count))
                guard !relative.isEmpty else { continue }
                files.append(SourceFile(
                    path: "s3://\(url.bucket)/\(object.key)", relativePath: relative, root: rootText, size: Int(object.size)))
            }
        }
        return (rootText, nil, files)
    }

    /// What `path` is: a file with its size, a folder, something else; throws when it does not exist.
    func entry(_ path: String) throws(TrailMergeError) -> Entry {
        if Storage.isS3(path) {
            let url = try S3URL(parsing: path)
            if let info = try s3().headObject(url) { return .file(size: Int(info.size)) }
            throw .unreadable(path: path, reason: "no such object")
        }
        let status = try fileStatus(path)
        switch status.kind {
        case .file: return .file(size: status.size)
        case .directory: return .folder
        case .other: return .other
        }
    }

    /// Opens an input file, or only its segment's byte range.
    func open(_ file: SourceFile) throws(TrailMergeError) -> ByteSource {
        guard let segment = file.segment else { return try open(file.path, size: file.size) }
        // The last segment reads to the end of the file as it is now, as a whole reading would.
        return try FileRangeSource(path: file.path, start: segment.start, end: segment.isLast ? nil : segment.end)
    }

    /// Opens `path` for reading (`size` from the listing, when known).
    func open(_ path: String, size: Int? = nil) throws(TrailMergeError) -> ByteSource {
        guard Storage.isS3(path) else { return try ReadableFile(path: path) }
        if let prefetched = try prefetcher.withLock({ $0 })?.take(path) { return MemorySource(prefetched) }
        let url = try S3URL(parsing: path)
        let client = try s3()
        let objectSize: Int
        if let size { objectSize = size } else {
            guard let info = try client.headObject(url) else { throw .unreadable(path: path, reason: "no such object") }
            objectSize = Int(info.size)
        }
        if objectSize > S3Options.rangedReadThreshold {
            return S3StreamSource(S3ObjectReader(
                client: client, url: url, size: Int64(objectSize), chunkSize: S3Options.rangedReadThreshold,
                parallelism: max(2, min(8, s3Options.concurrency / 4))))
        }
        let data = try client.getObject(url)
        guard data.count == objectSize else {
            throw .s3Transport(object: path, reason: "read \(data.count) bytes, the listing said \(objectSize)")
        }
        return MemorySource(data)
    }

    /// The whole content of a small file or object (manifests, lists, split points).
    func readAll(_ path: String) throws(TrailMergeError) -> [UInt8] {
        let source = try open(path)
        defer { source.close() }
        var bytes: [UInt8] = []
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer, count: 1 << 16)
            if n == 0 { break }
            bytes += UnsafeRawBufferPointer(start: buffer, count: n)
        }
        return bytes
    }

    /// Starts fetching the small S3 objects among `files`, in order, `--s3-concurrency` at a time
    /// and at most `budget` bytes ahead of the readers; `open` then hands them out.
    func startPrefetch(_ files: [SourceFile], budget: Int) throws(TrailMergeError) {
        // Each object once: a path listed twice is fetched again when it is opened again.
        var seen = Set<String>()
        let wanted = files.filter {
            Storage.isS3($0.path) && $0.size <= S3Options.rangedReadThreshold && seen.insert($0.path).inserted
        }
        guard !wanted.isEmpty else { return }
        let fetcher = ObjectPrefetcher(
            files: wanted, client: try s3(), concurrency: s3Options.concurrency,
            budget: max(budget, S3Options.rangedReadThreshold))
        prefetcher.withLock { $0 = fetcher }
        fetcher.start()
    }

    /// Stops fetching ahead and drops what was not read.
    func stopPrefetch() {
        let fetcher = prefetcher.withLock { current -> ObjectPrefetcher? in
            defer { current = nil }
            return current
        }
        fetcher?.stop()
    }
}

/// Fetches objects in list order with a fixed number of fetcher threads, keeping at most `budget`
/// bytes fetched and not yet taken. Objects start strictly in order, so a reader waiting for one
/// never waits behind objects that no reader will take (every earlier object belongs to a chunk a
/// worker already holds).
final class ObjectPrefetcher: @unchecked Sendable {
    private let files: [SourceFile]
    private let index: [String: Int]
    private let client: S3Client
    private let concurrency: Int
    private let budget: Int
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var next = 0
    private var held = 0
    private var results: [Int: Result<Data, TrailMergeError>] = [:]
    private var taken = Set<Int>()
    private var stopped = false

    init(files: [SourceFile], client: S3Client, concurrency: Int, budget: Int) {
        self.files = files
        var index: [String: Int] = [:]
        for (i, file) in files.enumerated() where index[file.path] == nil { index[file.path] = i }
        self.index = index
        self.client = client
        self.concurrency = max(1, concurrency)
        self.budget = budget
    }

    func start() {
        for _ in 0..<min(concurrency, files.count) {
            let thread = Thread { [self] in fetchLoop() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func fetchLoop() {
        while true {
            condition.lock()
            while !stopped && next < files.count && held + files[next].size > budget && held > 0 {
                condition.wait()
            }
            guard !stopped, next < files.count else {
                condition.unlock()
                return
            }
            let item = next
            next += 1
            held += files[item].size
            condition.unlock()

            let file = files[item]
            let result: Result<Data, TrailMergeError>
            do throws(TrailMergeError) {
                let data = try client.getObject(S3URL(parsing: file.path))
                if data.count != file.size {
                    throw .s3Transport(object: file.path, reason: "read \(data.count) bytes, the listing said \(file.size)")
                }
                result = .success(data)
            } catch {
                result = .failure(error)
            }
            condition.lock()
            if stopped || taken.contains(item) {
                held -= file.size
            } else {
                results[item] = result
            }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The object's bytes, waiting for them if needed; nil when `path` is not prefetched (or was
    /// taken already: a second open reads it again).
    func take(_ path: String) throws(TrailMergeError) -> Data? {
        guard let item = index[path] else { return nil }
        condition.lock()
        defer { condition.unlock() }
        guard !taken.contains(item) else { return nil }
        while results[item] == nil && !stopped { condition.wait() }
        guard let result = results.removeValue(forKey: item) else { return nil }
        taken.insert(item)
        held -= files[item].size
        condition.broadcast()
        return try result.get()
    }

    /// Ends fetching: no new GET starts; the ones running finish on their own and are dropped
    /// (a failed run does not wait for their retries).
    func stop() {
        condition.lock()
        stopped = true
        results.removeAll()
        held = 0
        condition.broadcast()
        condition.unlock()
    }
}
