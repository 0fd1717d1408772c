/// A growable buffer of plain values (indices, offsets, hashes) behind one pointer, for the
/// Parquet encoders' per-value bookkeeping: appends and reads are pointer operations without
/// Array's uniqueness and exclusivity checks. Invariant: `base[0..<count]` is initialized.
final class ScalarBuffer<T: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<T>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    func append(_ value: T) {
        if count == capacity { grow() }
        // SAFETY: count < capacity after grow.
        (base + count).initialize(to: value)
        count += 1
    }

    private func grow() {
        let newCapacity = capacity * 2
        let newBase = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    subscript(_ index: Int) -> T {
        get {
            assert(index >= 0 && index < count)
            return base[index]
        }
        set {
            assert(index >= 0 && index < count)
            base[index] = newValue
        }
    }

    /// Empties the buffer; with `keepingCapacity: false` large storage is released.
    func removeAll(keepingCapacity: Int = 1 << 20) {
        count = 0
        if capacity > keepingCapacity {
            base.deallocate()
            capacity = 1024
            base = .allocate(capacity: capacity)
        }
    }

    /// Sets every element of a buffer of `n` values to `value` (count becomes `n`).
    func fill(_ value: T, count n: Int) {
        if n > capacity {
            base.deallocate()
            capacity = n
            base = .allocate(capacity: n)
        }
        base.initialize(repeating: value, count: n)
        count = n
    }
}
