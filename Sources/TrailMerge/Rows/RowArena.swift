/// A worker's in-memory rows: encoded row bytes in one arena plus a reference (prefix key, offset,
/// length) per row. In: `RecordValues` from the scanner. Out: rows in sort order, for a spill run or
/// for the final merge. Invariant: `usedBytes` counts arena bytes plus references, and is what the
/// memory budget is checked against.
import Glibc

/// Where one encoded row lives in an arena, with its comparison prefix.
struct RowRef {
    var key: RowKey
    var offset: Int
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
    /// False for `--sort-by none`.
    public let sorted: Bool

    public init(fieldCount: Int, sortColumns: [Int]?, arrayColumns: [Bool]) {
        var order: [Int] = []
        for c in sortColumns ?? [] where !order.contains(c) { order.append(c) }
        for c in 0..<fieldCount where !order.contains(c) { order.append(c) }
        keyOrder = order
        var position = Array(repeating: 0, count: fieldCount)
        for (k, c) in order.enumerated() { position[c] = k }
        positionOfField = position
        self.arrayColumns = arrayColumns
        sorted = sortColumns != nil
    }
}

final class RowArena {
    static let refSize = MemoryLayout<RowRef>.stride

    let layout: RowLayout
    private let columnCount: Int
    private let keyOrder: UnsafeMutablePointer<Int>
    private let isArrayColumn: UnsafeMutablePointer<Bool>
    private(set) var bytes: UnsafeMutablePointer<UInt8>
    private var byteCapacity: Int
    private(set) var byteCount = 0
    private(set) var refs: UnsafeMutablePointer<RowRef>
    private var refCapacity: Int
    private(set) var count = 0
    /// The budget this arena may fill before it asks to be spilled.
    let budget: Int

    init(layout: RowLayout, budget: Int) {
        self.layout = layout
        self.budget = max(budget, 8 << 10)
        columnCount = layout.keyOrder.count
        keyOrder = .allocate(capacity: max(columnCount, 1))
        keyOrder.initialize(from: layout.keyOrder, count: columnCount)
        isArrayColumn = .allocate(capacity: max(columnCount, 1))
        isArrayColumn.initialize(from: layout.arrayColumns, count: columnCount)
        byteCapacity = min(self.budget, 1 << 20)
        bytes = .allocate(capacity: byteCapacity)
        refCapacity = 8192
        refs = .allocate(capacity: refCapacity)
    }

    deinit {
        keyOrder.deallocate()
        isArrayColumn.deallocate()
        bytes.deallocate()
        refs.deallocate()
    }

    /// Arena bytes plus row references.
    var usedBytes: Int { byteCount + count * RowArena.refSize }

    /// True once the arena has reached its budget.
    var isFull: Bool { usedBytes >= budget }

    /// Drops all rows but keeps the storage (up to the budget) for the next run.
    func reset() {
        byteCount = 0
        count = 0
    }

    /// Truncates back to a previous `(byteCount, count)` mark.
    func rollBack(toBytes mark: Int, rows: Int) {
        byteCount = min(byteCount, mark)
        count = min(count, rows)
    }

    private func reserveBytes(_ extra: Int) {
        guard byteCount + extra > byteCapacity else { return }
        var newCapacity = byteCapacity * 2
        while newCapacity < byteCount + extra { newCapacity *= 2 }
        let newBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBytes.update(from: bytes, count: byteCount)
        bytes.deallocate()
        bytes = newBytes
        byteCapacity = newCapacity
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
    @discardableResult
    func append(_ values: RecordValues) -> Int {
        let rows = max(1, values.elementCount)
        let source = values.bytes.base
        for r in 0..<rows {
            var size = columnCount
            for k in 0..<columnCount {
                let c = keyOrder[k]
                size += isArrayColumn[c] ? (values.elementCount > 0 ? values.elementLengths[r] : 0) : values.lengths[c]
            }
            if values.hasLowBytes { size *= 2 }
            reserveBytes(size)
            let rowStart = byteCount
            var out = bytes + byteCount
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
                    for j in start..<(start + length) {
                        let b = source[j]
                        if b <= 1 {
                            out[0] = 1
                            out[1] = b + 1
                            out += 2
                        } else {
                            out[0] = b
                            out += 1
                        }
                    }
                } else if length > 0 {
                    // SAFETY: reserveBytes made room for every value plus terminators.
                    out.update(from: source + start, count: length)
                    out += length
                }
                out[0] = 0
                out += 1
            }
            byteCount = out - bytes
            if count == refCapacity { growRefs() }
            let length = byteCount - rowStart
            (refs + count).initialize(to: RowRef(key: RowKey(bytes + rowStart, length), offset: rowStart, length: length))
            count += 1
        }
        return rows
    }

    /// Sorts the row references in `range` (all rows by default; a no-op for `--sort-by none`).
    func sort(_ range: Range<Int>? = nil) {
        let range = range ?? 0..<count
        guard layout.sorted, range.count > 1 else { return }
        let base = UnsafePointer(bytes)
        var buffer = UnsafeMutableBufferPointer(start: refs + range.lowerBound, count: range.count)
        buffer.sort { a, b in
            rowPrecedes(a.key, base + a.offset, a.length, b.key, base + b.offset, b.length)
        }
    }

    /// Calls `body` with each row of `range` (all rows by default) in reference order.
    func forEachRow(
        _ range: Range<Int>? = nil, _ body: (UnsafePointer<UInt8>, Int) throws(TrailMergeError) -> Void
    ) throws(TrailMergeError) {
        for r in range ?? 0..<count {
            let ref = refs[r]
            try body(bytes + ref.offset, ref.length)
        }
    }

    /// Releases storage beyond a small floor (after the final merge no longer needs the rows).
    func releaseStorage() {
        reset()
        bytes.deallocate()
        byteCapacity = 4096
        bytes = .allocate(capacity: byteCapacity)
        refs.deallocate()
        refCapacity = 64
        refs = .allocate(capacity: refCapacity)
    }
}
