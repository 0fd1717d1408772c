/// `--dedupe` on the final merged stream. In: encoded rows in sort order, each ending in the
/// dedupe trailer (key, source record, element index; see `RowLayout.dedupeField`). Out: for each
/// row, whether it is written and how many of its bytes are columns.
/// Invariants: copies of one event have equal columns, so they sit in one run of rows with equal
/// leading (non-exploded) sort columns; within that run the record whose row comes first in sort
/// order (ties: the record read first) is kept whole and every other record with its key is
/// dropped. Only the keys of the current run are held (in reused buffers: no allocation per row
/// once they have grown), so the output is the same for every thread count, budget and spill.
import Glibc

final class Deduper {
    private let columnCount: Int
    /// Leading encoded columns that copies share: the sort columns up to the first exploded one.
    private let groupColumns: Int
    private let group = ByteBuffer(capacity: 256)
    private let keys = ByteBuffer(capacity: 4096)
    // Open-addressing table; a slot is live when its generation is the current one.
    private var capacity = 1024
    private var used = 0
    private var generation = 1
    private var slotGeneration: UnsafeMutablePointer<Int>
    private var slotHash: UnsafeMutablePointer<UInt64>
    private var slotOffset: UnsafeMutablePointer<Int>
    private var slotLength: UnsafeMutablePointer<Int>
    private var slotSource: UnsafeMutablePointer<UInt64>
    /// Records dropped as copies, and their rows.
    private(set) var duplicates = 0
    private(set) var droppedRows = 0

    init(layout: RowLayout) {
        columnCount = layout.keyOrder.count
        groupColumns = Deduper.groupColumnCount(layout)
        slotGeneration = .allocate(capacity: capacity)
        slotGeneration.initialize(repeating: 0, count: capacity)
        slotHash = .allocate(capacity: capacity)
        slotOffset = .allocate(capacity: capacity)
        slotLength = .allocate(capacity: capacity)
        slotSource = .allocate(capacity: capacity)
    }

    deinit {
        slotGeneration.deallocate()
        slotHash.deallocate()
        slotOffset.deallocate()
        slotLength.deallocate()
        slotSource.deallocate()
    }

    /// The number of leading sort columns copies are grouped by (0 means --dedupe cannot apply).
    static func groupColumnCount(_ layout: RowLayout) -> Int {
        var count = 0
        for column in layout.keyOrder.prefix(layout.sortColumnCount) {
            if layout.arrayColumns[column] { break }
            count += 1
        }
        return count
    }

    /// Decides for one row: nil when it is dropped, else the length of its columns (the bytes to write).
    @inline(__always)
    func visibleLength(_ row: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        // SAFETY: every encoded column and the key end in 0x00 within `length`; the 12 trailer
        // bytes follow the key's 0x00.
        var position = 0
        var groupEnd = 0
        for column in 0..<columnCount {
            let zero = memchr(row + position, 0, length - position)!.assumingMemoryBound(to: UInt8.self)
            position = UnsafePointer(zero) - row + 1
            if column + 1 == groupColumns { groupEnd = position }
        }
        let visible = position
        let keyEnd = UnsafePointer(memchr(row + visible, 0, length - visible)!.assumingMemoryBound(to: UInt8.self)) - row
        let keyLength = keyEnd - visible
        let raw = UnsafeRawPointer(row + keyEnd + 1)
        let source = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
        let element = UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self))

        if groupEnd != group.count || memcmp(row, group.base, groupEnd) != 0 {
            group.count = 0
            group.append(row, groupEnd)
            keys.count = 0
            used = 0
            generation += 1
        }
        // A missing or null key (the single byte 0x01) never matches another.
        if keyLength == 1 && row[visible] == 1 { return visible }

        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for j in visible..<keyEnd { hash = (hash ^ UInt64(row[j])) &* 0x0000_0100_0000_01B3 }
        var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
        while slotGeneration[slot] == generation {
            if slotHash[slot] == hash && slotLength[slot] == keyLength
                && memcmp(keys.base + slotOffset[slot], row + visible, keyLength) == 0
            {
                if slotSource[slot] == source { return visible }
                droppedRows += 1
                if element == 0 { duplicates += 1 }
                return nil
            }
            slot = (slot + 1) & (capacity - 1)
        }
        slotGeneration[slot] = generation
        slotHash[slot] = hash
        slotOffset[slot] = keys.count
        slotLength[slot] = keyLength
        slotSource[slot] = source
        keys.append(row + visible, keyLength)
        used += 1
        if used * 2 > capacity { grow() }
        return visible
    }

    /// Doubles the table, moving the current run's keys.
    private func grow() {
        let old = (slotGeneration, slotHash, slotOffset, slotLength, slotSource, capacity)
        capacity *= 2
        slotGeneration = .allocate(capacity: capacity)
        slotGeneration.initialize(repeating: 0, count: capacity)
        slotHash = .allocate(capacity: capacity)
        slotOffset = .allocate(capacity: capacity)
        slotLength = .allocate(capacity: capacity)
        slotSource = .allocate(capacity: capacity)
        for s in 0..<old.5 where old.0[s] == generation {
            var slot = Int(truncatingIfNeeded: old.1[s]) & (capacity - 1)
            while slotGeneration[slot] == generation { slot = (slot + 1) & (capacity - 1) }
            slotGeneration[slot] = generation
            slotHash[slot] = old.1[s]
            slotOffset[slot] = old.2[s]
            slotLength[slot] = old.3[s]
            slotSource[slot] = old.4[s]
        }
        old.0.deallocate()
        old.1.deallocate()
        old.2.deallocate()
        old.3.deallocate()
        old.4.deallocate()
    }
}
