import Testing
@testable import TrailMerge

/// The eight-byte string scan against the plain byte test it replaces.
@Suite struct JSONCursorTests {
    private static func plain(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x22 || c == 0x5C || c < 0x20 { return i }
            i += 1
        }
        return bytes.count
    }

    private static func scanned(_ bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { JSONCursor($0.baseAddress!, end: $0.count, eof: true).findStringSpecial(start) }
    }

    /// Every byte value in every position of a word (and in the scalar tail), among fillers below,
    /// at and above 0x80, and every pair of adjacent bytes, where a borrow could reach the second.
    @Test func findStringSpecialMatchesThePlainTestForEveryByteAndPair() {
        var mismatches: [String] = []
        for filler: UInt8 in [0x41, 0x21, 0x23, 0x7F, 0x80, 0xA2, 0xDC, 0xFF] {
            for value in 0...255 {
                for position in 0..<19 {
                    var bytes = [UInt8](repeating: filler, count: 19)
                    bytes[position] = UInt8(value)
                    for start in [0, 3] where Self.scanned(bytes, from: start) != Self.plain(bytes, from: start) {
                        mismatches.append("filler \(filler) value \(value) at \(position) from \(start)")
                    }
                }
            }
        }
        for first in 0...255 {
            for second in 0...255 {
                for position in [0, 6, 7] {
                    var bytes = [UInt8](repeating: 0x41, count: 16)
                    bytes[position] = UInt8(first)
                    bytes[position + 1] = UInt8(second)
                    if Self.scanned(bytes, from: 0) != Self.plain(bytes, from: 0) {
                        mismatches.append("pair \(first), \(second) at \(position)")
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }
}
