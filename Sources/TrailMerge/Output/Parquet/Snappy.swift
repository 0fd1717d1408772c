/// A Snappy compressor (the raw block format Parquet's SNAPPY codec uses: a varint of the
/// uncompressed length, then literal and copy elements). In: any bytes. Out: a Snappy block any
/// Snappy decompressor restores exactly. Invariant: input is cut into independent 64 KiB fragments,
/// so every copy offset fits in two bytes and the hash table is reset per fragment.

final class SnappyCompressor {
    private static let fragmentSize = 1 << 16
    private static let tableBits = 14
    private static let inputMargin = 15
    private let table: UnsafeMutablePointer<UInt16>

    init() {
        table = .allocate(capacity: 1 << SnappyCompressor.tableBits)
    }

    deinit { table.deallocate() }

    /// The largest output `compress` can produce for `count` input bytes.
    static func maxCompressedLength(_ count: Int) -> Int { 32 + count + count / 6 }

    /// Appends the Snappy block of `input` to `out`.
    func compress(_ input: UnsafeBufferPointer<UInt8>, into out: ByteBuffer) {
        out.reserve(SnappyCompressor.maxCompressedLength(input.count))
        var v = UInt64(input.count)
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        guard let base = input.baseAddress else { return }
        var position = 0
        while position < input.count {
            let length = min(SnappyCompressor.fragmentSize, input.count - position)
            compressFragment(base + position, length, out)
            position += length
        }
    }

    @inline(__always)
    private static func load32(_ p: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
    }

    @inline(__always)
    private static func hash(_ v: UInt32) -> Int {
        Int((v &* 0x1E35_A7BD) >> (32 - UInt32(tableBits)))
    }

    private func compressFragment(_ input: UnsafePointer<UInt8>, _ length: Int, _ out: ByteBuffer) {
        guard length >= SnappyCompressor.inputMargin else {
            SnappyCompressor.emitLiteral(input, length, out)
            return
        }
        table.initialize(repeating: 0, count: 1 << SnappyCompressor.tableBits)
        let ipLimit = length - SnappyCompressor.inputMargin
        var nextEmit = 0
        var ip = 1
        // SAFETY: every load32 below reads at a position <= ipLimit + 3 < length.
        outer: while ip <= ipLimit {
            var skip = 32
            var candidate = 0
            // Find a 4-byte match, skipping faster through incompressible input.
            while true {
                let current = SnappyCompressor.load32(input + ip)
                let h = SnappyCompressor.hash(current)
                candidate = Int(table[h])
                table[h] = UInt16(truncatingIfNeeded: ip)
                if candidate < ip && SnappyCompressor.load32(input + candidate) == current { break }
                ip += skip >> 5
                skip += 1
                if ip > ipLimit { break outer }
            }
            if ip > nextEmit { SnappyCompressor.emitLiteral(input + nextEmit, ip - nextEmit, out) }
            // Extend the match and emit copies until no match follows directly.
            repeat {
                var matched = 4
                // SAFETY: candidate < ip, so both reads stay below `length`.
                while ip + matched < length && input[candidate + matched] == input[ip + matched] { matched += 1 }
                SnappyCompressor.emitCopy(offset: ip - candidate, length: matched, out)
                ip += matched
                nextEmit = ip
                if ip > ipLimit { break outer }
                table[SnappyCompressor.hash(SnappyCompressor.load32(input + ip - 1))] = UInt16(ip - 1)
                let current = SnappyCompressor.load32(input + ip)
                let h = SnappyCompressor.hash(current)
                candidate = Int(table[h])
                table[h] = UInt16(ip)
                if !(candidate < ip && SnappyCompressor.load32(input + candidate) == current) { break }
            } while true
            ip += 1
        }
        if nextEmit < length { SnappyCompressor.emitLiteral(input + nextEmit, length - nextEmit, out) }
    }

    private static func emitLiteral(_ p: UnsafePointer<UInt8>, _ length: Int, _ out: ByteBuffer) {
        let n = length - 1
        if n < 60 {
            out.append(UInt8(n << 2))
        } else if n < 1 << 8 {
            out.append(60 << 2)
            out.append(UInt8(n))
        } else if n < 1 << 16 {
            out.append(61 << 2)
            out.append(UInt8(n & 0xFF))
            out.append(UInt8(n >> 8))
        } else {
            out.append(62 << 2)
            out.append(UInt8(n & 0xFF))
            out.append(UInt8((n >> 8) & 0xFF))
            out.append(UInt8(n >> 16))
        }
        out.append(p, length)
    }

    private static func emitCopy(offset: Int, length: Int, _ out: ByteBuffer) {
        var remaining = length
        while remaining >= 68 {
            emitCopyUpTo64(offset: offset, length: 64, out)
            remaining -= 64
        }
        if remaining > 64 {
            emitCopyUpTo64(offset: offset, length: 60, out)
            remaining -= 60
        }
        emitCopyUpTo64(offset: offset, length: remaining, out)
    }

    @inline(__always)
    private static func emitCopyUpTo64(offset: Int, length: Int, _ out: ByteBuffer) {
        if length >= 4 && length <= 11 && offset < 2048 {
            out.append(UInt8(((offset >> 8) << 5) | ((length - 4) << 2) | 1))
            out.append(UInt8(offset & 0xFF))
        } else {
            out.append(UInt8(((length - 1) << 2) | 2))
            out.append(UInt8(offset & 0xFF))
            out.append(UInt8(offset >> 8))
        }
    }
}
