/// The extracted values of one record: decoded bytes in a scratch buffer plus one span per column
/// and one span per exploded array element. In: written by `RecordScanner`. Out: read by `RowArena`.
/// Reused for every record of a worker, so extraction allocates nothing in steady state.
final class RecordValues {
    let fieldCount: Int
    let bytes = ByteBuffer(capacity: 1 << 16)
    private(set) var starts: UnsafeMutablePointer<Int>
    private(set) var lengths: UnsafeMutablePointer<Int>
    private(set) var elementStarts: UnsafeMutablePointer<Int>
    private(set) var elementLengths: UnsafeMutablePointer<Int>
    /// False for a column (or element) whose value is JSON null or whose path is missing; its
    /// length is then 0. Only Parquet output tells these apart from an empty string.
    private(set) var present: UnsafeMutablePointer<Bool>
    private(set) var elementPresent: UnsafeMutablePointer<Bool>
    private var elementCapacity = 64
    private(set) var elementCount = 0
    /// True when a value holds the bytes 0x00 or 0x01 (only possible through \u escapes).
    var hasLowBytes = false
    /// Per field: true once the field's path was present (even as null) in any record. Never reset
    /// by `reset`, so after a run it tells which paths matched nothing.
    private let seen: UnsafeMutablePointer<Bool>
    /// Fields from `multiStart` on (hidden paths with `[]`) keep every element's value, as
    /// (field, start, length, present) entries in record order.
    let multiStart: Int
    private(set) var multiField: UnsafeMutablePointer<Int>
    private(set) var multiStarts: UnsafeMutablePointer<Int>
    private(set) var multiLengths: UnsafeMutablePointer<Int>
    private(set) var multiPresent: UnsafeMutablePointer<Bool>
    private var multiCapacity = 16
    private(set) var multiCount = 0

    init(fieldCount: Int, multiStart: Int? = nil) {
        self.fieldCount = fieldCount
        self.multiStart = multiStart ?? fieldCount
        multiField = .allocate(capacity: multiCapacity)
        multiStarts = .allocate(capacity: multiCapacity)
        multiLengths = .allocate(capacity: multiCapacity)
        multiPresent = .allocate(capacity: multiCapacity)
        starts = .allocate(capacity: max(fieldCount, 1))
        lengths = .allocate(capacity: max(fieldCount, 1))
        lengths.initialize(repeating: 0, count: max(fieldCount, 1))
        starts.initialize(repeating: 0, count: max(fieldCount, 1))
        present = .allocate(capacity: max(fieldCount, 1))
        present.initialize(repeating: false, count: max(fieldCount, 1))
        elementStarts = .allocate(capacity: elementCapacity)
        elementLengths = .allocate(capacity: elementCapacity)
        seen = .allocate(capacity: max(fieldCount, 1))
        seen.initialize(repeating: false, count: max(fieldCount, 1))
        elementPresent = .allocate(capacity: elementCapacity)
    }

    @inline(__always)
    func markSeen(field: Int) {
        // SAFETY: field indices come from the plan, which has `fieldCount` fields.
        seen[field] = true
    }

    /// Whether field `field` was present in any record so far.
    func wasSeen(_ field: Int) -> Bool { seen[field] }

    deinit {
        starts.deallocate()
        lengths.deallocate()
        elementStarts.deallocate()
        elementLengths.deallocate()
        seen.deallocate()
        present.deallocate()
        elementPresent.deallocate()
        multiField.deallocate()
        multiStarts.deallocate()
        multiLengths.deallocate()
        multiPresent.deallocate()
    }

    /// Adds one element value of a hidden `[]` field.
    @inline(__always)
    func appendMulti(field: Int, start: Int, length: Int, present isPresent: Bool) {
        if multiCount == multiCapacity {
            let newCapacity = multiCapacity * 2
            func grow<T>(_ old: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
                let new = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
                new.moveInitialize(from: old, count: multiCount)
                old.deallocate()
                return new
            }
            multiField = grow(multiField)
            multiStarts = grow(multiStarts)
            multiLengths = grow(multiLengths)
            multiPresent = grow(multiPresent)
            multiCapacity = newCapacity
        }
        // SAFETY: multiCount < multiCapacity after the growth above.
        multiField[multiCount] = field
        multiStarts[multiCount] = start
        multiLengths[multiCount] = length
        multiPresent[multiCount] = isPresent
        multiCount += 1
    }

    @inline(__always)
    func reset() {
        bytes.count = 0
        for f in 0..<fieldCount {
            lengths[f] = 0
            present[f] = false
        }
        elementCount = 0
        multiCount = 0
        hasLowBytes = false
    }

    @inline(__always)
    func set(field: Int, start: Int, length: Int, present isPresent: Bool = true) {
        starts[field] = start
        lengths[field] = length
        present[field] = isPresent
    }

    func clearElements() { elementCount = 0 }

    /// Adds an element whose value is empty until `setLastElement` fills it.
    @inline(__always)
    func appendElement() {
        if elementCount == elementCapacity {
            let newCapacity = elementCapacity * 2
            let s = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity)
            let l = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity)
            let e = UnsafeMutablePointer<Bool>.allocate(capacity: newCapacity)
            s.update(from: elementStarts, count: elementCount)
            l.update(from: elementLengths, count: elementCount)
            e.update(from: elementPresent, count: elementCount)
            elementStarts.deallocate()
            elementLengths.deallocate()
            elementPresent.deallocate()
            elementStarts = s
            elementLengths = l
            elementPresent = e
            elementCapacity = newCapacity
        }
        elementStarts[elementCount] = 0
        elementLengths[elementCount] = 0
        elementPresent[elementCount] = false
        elementCount += 1
    }

    @inline(__always)
    func setLastElement(start: Int, length: Int, present isPresent: Bool = true) {
        // SAFETY: only called while an element is open (elementCount >= 1).
        elementStarts[elementCount - 1] = start
        elementLengths[elementCount - 1] = length
        elementPresent[elementCount - 1] = isPresent
    }
}
