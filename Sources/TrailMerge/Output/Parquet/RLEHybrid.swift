/// Parquet's RLE/bit-packing hybrid encoding (definition levels and dictionary indices). In:
/// unsigned values below `1 << bitWidth`. Out: runs appended to a `ByteBuffer` (no length prefix;
/// the caller adds one where the page layout needs it). Invariant: a run of 8 or more equal values
/// becomes an RLE run; everything else goes into bit-packed runs of at most 63 groups of 8, and only
/// the last run of the stream is padded (readers stop after the page's value count).
enum RLEHybrid {
    /// The smallest bit width that holds `maxValue` (at least 1).
    static func bitWidth(_ maxValue: Int) -> Int {
        maxValue <= 1 ? 1 : Int.bitWidth - (maxValue).leadingZeroBitCount
    }

    static func encode<T: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafePointer<T>, count n: Int, bitWidth: Int, into out: ByteBuffer
    ) {
        let valueBytes = (bitWidth + 7) / 8
        @inline(__always) func varint(_ value: Int) {
            var v = UInt64(value)
            while v >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        /// True when at least 8 equal values start at `i`.
        @inline(__always) func longRunAt(_ i: Int) -> Bool {
            guard i + 8 <= n else { return false }
            let v = values[i]
            for j in (i + 1)..<(i + 8) where values[j] != v { return false }
            return true
        }
        // SAFETY: the caller passes `n` initialized values; every read below is at an index < n.
        var i = 0
        while i < n {
            if longRunAt(i) {
                let v = values[i]
                var j = i + 8
                while j < n && values[j] == v { j += 1 }
                varint((j - i) << 1)
                var value = UInt64(v)
                for _ in 0..<valueBytes {
                    out.append(UInt8(truncatingIfNeeded: value))
                    value >>= 8
                }
                i = j
                continue
            }
            // A bit-packed run: groups of 8 until a long run starts at a group boundary.
            var j = i
            repeat {
                j = min(j + 8, n)
            } while j < n && j - i < 63 * 8 && !longRunAt(j)
            let groups = (j - i + 7) / 8
            varint(groups << 1 | 1)
            out.reserve(groups * bitWidth)
            var accumulator: UInt64 = 0
            var bits = 0
            for k in i..<(i + groups * 8) {
                let v = k < j ? UInt64(values[k]) : 0
                accumulator |= v << UInt64(bits)
                bits += bitWidth
                while bits >= 8 {
                    out.append(UInt8(truncatingIfNeeded: accumulator))
                    accumulator >>= 8
                    bits -= 8
                }
            }
            i = j
        }
    }
}
