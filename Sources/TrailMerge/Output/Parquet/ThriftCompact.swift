/// Thrift compact-protocol encoding, write side only: the subset Parquet metadata needs (structs,
/// lists, i32/i64/bool/binary fields). In: field calls in field-id order. Out: bytes appended to a
/// `ByteBuffer`. Invariant: field ids within one struct increase, so every header fits the short
/// delta form or the long form with a zigzag id.

/// Compact-protocol type codes (as they appear in field and list headers).
enum ThriftType: UInt8 {
    case boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7
    case binary = 8, list = 9, set = 10, map = 11, structure = 12
}

struct ThriftCompactWriter {
    let out: ByteBuffer
    /// The last field id written in each open struct, innermost last.
    private var lastFieldIDs: [Int16] = [0]

    init(out: ByteBuffer) { self.out = out }

    // MARK: primitives

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    private mutating func fieldHeader(_ id: Int16, _ type: ThriftType) {
        let last = lastFieldIDs[lastFieldIDs.count - 1]
        let delta = Int(id) - Int(last)
        if delta > 0 && delta <= 15 {
            out.append(UInt8(delta << 4) | type.rawValue)
        } else {
            out.append(type.rawValue)
            zigzag(Int64(id))
        }
        lastFieldIDs[lastFieldIDs.count - 1] = id
    }

    // MARK: fields

    mutating func i32(_ id: Int16, _ value: Int32) {
        fieldHeader(id, .i32)
        zigzag(Int64(value))
    }

    mutating func i64(_ id: Int16, _ value: Int64) {
        fieldHeader(id, .i64)
        zigzag(value)
    }

    mutating func i16(_ id: Int16, _ value: Int16) {
        fieldHeader(id, .i16)
        zigzag(Int64(value))
    }

    mutating func bool(_ id: Int16, _ value: Bool) {
        fieldHeader(id, value ? .boolTrue : .boolFalse)
    }

    mutating func binary(_ id: Int16, _ bytes: UnsafeBufferPointer<UInt8>) {
        fieldHeader(id, .binary)
        binaryValue(bytes)
    }

    mutating func binary(_ id: Int16, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { binary(id, $0) }
    }

    mutating func string(_ id: Int16, _ text: String) { binary(id, Array(text.utf8)) }

    /// A list or string element: length then bytes.
    mutating func binaryValue(_ bytes: UnsafeBufferPointer<UInt8>) {
        varint(UInt64(bytes.count))
        if let base = bytes.baseAddress, bytes.count > 0 { out.append(base, bytes.count) }
    }

    /// Opens a struct-valued field; close it with `structEnd()`.
    mutating func structBegin(_ id: Int16) {
        fieldHeader(id, .structure)
        lastFieldIDs.append(0)
    }

    /// Opens a struct that is a list element (no field header).
    mutating func elementBegin() { lastFieldIDs.append(0) }

    /// Writes the stop byte of the innermost open struct.
    mutating func structEnd() {
        out.append(0)
        lastFieldIDs.removeLast()
    }

    /// A list field header; the caller then writes `count` elements of `elementType`.
    mutating func listBegin(_ id: Int16, _ elementType: ThriftType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            out.append(UInt8(count << 4) | elementType.rawValue)
        } else {
            out.append(0xF0 | elementType.rawValue)
            varint(UInt64(count))
        }
    }

    /// Ends the top-level struct (its stop byte).
    mutating func finish() { out.append(0) }
}

