/// `--dedupe`. In: every row in output order, twice (two final merge passes over the same runs),
/// each row ending in the dedupe trailer (key, source record, element index; see
/// `RowLayout.dedupeField`). Out: on the second pass, for each row, whether it is written and how
/// many of its bytes are columns.
/// Invariants: records are copies when their keys are equal, whatever their other values; of the
/// copies, the one whose first row comes first in output order is kept whole and every other one
/// is dropped whole. The first pass writes one small entry per row (key, rank in output order,
/// source) into a key index sorted within the memory budget like the rows themselves (spilled
/// runs, merge passes); reading it back in key order names every later copy in a bitmap of one
/// bit per record. So the output is the same for every thread count, budget and spill, and memory
/// beyond the budget is that bitmap alone.
import Glibc

final class Deduper {
    private let columnCount: Int
    private let sorter: ExternalSorter
    private let index: RowArena
    private var indexRuns: [String] = []
    private let entry = ByteBuffer(capacity: 256)
    private var rank: UInt64 = 0
    /// Later copies: for each file index, one bit per record number.
    private var later: [[UInt64]] = []
    /// Records dropped as copies, and their rows.
    private(set) var duplicates = 0
    private(set) var droppedRows = 0

    /// - Parameter budget: memory for the key index before it spills.
    init(layout: RowLayout, sorter: ExternalSorter, budget: Int) {
        columnCount = layout.keyOrder.count
        self.sorter = sorter
        index = RowArena(layout: RowLayout(fieldCount: 1, sortColumns: [0], arrayColumns: [false]), budget: budget)
    }

    /// Where the trailer of `row` starts: just after its columns.
    @inline(__always)
    private func trailer(_ row: UnsafePointer<UInt8>, _ length: Int) -> (visible: Int, keyEnd: Int) {
        // SAFETY: every encoded column and the key end in 0x00 within `length`; the 12 trailer
        // bytes (source, element) follow the key's 0x00.
        var position = 0
        for _ in 0..<columnCount {
            let zero = memchr(row + position, 0, length - position)!.assumingMemoryBound(to: UInt8.self)
            position = UnsafePointer(zero) - row + 1
        }
        let keyEnd = UnsafePointer(memchr(row + position, 0, length - position)!.assumingMemoryBound(to: UInt8.self)) - row
        return (position, keyEnd)
    }

    /// First pass: notes one row, the next in output order.
    @inline(__always)
    func note(_ row: UnsafePointer<UInt8>, _ length: Int) throws(TrailMergeError) {
        let (visible, keyEnd) = trailer(row, length)
        defer { rank &+= 1 }
        // A missing or null key (the single byte 0x01) never matches another.
        if keyEnd - visible == 1 && row[visible] == 1 { return }
        // Entry: the escaped key, its 0x00, then rank and source, both big-endian, so entries sort
        // by key, then by output order.
        entry.count = 0
        entry.append(row + visible, keyEnd + 1 - visible)
        var tail = (rank.bigEndian, UnsafeRawPointer(row + keyEnd + 1).loadUnaligned(as: UInt64.self))
        withUnsafeBytes(of: &tail) { entry.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 16) }
        index.appendEncoded(entry.base, entry.count)
        if index.isFull {
            indexRuns.append(try sorter.spill(index))
            index.reset()
        }
    }

    /// Between the passes: reads the key index in key order and marks every later copy.
    func resolve() throws(TrailMergeError) {
        index.sort()
        let current = ByteBuffer(capacity: 256)
        var winner: UInt64 = 0
        var first = true
        _ = try sorter.merge(arenas: [index], runs: indexRuns, sorted: true) { (entry, length) throws(TrailMergeError) in
            // SAFETY: an entry is key, 0x00, then 16 bytes (rank, source).
            let keyLength = length - 17
            let source = UInt64(bigEndian: UnsafeRawPointer(entry + keyLength + 9).loadUnaligned(as: UInt64.self))
            // An empty key is a key too: the first entry always starts a group.
            if first || keyLength != current.count || memcmp(entry, current.base, keyLength) != 0 {
                first = false
                current.count = 0
                current.append(entry, keyLength)
                winner = source
                return
            }
            if source != winner { mark(source) }
        }
        for run in indexRuns { removeFile(run) }
        indexRuns = []
        index.releaseMemory()
    }

    private func mark(_ source: UInt64) {
        let file = Int(source >> 32)
        let record = Int(source & 0xFFFF_FFFF)
        if later.count <= file { later += Array(repeating: [], count: file + 1 - later.count) }
        let word = record >> 6
        if later[file].count <= word { later[file] += Array(repeating: 0, count: max(word + 1, later[file].count * 2) - later[file].count) }
        let bit = UInt64(1) << UInt64(record & 63)
        if later[file][word] & bit == 0 {
            later[file][word] |= bit
            duplicates += 1
        }
    }

    /// Second pass: nil when the row is dropped, else the length of its columns (the bytes to write).
    @inline(__always)
    func visibleLength(_ row: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        let (visible, keyEnd) = trailer(row, length)
        let source = UInt64(bigEndian: UnsafeRawPointer(row + keyEnd + 1).loadUnaligned(as: UInt64.self))
        let file = Int(source >> 32)
        let record = Int(source & 0xFFFF_FFFF)
        guard file < later.count, record >> 6 < later[file].count,
            later[file][record >> 6] & (UInt64(1) << UInt64(record & 63)) != 0
        else { return visible }
        droppedRows += 1
        return nil
    }
}
