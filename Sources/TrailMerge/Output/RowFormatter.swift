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
    /// The formatted text so far; the caller takes it and resets `count`.
    let block = ByteBuffer(capacity: RowFormatter.blockSize + (64 << 10))

    init(format: OutputFormat, layout: RowLayout, names: [String]) {
        self.format = format
        self.layout = layout
        self.names = names
        decoder = RowDecoder(columnCount: layout.keyOrder.count)
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
