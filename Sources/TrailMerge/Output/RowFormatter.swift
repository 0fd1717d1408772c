/// Formats decoded rows as TSV, CSV or JSON Lines. In: encoded rows in output order. Out: blocks of
/// text handed to an `OutputSink`. Invariant: values are escaped per format (TSV: `\\ \t \n \r`;
/// CSV: RFC 4180 quoting with CRLF line ends; JSONL: JSON string escapes), nothing else changes.

/// The format of the output (Parquet rows go to `ParquetRowOutput`, not to this formatter).
public enum OutputFormat: String, Sendable, CaseIterable {
    case tsv, csv, jsonl, parquet
}

final class RowFormatter {
    static let blockSize = 1 << 20

    private let format: OutputFormat
    private let layout: RowLayout
    private let names: [String]
    private var decoder: RowDecoder
    private let jsonKeys: [[UInt8]]
    /// TSV whose columns are stored in output order (the default sort columns lead the field
    /// list): a row with no byte that needs attention is its own TSV line once every terminator
    /// becomes a tab and the last a newline (`appendPlainTSV`).
    private let plainTSV: Bool
    /// The formatted text so far; the caller takes it and resets `count`.
    let block = ByteBuffer(capacity: RowFormatter.blockSize + (64 << 10))

    init(format: OutputFormat, layout: RowLayout, names: [String]) {
        self.format = format
        self.layout = layout
        self.names = names
        decoder = RowDecoder(columnCount: layout.keyOrder.count)
        plainTSV = format == .tsv && !layout.nullsDistinct && layout.keyOrder == Array(0..<layout.keyOrder.count)
        jsonKeys = names.enumerated().map { index, name in
            let scratch = ByteBuffer(capacity: 64)
            scratch.append(index == 0 ? "{" : ",")
            RowFormatter.appendJSONString(Array(name.utf8), to: scratch)
            scratch.append(":")
            return scratch.array
        }
    }

    deinit { decoder.deallocate() }

    /// Appends the column names line (tsv and csv; JSON Lines has none).
    func appendHeader() {
        guard format != .jsonl else { return }
        for (index, name) in names.enumerated() {
            if index > 0 { block.append(format == .tsv ? 0x09 : 0x2C) }
            let bytes = Array(name.utf8)
            bytes.withUnsafeBufferPointer { appendValue($0) }
        }
        block.append(format == .csv ? "\r\n" : "\n")
    }

    /// Formats one encoded row onto `block`.
    @inline(__always)
    func write(_ row: UnsafePointer<UInt8>, _ length: Int) {
        if plainTSV && length > 0 && appendPlainTSV(row, length) { return }
        decoder.split(row, length)
        let columns = layout.positionOfField.count
        switch format {
        case .tsv, .csv:
            let separator: UInt8 = format == .tsv ? 0x09 : 0x2C
            for f in 0..<columns {
                if f > 0 { block.append(separator) }
                appendValue(decoder.value(layout.positionOfField[f]))
            }
            if format == .csv { block.append(0x0D) }
            block.append(0x0A)
        case .jsonl:
            for f in 0..<columns {
                jsonKeys[f].withUnsafeBufferPointer { block.append($0.baseAddress!, $0.count) }
                RowFormatter.appendJSONString(decoder.value(layout.positionOfField[f]), to: block)
            }
            block.append("}\n")
        case .parquet:
            preconditionFailure("Parquet rows are written by ParquetRowOutput")
        }
    }

    /// The TSV line of an encoded row, eight bytes at a time: each 0x00 terminator becomes a tab and
    /// the last one a newline. False, with nothing written, when the row holds a byte from 0x01 to
    /// 0x0D (the row encoding's escape, or a control character TSV escapes or that is rare enough
    /// to leave to the general path) or a backslash.
    @inline(__always)
    private func appendPlainTSV(_ row: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        var plain = true
        block.append(maxLength: length) { out in
            let ones: UInt64 = 0x0101_0101_0101_0101
            let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            let high: UInt64 = 0x8080_8080_8080_8080
            /// 0x80 in every byte of `x` that is 0x00, exactly (no borrow between bytes).
            @inline(__always) func zeros(_ x: UInt64) -> UInt64 { ~(((x & low7) &+ low7) | x) & high }
            @inline(__always) func convert(_ x: UInt64) -> UInt64? {
                let zero = zeros(x)
                let below14 = ~((x & low7) &+ (0x80 - 0x0E) &* ones) & ~x & high
                let backslash = zeros(x ^ (0x5C &* ones))
                guard (below14 & ~zero) | backslash == 0 else { return nil }
                return x | (zero >> 7) &* 0x09
            }
            var i = 0
            while i + 8 <= length {
                // SAFETY: i + 8 <= length, so the 8 bytes lie inside the row, and out has room for length bytes.
                let word = UInt64(littleEndian: UnsafeRawPointer(row + i).loadUnaligned(as: UInt64.self))
                guard let line = convert(word) else { plain = false; return 0 }
                UnsafeMutableRawPointer(out + i).storeBytes(of: line.littleEndian, as: UInt64.self)
                i += 8
            }
            if i < length {
                var word: UInt64 = 0
                for j in 0..<(length - i) { word |= UInt64(row[i + j]) << UInt64(8 * j) }
                guard let line = convert(word) else { plain = false; return 0 }
                for j in 0..<(length - i) { out[i + j] = UInt8(truncatingIfNeeded: line >> UInt64(8 * j)) }
            }
            out[length - 1] = 0x0A
            return length
        }
        return plain
    }

    @inline(__always)
    private func appendValue(_ value: UnsafeBufferPointer<UInt8>) {
        guard let base = value.baseAddress, value.count > 0 else { return }
        let n = value.count
        if format == .tsv {
            var runStart = 0
            for j in 0..<n {
                let c = base[j]
                guard c == 0x5C || (c <= 0x0D && (c == 0x09 || c == 0x0A || c == 0x0D)) else { continue }
                if j > runStart { block.append(base + runStart, j - runStart) }
                block.append(0x5C)
                block.append(c == 0x5C ? 0x5C : c == 0x09 ? 0x74 : c == 0x0A ? 0x6E : 0x72)
                runStart = j + 1
            }
            if n > runStart { block.append(base + runStart, n - runStart) }
        } else {
            var needsQuotes = false
            for j in 0..<n {
                let c = base[j]
                if c == 0x2C || c == 0x22 || c == 0x0A || c == 0x0D {
                    needsQuotes = true
                    break
                }
            }
            guard needsQuotes else {
                block.append(base, n)
                return
            }
            block.append(0x22)
            for j in 0..<n {
                let c = base[j]
                if c == 0x22 { block.append(0x22) }
                block.append(c)
            }
            block.append(0x22)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendJSONString<C: Collection>(_ value: C, to out: ByteBuffer) where C.Element == UInt8 {
        out.append(0x22)
        for c in value {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0x08: out.append(0x5C); out.append(0x62)
            case 0x0C: out.append(0x5C); out.append(0x66)
            case 0..<0x20:
                out.append("\\u00")
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 15)])
            default:
                out.append(c)
            }
        }
        out.append(0x22)
    }
}
