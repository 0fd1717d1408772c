/// A worker's in-memory rows: encoded row bytes in fixed-size blocks plus a reference (prefix key,
/// address, length) per row. In: `RecordValues` from the scanner. Out: rows in sort order, for a
/// spill run or for the final merge. Invariants: rows never move once written (blocks are never
/// reallocated, only reused after `reset`); `usedBytes` counts row bytes plus references, and is
/// what the memory budget is checked against.

/// Where one encoded row lives in an arena, with its comparison prefix.
struct RowRef {
    var key: RowKey
    var row: UnsafePointer<UInt8>
    var length: Int
}

/// How the columns of a row are laid out for sorting.
public struct RowLayout: Sendable, Equatable {
    /// Column indices in encoded order: the sort columns, then every other column left to right.
    public let keyOrder: [Int]
    /// For each column (field order), its position in `keyOrder`.
    public let positionOfField: [Int]
    /// Columns whose values come from exploded array elements.
    public let arrayColumns: [Bool]
    /// How many leading entries of `keyOrder` are sort columns.
    public let sortColumnCount: Int
    /// False for `--sort-by none`.
    public let sorted: Bool
    /// When true (Parquet output), a JSON null or missing value is encoded as the single byte 0x01
    /// before its terminator, which no escaped value can be, so it stays distinct from "" (it sorts
    /// after "" and before every other value). When false, it is encoded as "".
    public let nullsDistinct: Bool
    /// `--dedupe`: the field (a hidden one) whose value keys each event. Each row then ends, after
    /// its columns, with a trailer: the key (escaped like a value, or the single byte 0x01 when
    /// the key is missing or null) and its 0x00, then the record's source (file index << 32 |
    /// record number, 8 bytes big-endian) and the row's element index (4 bytes big-endian). The
    /// trailer only breaks ties between rows whose columns are equal; it is never output.
    public var dedupeField: Int?

    public init(fieldCount: Int, sortColumns: [Int]?, arrayColumns: [Bool], nullsDistinct: Bool = false) {
        var order: [Int] = []
        for c in sortColumns ?? [] where !order.contains(c) { order.append(c) }
        for c in 0..<fieldCount where !order.contains(c) { order.append(c) }
        keyOrder = order
        sortColumnCount = sortColumns == nil ? 0 : Set(sortColumns!).count
        var position = Array(repeating: 0, count: fieldCount)
        for (k, c) in order.enumerated() { position[c] = k }
        positionOfField = position
        self.arrayColumns = arrayColumns
        sorted = sortColumns != nil
        self.nullsDistinct = nullsDistinct
    }
}

final class RowArena {
    static let refSize = MemoryLayout<RowRef>.stride

    let layout: RowLayout
    private let columnCount: Int
    private let keyOrder: UnsafeMutablePointer<Int>
    private let isArrayColumn: UnsafeMutablePointer<Bool>
    /// Row storage: blocks of `blockSize` bytes, filled in order; `current` is being filled.
    private var blocks: [UnsafeMutablePointer<UInt8>] = []
    private var current = -1
    private var blockUsed = 0
    /// Blocks larger than `blockSize`, made for single rows that do not fit a block; freed on reset.
    private var oversize: [UnsafeMutablePointer<UInt8>] = []
    private let blockSize: Int
    /// Row bytes written since the last reset.
    private(set) var byteCount = 0
    private(set) var refs: UnsafeMutablePointer<RowRef>
    private var refCapacity: Int
    private(set) var count = 0
    /// The budget this arena may fill before it asks to be spilled.
    let budget: Int

    /// A position to roll back to (see `mark` and `rollBack`).
    struct Mark {
        fileprivate let block: Int
        fileprivate let used: Int
        fileprivate let bytes: Int
        fileprivate let rows: Int
        fileprivate let oversize: Int
    }

    init(layout: RowLayout, budget: Int) {
        self.layout = layout
        self.budget = max(budget, 8 << 10)
        blockSize = min(4 << 20, max(16 << 10, self.budget / 8))
        columnCount = layout.keyOrder.count
        keyOrder = .allocate(capacity: max(columnCount, 1))
        keyOrder.initialize(from: layout.keyOrder, count: columnCount)
        isArrayColumn = .allocate(capacity: max(columnCount, 1))
        isArrayColumn.initialize(from: layout.arrayColumns, count: columnCount)
        refCapacity = 8192
        refs = .allocate(capacity: refCapacity)
    }

    deinit {
        keyOrder.deallocate()
        isArrayColumn.deallocate()
        for block in blocks { block.deallocate() }
        for block in oversize { block.deallocate() }
        refs.deallocate()
    }

    /// Row bytes plus row references.
    var usedBytes: Int { byteCount + count * RowArena.refSize }

    /// True once the arena has reached its budget.
    var isFull: Bool { usedBytes >= budget }

    /// Drops all rows but keeps the regular blocks for the next run.
    func reset() {
        for block in oversize { block.deallocate() }
        oversize.removeAll()
        current = -1
        blockUsed = 0
        byteCount = 0
        count = 0
    }

    func mark() -> Mark {
        Mark(block: current, used: blockUsed, bytes: byteCount, rows: count, oversize: oversize.count)
    }

    /// Truncates back to `mark`, dropping every row added since.
    func rollBack(to mark: Mark) {
        while oversize.count > mark.oversize { oversize.removeLast().deallocate() }
        current = mark.block
        blockUsed = mark.used
        byteCount = mark.bytes
        count = mark.rows
    }

    /// Room for `size` contiguous bytes: the rest of the current block, the next block, or an
    /// oversize block for a row larger than a block.
    @inline(__always)
    private func space(for size: Int) -> UnsafeMutablePointer<UInt8> {
        if current >= 0 && blockUsed + size <= blockSize { return blocks[current] + blockUsed }
        if size > blockSize {
            let block = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
            oversize.append(block)
            return block
        }
        current += 1
        if current == blocks.count { blocks.append(.allocate(capacity: blockSize)) }
        blockUsed = 0
        return blocks[current]
    }

    private func growRefs() {
        let newCapacity = refCapacity * 2
        let newRefs = UnsafeMutablePointer<RowRef>.allocate(capacity: newCapacity)
        newRefs.moveInitialize(from: refs, count: count)
        refs.deallocate()
        refs = newRefs
        refCapacity = newCapacity
    }

    /// Encodes the rows of one record: one row, or one per exploded array element.
    /// - Returns: the number of rows added.
    /// - Parameter record: the record's source for the `--dedupe` trailer (file index << 32 |
    ///   record number); unused otherwise.
    @discardableResult
    func append(_ values: RecordValues, record: UInt64 = 0) -> Int {
        let rows = max(1, values.elementCount)
        let source = values.bytes.base
        let nullsDistinct = layout.nullsDistinct
        let dedupeField = layout.dedupeField ?? -1
        for r in 0..<rows {
            var size = columnCount
            for k in 0..<columnCount {
                let c = keyOrder[k]
                size += isArrayColumn[c] ? (values.elementCount > 0 ? values.elementLengths[r] : 0) : values.lengths[c]
            }
            if nullsDistinct { size += columnCount }
            if dedupeField >= 0 { size += values.lengths[dedupeField] + 2 }
            if values.hasLowBytes { size *= 2 }
            if dedupeField >= 0 { size += 12 }
            let rowStart = space(for: size)
            var out = rowStart
            for k in 0..<columnCount {
                let c = keyOrder[k]
                let start: Int
                let length: Int
                if isArrayColumn[c] {
                    if values.elementCount > 0 {
                        start = values.elementStarts[r]
                        length = values.elementLengths[r]
                    } else {
                        start = 0
                        length = 0
                    }
                } else {
                    start = values.starts[c]
                    length = values.lengths[c]
                }
                if values.hasLowBytes {
                    RowArena.escape(source + start, length, to: &out)
                } else if length > 0 {
                    // SAFETY: reserveBytes made room for every value plus terminators.
                    out.update(from: source + start, count: length)
                    out += length
                }
                if nullsDistinct
                    && !(isArrayColumn[c]
                        ? values.elementCount > 0 && values.elementPresent[r] : values.present[c])
                {
                    // SAFETY: size counted one extra byte per column for this marker.
                    out[0] = 1
                    out += 1
                }
                out[0] = 0
                out += 1
            }
            if dedupeField >= 0 {
                // SAFETY: size counted the key (doubled when escapes may be needed), its marker
                // and terminator, and the 12 bytes of source and element index.
                if values.present[dedupeField] {
                    RowArena.escape(source + values.starts[dedupeField], values.lengths[dedupeField], to: &out)
                } else {
                    out[0] = 1
                    out += 1
                }
                out[0] = 0
                out += 1
                let raw = UnsafeMutableRawPointer(out)
                raw.storeBytes(of: record.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: UInt32(truncatingIfNeeded: r).bigEndian, toByteOffset: 8, as: UInt32.self)
                out += 12
            }
            commitRow(rowStart, length: out - rowStart, reserved: size)
        }
        return rows
    }

    /// Writes `length` value bytes escaped for the row encoding: 0x00 and 0x01 become 0x01 0x01
    /// and 0x01 0x02.
    @inline(__always)
    private static func escape(_ value: UnsafePointer<UInt8>, _ length: Int, to out: inout UnsafeMutablePointer<UInt8>) {
        // SAFETY: callers reserved twice the value's length, the most escaping can write.
        for j in 0..<length {
            let b = value[j]
            if b <= 1 {
                out[0] = 1
                out[1] = b + 1
                out += 2
            } else {
                out[0] = b
                out += 1
            }
        }
    }

    /// Counts the row just written at `rowStart` (from `space(for: reserved)`) and references it.
    @inline(__always)
    private func commitRow(_ rowStart: UnsafeMutablePointer<UInt8>, length: Int, reserved: Int) {
        byteCount += length
        if reserved <= blockSize { blockUsed += length }
        if count == refCapacity { growRefs() }
        let row = UnsafePointer(rowStart)
        (refs + count).initialize(to: RowRef(key: RowKey(row, length), row: row, length: length))
        count += 1
    }

    /// Appends one row already encoded by the caller (the `--dedupe` key index's entries).
    func appendEncoded(_ bytes: UnsafePointer<UInt8>, _ length: Int) {
        let rowStart = space(for: length)
        // SAFETY: `space` returned room for `length` contiguous bytes.
        rowStart.update(from: bytes, count: length)
        commitRow(rowStart, length: length, reserved: length)
    }

    /// Drops all rows and returns the blocks' memory (reset keeps it for the next run).
    func releaseMemory() {
        reset()
        for block in blocks { block.deallocate() }
        blocks.removeAll()
        refs.deallocate()
        refCapacity = 8192
        refs = .allocate(capacity: refCapacity)
    }

    /// Sorts the row references in `range` (all rows by default; a no-op for `--sort-by none`).
    func sort(_ range: Range<Int>? = nil) {
        let range = range ?? 0..<count
        guard layout.sorted, range.count > 1 else { return }
        var buffer = UnsafeMutableBufferPointer(start: refs + range.lowerBound, count: range.count)
        buffer.sort { a, b in
            rowPrecedes(a.key, a.row, a.length, b.key, b.row, b.length)
        }
    }

    /// Calls `body` with each row of `range` (all rows by default) in reference order.
    func forEachRow(
        _ range: Range<Int>? = nil, _ body: (UnsafePointer<UInt8>, Int) throws(TrailMergeError) -> Void
    ) throws(TrailMergeError) {
        for r in range ?? 0..<count {
            let ref = refs[r]
            try body(ref.row, ref.length)
        }
    }
}
