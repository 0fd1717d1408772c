import Glibc

/// The row encoding that makes one byte comparison order rows correctly, and its 24-byte
/// integer prefix. In: column values in sort-key order. Out: bytes whose lexicographic order is the
/// order of the value tuples. Invariant: each value ends with 0x00; a value's own 0x00 and 0x01
/// bytes become 0x01 0x01 and 0x01 0x02, so no encoded row is a proper prefix of another.

/// The first 24 bytes of an encoded row as three big-endian integers, zero padded.
struct RowKey: Equatable {
    var k0: UInt64
    var k1: UInt64
    var k2: UInt64

    @inline(__always)
    init(_ row: UnsafePointer<UInt8>, _ length: Int) {
        if length >= 24 {
            let raw = UnsafeRawPointer(row)
            k0 = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
            k1 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            k2 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        } else {
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: row, byteCount: length) }
            k0 = UInt64(bigEndian: words.0)
            k1 = UInt64(bigEndian: words.1)
            k2 = UInt64(bigEndian: words.2)
        }
    }
}

/// True when encoded row `a` sorts before encoded row `b`.
@inline(__always)
func rowPrecedes(
    _ ka: RowKey, _ pa: UnsafePointer<UInt8>, _ la: Int,
    _ kb: RowKey, _ pb: UnsafePointer<UInt8>, _ lb: Int
) -> Bool {
    if ka.k0 != kb.k0 { return ka.k0 < kb.k0 }
    if ka.k1 != kb.k1 { return ka.k1 < kb.k1 }
    if ka.k2 != kb.k2 { return ka.k2 < kb.k2 }
    let common = min(la, lb)
    if common > 24 {
        let r = memcmp(pa + 24, pb + 24, common - 24)
        if r != 0 { return r < 0 }
    }
    return la < lb
}

/// Splits an encoded row back into its values (in sort-key order), undoing the 0x00/0x01 escapes.
struct RowDecoder {
    let columnCount: Int
    private let starts: UnsafeMutablePointer<Int>
    private let lengths: UnsafeMutablePointer<Int>
    private let scratch = ByteBuffer(capacity: 1024)
    /// Where the spans point: the row itself, or the scratch copy when the row had escapes.
    private(set) var base: UnsafePointer<UInt8>

    init(columnCount: Int) {
        self.columnCount = columnCount
        starts = .allocate(capacity: max(columnCount, 1))
        lengths = .allocate(capacity: max(columnCount, 1))
        base = UnsafePointer(starts.withMemoryRebound(to: UInt8.self, capacity: 1) { $0 })
    }

    func deallocate() {
        starts.deallocate()
        lengths.deallocate()
    }

    /// Splits `row`; afterwards `value(k)` gives column k in sort-key order.
    @inline(__always)
    mutating func split(_ row: UnsafePointer<UInt8>, _ length: Int) {
        var position = 0
        for k in 0..<columnCount {
            let rest = length - position
            let zero = rest > 0 ? memchr(row + position, 0, rest) : nil
            let stop = zero.map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - row } ?? length
            starts[k] = position
            lengths[k] = stop - position
            position = stop + 1
        }
        base = row
        guard memchr(row, 1, length) != nil else { return }
        // Escaped values: undo 0x01 x -> x - 1 column by column into the scratch buffer.
        scratch.count = 0
        scratch.reserve(length)
        for k in 0..<columnCount {
            let newStart = scratch.count
            var i = starts[k]
            let stop = i + lengths[k]
            while i < stop {
                let c = row[i]
                if c == 1 && i + 1 < stop {
                    scratch.append(row[i + 1] &- 1)
                    i += 2
                } else {
                    scratch.append(c)
                    i += 1
                }
            }
            starts[k] = newStart
            lengths[k] = scratch.count - newStart
        }
        base = UnsafePointer(scratch.base)
    }

    @inline(__always)
    func value(_ k: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + starts[k], count: lengths[k])
    }
}

/// Three-way comparison of encoded rows: negative, zero or positive.
@inline(__always)
func rowCompare(
    _ ka: RowKey, _ pa: UnsafePointer<UInt8>, _ la: Int,
    _ kb: RowKey, _ pb: UnsafePointer<UInt8>, _ lb: Int
) -> Int {
    if ka.k0 != kb.k0 { return ka.k0 < kb.k0 ? -1 : 1 }
    if ka.k1 != kb.k1 { return ka.k1 < kb.k1 ? -1 : 1 }
    if ka.k2 != kb.k2 { return ka.k2 < kb.k2 ? -1 : 1 }
    let common = min(la, lb)
    if common > 24 {
        let r = memcmp(pa + 24, pb + 24, common - 24)
        if r != 0 { return Int(r) }
    }
    return la == lb ? 0 : (la < lb ? -1 : 1)
}
