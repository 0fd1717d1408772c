/// A growable, reusable byte buffer that owns its storage. It is the one place where scratch
/// bytes are appended through raw pointers; callers reuse one instance per worker, so steady-state
/// work allocates nothing.
final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `extra` more bytes, growing geometrically.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        // SAFETY: reserve guarantees count < capacity.
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func append(_ pointer: UnsafePointer<UInt8>, _ length: Int) {
        reserve(length)
        // SAFETY: reserve guarantees room for `length` bytes at `count`.
        (base + count).update(from: pointer, count: length)
        count += length
    }

    /// Lets `body` write at most `maxLength` bytes at the end; it returns how many it wrote (0 to
    /// leave the buffer as it was).
    @inline(__always)
    func append(maxLength: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(maxLength)
        // SAFETY: reserve guarantees room for `maxLength` bytes at `count`; body writes no more.
        let written = body(base + count)
        assert(written >= 0 && written <= maxLength)
        count += written
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { if let p = $0.baseAddress { append(p, $0.count) } }
    }

    func append(_ text: String) {
        var text = text
        text.withUTF8 { if let p = $0.baseAddress { append(p, $0.count) } }
    }

    /// Shrinks the storage back to `capacity` when a huge value inflated it.
    func shrink(to newCapacity: Int) {
        guard capacity > newCapacity * 2, count <= newCapacity else { return }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    var array: [UInt8] { Array(bytes) }
}
