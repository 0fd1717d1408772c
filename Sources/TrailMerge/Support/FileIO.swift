/// Thin POSIX file access: unbuffered reads for inputs, a buffered writer for outputs and runs,
/// and the directory listing the walker needs. Every failure becomes a `TrailMergeError` naming the path.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of an errno value, e.g. "Permission denied".
func errnoText(_ code: Int32 = errno) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text).lowercasedFirst()
}

extension String {
    fileprivate func lowercasedFirst() -> String {
        guard let first = first else { return self }
        return first.lowercased() + dropFirst()
    }
}

/// A file opened for reading by descriptor. Closes itself on deinit.
final class ReadableFile {
    let path: String
    private(set) var fd: Int32

    init(path: String) throws(TrailMergeError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: "cannot open: \(errnoText())") }
        self.fd = fd
    }

    /// Reads up to `count` bytes; returns 0 at end of file.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TrailMergeError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .unreadable(path: path, reason: "read failed: \(errnoText())")
        }
    }

    /// Reads up to `count` bytes at `offset` (pread); returns 0 at end of file.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(TrailMergeError) -> Int {
        guard count > 0 else { return 0 }
        while true {
            let n = Glibc.pread(fd, buffer, count, off_t(offset))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .unreadable(path: path, reason: "read failed: \(errnoText())")
        }
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
    }

    deinit { close() }
}

/// A buffered, append-only writer over a file descriptor, or over a `ByteSink` (an S3 upload).
final class BufferedWriter {
    let path: String
    private var fd: Int32
    private let sink: ByteSink?
    private let ownsDescriptor: Bool
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    /// Bytes handed to the kernel so far.
    private(set) var bytesWritten = 0

    /// The one place the fields are set: a descriptor or a sink, owned or not.
    private init(path: String, fd: Int32, sink: ByteSink?, ownsDescriptor: Bool, capacity: Int) {
        self.path = path
        self.fd = fd
        self.sink = sink
        self.ownsDescriptor = ownsDescriptor
        self.capacity = capacity
        self.buffer = .allocate(capacity: capacity)
    }

    /// Creates (or truncates) `path` for writing.
    convenience init(creating path: String, capacity: Int = 1 << 20, exclusive: Bool = false) throws(TrailMergeError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: "cannot create: \(errnoText())") }
        self.init(path: path, fd: fd, sink: nil, ownsDescriptor: true, capacity: capacity)
    }

    /// Opens an existing FIFO, device or socket for writing as a stream (never created, never
    /// truncated, never renamed): the output is written straight into it.
    convenience init(streamingTo path: String, capacity: Int = 1 << 20) throws(TrailMergeError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: "cannot open for writing: \(errnoText())") }
        self.init(path: path, fd: fd, sink: nil, ownsDescriptor: true, capacity: capacity)
    }

    /// Writes into `sink`; `name` names it in errors. Closing only flushes (the owner commits).
    convenience init(sink: ByteSink, name: String, capacity: Int = 1 << 20) {
        self.init(path: name, fd: -1, sink: sink, ownsDescriptor: false, capacity: capacity)
    }

    /// Wraps an already open descriptor (stdout); it is not closed.
    convenience init(descriptor: Int32, name: String, capacity: Int = 1 << 20) {
        self.init(path: name, fd: descriptor, sink: nil, ownsDescriptor: false, capacity: capacity)
    }

    deinit {
        if ownsDescriptor && fd >= 0 { _ = Glibc.close(fd) }
        buffer.deallocate()
    }

    @inline(__always)
    func write(_ bytes: UnsafeRawBufferPointer) throws(TrailMergeError) {
        if bytes.count > capacity - count {
            try flush()
            if bytes.count >= capacity {
                try writeAll(bytes.baseAddress!, bytes.count)
                return
            }
        }
        // SAFETY: count + bytes.count <= capacity after the flush above.
        (buffer + count).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    func write(_ bytes: [UInt8]) throws(TrailMergeError) {
        var error: TrailMergeError?
        bytes.withUnsafeBytes { raw in
            do throws(TrailMergeError) { try write(raw) } catch let e { error = e }
        }
        if let error { throw error }
    }

    func flush() throws(TrailMergeError) {
        if count > 0 {
            try writeAll(UnsafeRawPointer(buffer), count)
            count = 0
        }
    }

    private func writeAll(_ pointer: UnsafeRawPointer, _ length: Int) throws(TrailMergeError) {
        if let sink {
            try sink.write(UnsafeRawBufferPointer(start: pointer, count: length))
            bytesWritten += length
            return
        }
        var done = 0
        while done < length {
            let n = Glibc.write(fd, pointer + done, length - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, reason: "write failed: \(errnoText())")
            }
            done += n
        }
        bytesWritten += length
    }

    /// Flushes, fsyncs (for files) and closes.
    func close(sync: Bool) throws(TrailMergeError) {
        try flush()
        guard ownsDescriptor, fd >= 0 else { return }
        if sync && fsync(fd) != 0 && errno != EINVAL {
            let reason = errnoText()
            _ = Glibc.close(fd)
            fd = -1
            throw .writeFailed(path: path, reason: "fsync failed: \(reason)")
        }
        let result = Glibc.close(fd)
        fd = -1
        if result != 0 { throw .writeFailed(path: path, reason: "close failed: \(errnoText())") }
    }
}

/// Kind of a directory entry, following symbolic links.
enum EntryKind { case file, directory, other }

struct FileStatus {
    var kind: EntryKind
    var size: Int
    var device: UInt64
    var inode: UInt64

    var id: FileID { FileID(device: device, inode: inode) }
}

func fileStatus(_ path: String) throws(TrailMergeError) -> FileStatus {
    var st = stat()
    guard stat(path, &st) == 0 else {
        throw .unreadable(path: path, reason: "cannot stat: \(errnoText())")
    }
    let mode = st.st_mode & S_IFMT
    let kind: EntryKind = mode == S_IFREG ? .file : (mode == S_IFDIR ? .directory : .other)
    return FileStatus(kind: kind, size: Int(st.st_size), device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
}

/// The names in a directory (without "." and ".."), sorted byte-wise so walks are deterministic.
func listDirectory(_ path: String) throws(TrailMergeError) -> [String] {
    guard let dir = opendir(path) else {
        throw .unreadable(path: path, reason: "cannot read directory: \(errnoText())")
    }
    defer { closedir(dir) }
    var names: [[UInt8]] = []
    while true {
        errno = 0
        guard let entry = readdir(dir) else {
            if errno != 0 { throw .unreadable(path: path, reason: "cannot read directory: \(errnoText())") }
            break
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return Array(bytes[0..<end])
        }
        if name == [46] || name == [46, 46] { continue }
        names.append(name)
    }
    names.sort { $0.lexicographicallyPrecedes($1) }
    return names.map { String(decoding: $0, as: UTF8.self) }
}

/// Removes a file, ignoring "not found".
func removeFile(_ path: String) {
    _ = unlink(path)
}

/// Removes a directory tree that this process created (temp dirs hold only plain files). Symbolic
/// links are never followed: a link inside is unlinked, and a `path` that is a link is left alone.
func removeTree(_ path: String) {
    guard linkStatus(path)?.kind == .directory else { return }
    if let names = try? listDirectory(path) {
        for name in names {
            let child = path + "/" + name
            if linkStatus(child)?.kind == .directory { removeTree(child) } else { _ = unlink(child) }
        }
    }
    _ = rmdir(path)
}

/// What `lstat` says about an entry itself (a symbolic link is not followed).
struct LinkStatus {
    enum Kind { case file, directory, symlink, other }
    var kind: Kind
    var owner: UInt32
    var size: Int
}

/// `lstat` of `path`; nil when it does not exist (or cannot be examined).
func linkStatus(_ path: String) -> LinkStatus? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    let mode = st.st_mode & S_IFMT
    let kind: LinkStatus.Kind = mode == S_IFREG ? .file : mode == S_IFDIR ? .directory : mode == S_IFLNK ? .symlink : .other
    return LinkStatus(kind: kind, owner: st.st_uid, size: Int(st.st_size))
}

/// Creates a directory and its parents (like `mkdir -p`).
func makeDirectories(_ path: String) throws(TrailMergeError) {
    if path.isEmpty { return }
    if let status = try? fileStatus(path) {
        if status.kind == .directory { return }
        throw .writeFailed(path: path, reason: "exists and is not a directory")
    }
    if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
        try makeDirectories(String(path[..<slash]))
    }
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
        throw .writeFailed(path: path, reason: "cannot create directory: \(errnoText())")
    }
}

/// The directory part of a path ("." when there is none).
func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

/// A short random token for temp names.
func randomToken() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var generator = SystemRandomNumberGenerator()
    return String((0..<8).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
}

/// Removes a folder if it is empty; true when it was removed.
@discardableResult
func removeEmptyFolder(_ path: String) -> Bool { rmdir(path) == 0 }
