/// The k-way merge primitive. In: cursors over sorted runs (in memory or on disk). Out: every row,
/// in order, to a consumer. Invariant: a binary heap of cursor heads where ties go to the lower
/// cursor index, so the merge is deterministic; one sift per emitted row (`replaceTop`).

/// A position in one sorted run: an arena, a run file or a sorted text file.
final class MergeCursor {
    private let arena: RowArena?
    private var index = 0
    private let reader: RunReader?
    private let text: TextRunReader?
    private(set) var row: UnsafePointer<UInt8>
    private(set) var length = 0
    private(set) var key = RowKey(UnsafePointer<UInt8>(bitPattern: 1)!, 0)

    init(arena: RowArena) {
        self.arena = arena
        reader = nil
        text = nil
        row = UnsafePointer<UInt8>(bitPattern: 1)!
    }

    init(reader: RunReader) {
        arena = nil
        self.reader = reader
        text = nil
        row = UnsafePointer<UInt8>(bitPattern: 1)!
    }

    init(text: TextRunReader) {
        arena = nil
        reader = nil
        self.text = text
        row = UnsafePointer<UInt8>(bitPattern: 1)!
    }

    /// Moves to the next row; false at the end of the run.
    @inline(__always)
    func advance() throws(TrailMergeError) -> Bool {
        if let arena {
            guard index < arena.count else { return false }
            let ref = arena.refs[index]
            index += 1
            row = ref.row
            length = ref.length
            key = ref.key
            return true
        }
        let next = try reader != nil ? reader!.next() : text!.next()
        guard let (nextRow, nextLength) = next else { return false }
        row = nextRow
        length = nextLength
        key = RowKey(nextRow, nextLength)
        return true
    }

    func close() {
        reader?.close()
        text?.close()
    }
}

/// Merges `cursors` into `emit`. With `sorted == false` the runs are concatenated in order.
func mergeRuns(
    _ cursors: [MergeCursor], sorted: Bool,
    emit: (UnsafePointer<UInt8>, Int) throws(TrailMergeError) -> Void
) throws(TrailMergeError) {
    if !sorted {
        for cursor in cursors {
            while try cursor.advance() { try emit(cursor.row, cursor.length) }
        }
        return
    }
    var heap: [Int] = []
    heap.reserveCapacity(cursors.count)
    for (i, cursor) in cursors.enumerated() where try cursor.advance() { heap.append(i) }

    func less(_ a: Int, _ b: Int) -> Bool {
        let x = cursors[a]
        let y = cursors[b]
        let c = rowCompare(x.key, x.row, x.length, y.key, y.row, y.length)
        return c < 0 || (c == 0 && a < b)
    }

    func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let left = 2 * i + 1
            if left >= n { return }
            var smallest = left
            let right = left + 1
            if right < n && less(heap[right], heap[left]) { smallest = right }
            if !less(heap[smallest], heap[i]) { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }

    if heap.count > 1 {
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }
    while !heap.isEmpty {
        let top = cursors[heap[0]]
        try emit(top.row, top.length)
        if try top.advance() {
            siftDown(0)  // replaceTop: the head changed in place
        } else {
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            siftDown(0)
        }
    }
}
