/// `--partition-by`: routes the merged rows into Hive-style folders, `OUT/NAME=VALUE/…/part-00000.EXT`.
/// In: encoded rows in sort order. Out: one sorted file per partition, each staged in the run's
/// `OutputSet` (so all partitions commit together, or none). Invariants: a row's partition is
/// compared with the previous row's on encoded bytes, so a String is built only when a new
/// partition opens; when the first partition comes from the first sort column, it only moves up,
/// so every partition of an earlier value is finished (and its file closed) as soon as it changes.

import Glibc

/// One `--partition-by NAME=FIELD[:N]`.
public struct PartitionSpec: Sendable, Equatable {
    public let name: String
    /// The `--fields` path whose value names the folder.
    public let field: String
    /// Keep the first N characters of the value.
    public let length: Int?

    public init(_ text: String) throws(TrailMergeError) {
        let example = "use NAME=FIELD or NAME=FIELD:N, e.g. dt=eventTime:10 or region=awsRegion"
        guard let eq = text.firstIndex(of: "=") else {
            throw .usage("--partition-by: '\(text)' is not NAME=FIELD[:N] (\(example))")
        }
        let name = String(text[..<eq])
        var field = String(text[text.index(after: eq)...])
        var length: Int?
        if let colon = field.lastIndex(of: ":") {
            guard let n = Int(field[field.index(after: colon)...]), n >= 1 else {
                throw .usage("--partition-by: '\(text)': ':\(field[field.index(after: colon)...])' is not a number of characters of at least 1 (\(example))")
            }
            length = n
            field = String(field[..<colon])
        }
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }) else {
            throw .usage("--partition-by: '\(text)': the name '\(name)' must be letters, digits and _ (\(example))")
        }
        guard !field.isEmpty else { throw .usage("--partition-by: '\(text)' names no field (\(example))") }
        self.name = name
        self.field = field
        self.length = length
    }

    /// The folder name for `value` (decoded bytes; nil for NULL): `NAME=VALUE`, the value cut to
    /// `length` characters and escaped as Hive does (`%2F` for `/`, …), or
    /// `NAME=__HIVE_DEFAULT_PARTITION__` when it is empty or NULL.
    public func folderName(_ value: [UInt8]?) -> String {
        var bytes = value ?? []
        if let length {
            var characters = 0
            var end = 0
            while end < bytes.count {
                if bytes[end] & 0xC0 != 0x80 {
                    if characters == length { break }
                    characters += 1
                }
                end += 1
            }
            bytes.removeLast(bytes.count - end)
        }
        guard !bytes.isEmpty else { return name + "=__HIVE_DEFAULT_PARTITION__" }
        var out: [UInt8] = Array(name.utf8) + [0x3D]
        let hex = Array("0123456789ABCDEF".utf8)
        for b in bytes {
            if PartitionSpec.escaped(b) {
                out += [0x25, hex[Int(b >> 4)], hex[Int(b & 15)]]
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes Hive's `FileUtils.escapePathName` escapes: controls, `"#%'*/:=?\{[]^` and DEL.
    static func escaped(_ b: UInt8) -> Bool {
        b < 0x20 || b == 0x7F || "\"#%'*/:=?\\{[]^".utf8.contains(b)
    }
}

final class PartitionedOutput: RowSink {
    /// Each partition's output gets this share of `--memory` (Parquet row groups).
    static let budgetShares = 16
    private struct Open {
        var key: [UInt8]
        var sink: any RowSink
        var file: StagedFile
        /// Another key whose folder name is the same as an open partition's (the text
        /// `__HIVE_DEFAULT_PARTITION__` and NULL): it writes into that partition, finished once.
        var alias = false
    }

    private let folder: String
    private let fileName: String
    private let specs: [PartitionSpec]
    /// Encoded position of each spec's column.
    private let positions: [Int]
    private let maxPosition: Int
    private let nullsDistinct: Bool
    private let finishOnLeadingChange: Bool
    private let outputs: OutputSet
    private let makeSink: (BufferedWriter) throws(TrailMergeError) -> any RowSink
    private var open: [Open] = []
    /// The index in `open` of each open partition's folder.
    private var openFolders: [String: Int] = [:]
    /// Every partition folder staged so far.
    private var stagedFolders: Set<String> = []
    private var current = -1
    /// The current partition's key, and the row being placed.
    private let key = ByteBuffer(capacity: 256)
    private let scratch = ByteBuffer(capacity: 256)
    private var leadingLength = 0
    private let starts: UnsafeMutablePointer<Int>
    private let ends: UnsafeMutablePointer<Int>
    private(set) var bytesWritten = 0
    private(set) var warnings = 0
    /// Every partition file, in the order they were opened.
    private(set) var partitions = 0

    /// - Parameters:
    ///   - columns: each spec's column (field index).
    ///   - fileName: `part-00000.EXT`.
    init(
        folder: String, fileName: String, specs: [PartitionSpec], columns: [Int], layout: RowLayout, outputs: OutputSet,
        makeSink: @escaping (BufferedWriter) throws(TrailMergeError) -> any RowSink
    ) {
        self.folder = folder
        self.fileName = fileName
        self.specs = specs
        positions = columns.map { layout.positionOfField[$0] }
        maxPosition = positions.max() ?? 0
        nullsDistinct = layout.nullsDistinct
        finishOnLeadingChange = layout.sorted && layout.sortColumnCount > 0 && positions.first == 0
        self.outputs = outputs
        self.makeSink = makeSink
        starts = .allocate(capacity: maxPosition + 1)
        ends = .allocate(capacity: maxPosition + 1)
    }

    deinit {
        starts.deallocate()
        ends.deallocate()
    }

    /// The end of the encoded value `start..<end` cut to `length` characters (an escape pair is
    /// one byte of the value).
    @inline(__always)
    private func cut(_ row: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ length: Int?) -> Int {
        guard let length else { return end }
        var characters = 0
        var i = start
        while i < end {
            let b = row[i]
            if b & 0xC0 != 0x80 {
                if characters == length { return i }
                characters += 1
            }
            i += b == 1 ? 2 : 1
        }
        return end
    }

    func write(_ row: UnsafePointer<UInt8>, _ length: Int) throws(TrailMergeError) {
        // SAFETY: every encoded column ends in 0x00 within `length`.
        var position = 0
        for column in 0...maxPosition {
            starts[column] = position
            while row[position] != 0 { position += 1 }
            ends[column] = position
            position += 1
        }
        // The partition key: each spec's cut value (a lone NULL marker counts as empty), 0-terminated.
        scratch.count = 0
        var leadingEnd = 0
        for (k, p) in positions.enumerated() {
            var end = ends[p]
            if nullsDistinct && end - starts[p] == 1 && row[starts[p]] == 1 { end = starts[p] }
            end = cut(row, starts[p], end, specs[k].length)
            scratch.append(row + starts[p], end - starts[p])
            scratch.append(0)
            if k == 0 { leadingEnd = scratch.count }
        }
        if current < 0 || scratch.count != key.count || memcmp(scratch.base, key.base, key.count) != 0 {
            let leadingChanged = current < 0 || leadingEnd != leadingLength || memcmp(scratch.base, key.base, leadingEnd) != 0
            key.count = 0
            key.append(scratch.base, scratch.count)
            leadingLength = leadingEnd
            try switchPartition(leadingChanged: leadingChanged)
        }
        try open[current].sink.write(row, length)
    }

    /// Finds or opens the partition whose key is in `key`.
    private func switchPartition(leadingChanged: Bool) throws(TrailMergeError) {
        if finishOnLeadingChange && leadingChanged {
            for partition in open { try finish(partition) }
            open.removeAll()
            openFolders.removeAll()
        }
        let key = self.key
        if let index = open.firstIndex(where: { partition in
            partition.key.count == key.count
                && partition.key.withUnsafeBufferPointer { memcmp($0.baseAddress!, key.base, key.count) == 0 }
        }) {
            current = index
            return
        }
        let wanted = Array(key.bytes)
        // A new partition: its folder from the decoded values.
        var path = folder
        var offset = 0
        for spec in specs {
            let end = wanted[offset...].firstIndex(of: 0)!
            path += "/" + spec.folderName(decode(wanted[offset..<end]))
            offset = end + 1
        }
        if let index = openFolders[path] {
            open.append(Open(key: wanted, sink: open[index].sink, file: open[index].file, alias: true))
            current = open.count - 1
            return
        }
        guard stagedFolders.insert(path).inserted else {
            throw .writeFailed(
                path: path, reason: "two partition values name this folder (an empty or null value and the text __HIVE_DEFAULT_PARTITION__, as in Hive) and its file is already finished; partition by another column or --where one of them out")
        }
        let file = try outputs.stage(path + "/" + fileName, role: "partition", createFolders: true)
        open.append(Open(key: wanted, sink: try makeSink(file.writer), file: file))
        openFolders[path] = open.count - 1
        partitions += 1
        current = open.count - 1
    }

    private func decode(_ encoded: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = encoded.startIndex
        while i < encoded.endIndex {
            if encoded[i] == 1 && i + 1 < encoded.endIndex {
                out.append(encoded[i + 1] - 1)
                i += 2
            } else {
                out.append(encoded[i])
                i += 1
            }
        }
        return out
    }

    private func finish(_ partition: Open) throws(TrailMergeError) {
        guard !partition.alias else { return }
        try partition.sink.finish()
        bytesWritten += partition.sink.bytesWritten
        warnings += partition.sink.warnings
        // Closed now (fsynced), so a run with many partitions never holds many files open; the
        // commit then only renames it.
        try partition.file.writer.close(sync: true)
    }

    func finish() throws(TrailMergeError) {
        for partition in open { try finish(partition) }
        open.removeAll()
        openFolders.removeAll()
        current = -1
    }
}
