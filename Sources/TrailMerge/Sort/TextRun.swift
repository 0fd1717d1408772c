/// Sorted text files as merge runs (`trailmerge merge`): a TSV, CSV or JSON Lines file that
/// trailmerge wrote (gzip or plain), read back row by row into the same encoded rows `process`
/// sorts, so the merge order is exactly `process`'s. In: the file and the expected columns. Out:
/// encoded rows in file order. Invariants: every value is decoded exactly (escapes undone); a row
/// out of order, with another column count, or a header that differs from the fields is an error
/// naming the file and line.

/// A text input of `merge`.
public struct TextRunInput: Sendable {
    public let path: String
    public let format: OutputFormat
    public let names: [String]
    public let header: Bool
    public let layout: RowLayout
    /// Where `path` is read from (local or S3).
    let storage: Storage
}

/// One source of sorted rows for the external merge.
enum SortedRunSource {
    case file(String)
    case text(TextRunInput)
}

final class TextRunReader {
    private let input: TextRunInput
    private let reader = GzipReader()
    private var window: UnsafeMutablePointer<UInt8>
    private var capacity = 1 << 20
    private var start = 0
    private var end = 0
    private var eof = false
    private var line = 0
    private let values: RecordValues
    private let arena: RowArena
    private let previous = ByteBuffer(capacity: 1024)
    private var hasPrevious = false
    private let columns: Int

    init(_ input: TextRunInput) throws(TrailMergeError) {
        self.input = input
        columns = input.names.count
        values = RecordValues(fieldCount: columns)
        arena = RowArena(layout: input.layout, budget: 1 << 30)
        window = .allocate(capacity: capacity)
        try reader.open(input.storage.open(input.path), path: input.path)
        if input.header && input.format != .jsonl {
            guard try parseRow() else { throw failure("the file is empty, but --header expects a header line") }
            let expected = input.names.joined(separator: input.format == .tsv ? "\t" : ",")
            let got = (0..<columns).map { String(decoding: value($0), as: UTF8.self) }.joined(separator: input.format == .tsv ? "\t" : ",")
            guard got == expected else { throw failure("the header '\(got)' differs from --fields '\(expected)'") }
        }
    }

    deinit { window.deallocate() }

    func close() { reader.close() }

    private func failure(_ reason: String) -> TrailMergeError {
        .invalidInput(path: input.path, line: line, reason: reason)
    }

    private func value(_ field: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: values.bytes.base + values.starts[field], count: values.lengths[field])
    }

    /// The next encoded row, valid until the following call; nil at the end of the file.
    func next() throws(TrailMergeError) -> (UnsafePointer<UInt8>, Int)? {
        guard try parseRow() else { return nil }
        arena.reset()
        _ = arena.append(values)
        let ref = arena.refs[0]
        if input.layout.sorted {
            if hasPrevious && rowCompare(ref.key, ref.row, ref.length, RowKey(previous.base, previous.count), previous.base, previous.count) < 0 {
                throw failure("not sorted: this row sorts before the one above it (by --sort-by, then every column)")
            }
            previous.count = 0
            previous.append(ref.row, ref.length)
            hasPrevious = true
        }
        return (ref.row, ref.length)
    }

    // MARK: - Reading lines

    /// Makes sure `window[start..<end]` holds bytes up to `needed` beyond `start`, or the file ended.
    private func fill(beyond needed: Int) throws(TrailMergeError) -> Bool {
        while end - start <= needed && !eof {
            if start > 0 {
                window.update(from: window + start, count: end - start)
                end -= start
                start = 0
            }
            if end == capacity {
                guard capacity < 64 << 20 else { throw failure("a row is larger than the 64 MiB limit") }
                let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                bigger.update(from: window, count: end)
                window.deallocate()
                window = bigger
                capacity *= 2
            }
            let n = try reader.read(into: window + end, capacity: capacity - end)
            if n == 0 { eof = true } else { end += n }
        }
        return end - start > needed
    }

    /// Parses the next row into `values`; false at the end of the file.
    private func parseRow() throws(TrailMergeError) -> Bool {
        guard try fill(beyond: 0) else { return false }
        line += 1
        values.reset()
        values.hasLowBytes = false
        switch input.format {
        case .tsv: try parseTSV()
        case .csv: try parseCSV()
        case .jsonl: try parseJSONL()
        case .parquet: throw failure("merge reads the text formats (tsv, csv, jsonl), not parquet")
        }
        return true
    }

    private func store(field: Int, from valueStart: Int) throws(TrailMergeError) {
        guard field < columns else { throw failure("more than the \(columns) columns of --fields") }
        let out = values.bytes
        for j in valueStart..<out.count where out.base[j] <= 1 { values.hasLowBytes = true }
        values.set(field: field, start: valueStart, length: out.count - valueStart)
    }

    private func checkColumns(_ count: Int) throws(TrailMergeError) {
        guard count == columns else { throw failure("\(count) columns, but --fields has \(columns)") }
    }

    private func parseTSV() throws(TrailMergeError) {
        let out = values.bytes
        var field = 0
        var valueStart = out.count
        var i = 0
        while true {
            guard try fill(beyond: i) else { throw failure("the last row has no line end (truncated file?)") }
            let c = window[start + i]
            i += 1
            switch c {
            case 0x0A:
                try store(field: field, from: valueStart)
                try checkColumns(field + 1)
                start += i
                return
            case 0x09:
                try store(field: field, from: valueStart)
                field += 1
                valueStart = out.count
            case 0x5C:
                guard try fill(beyond: i) else { throw failure("a backslash at the end of the file") }
                let e = window[start + i]
                i += 1
                switch e {
                case 0x5C: out.append(0x5C)
                case 0x74: out.append(0x09)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                default: throw failure("'\\\(Character(Unicode.Scalar(e)))' is not a TSV escape trailmerge writes (\\\\, \\t, \\n, \\r)")
                }
            default:
                out.append(c)
            }
        }
    }

    private func parseCSV() throws(TrailMergeError) {
        let out = values.bytes
        var field = 0
        var i = 0
        while true {
            let valueStart = out.count
            guard try fill(beyond: i) else { throw failure("the last row has no line end (truncated file?)") }
            if window[start + i] == 0x22 {
                i += 1
                while true {
                    guard try fill(beyond: i) else { throw failure("a quoted field is not closed") }
                    let c = window[start + i]
                    i += 1
                    if c == 0x22 {
                        guard try fill(beyond: i) else { throw failure("the last row has no line end (truncated file?)") }
                        if window[start + i] == 0x22 { out.append(0x22); i += 1; continue }
                        break
                    }
                    out.append(c)
                }
            } else {
                while true {
                    guard try fill(beyond: i) else { throw failure("the last row has no line end (truncated file?)") }
                    let c = window[start + i]
                    if c == 0x2C || c == 0x0D || c == 0x0A { break }
                    if c == 0x22 { throw failure("a quote inside an unquoted field") }
                    out.append(c)
                    i += 1
                }
            }
            try store(field: field, from: valueStart)
            guard try fill(beyond: i) else { throw failure("the last row has no line end (truncated file?)") }
            let c = window[start + i]
            i += 1
            if c == 0x2C { field += 1; continue }
            if c == 0x0D {
                guard try fill(beyond: i), window[start + i] == 0x0A else { throw failure("a row must end in CRLF") }
                i += 1
            } else if c != 0x0A {
                throw failure("unexpected byte after a quoted field")
            }
            try checkColumns(field + 1)
            start += i
            return
        }
    }

    private func parseJSONL() throws(TrailMergeError) {
        let out = values.bytes
        var i = 0
        func byte() throws(TrailMergeError) -> UInt8 {
            guard try fill(beyond: i) else { throw failure("the last row is cut short (truncated file?)") }
            i += 1
            return window[start + i - 1]
        }
        func expect(_ text: String) throws(TrailMergeError) {
            for b in text.utf8 where try byte() != b { throw failure("not a row trailmerge writes (expected '\(text)')") }
        }
        /// Decodes a JSON string body (after its opening quote) onto `out`.
        func string() throws(TrailMergeError) {
            var pendingHigh: Int? = nil
            while true {
                let c = try byte()
                if c == 0x22 { break }
                guard c == 0x5C else { out.append(c); continue }
                let e = try byte()
                var code: Int
                switch e {
                case 0x22: code = 0x22
                case 0x5C: code = 0x5C
                case 0x2F: code = 0x2F
                case 0x6E: code = 0x0A
                case 0x72: code = 0x0D
                case 0x74: code = 0x09
                case 0x62: code = 0x08
                case 0x66: code = 0x0C
                case 0x75:
                    code = 0
                    for _ in 0..<4 {
                        let h = try byte()
                        let digit: Int
                        switch h {
                        case 0x30...0x39: digit = Int(h) - 0x30
                        case 0x61...0x66: digit = Int(h) - 0x61 + 10
                        case 0x41...0x46: digit = Int(h) - 0x41 + 10
                        default: throw failure("bad \\u escape")
                        }
                        code = code * 16 + digit
                    }
                default: throw failure("bad escape in a JSON string")
                }
                if (0xD800..<0xDC00).contains(code) { pendingHigh = code; continue }
                if let high = pendingHigh, (0xDC00..<0xE000).contains(code) {
                    code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                }
                pendingHigh = nil
                appendUTF8(code)
            }
        }
        func appendUTF8(_ code: Int) {
            if code < 0x80 { out.append(UInt8(code)) }
            else if code < 0x800 { out.append(UInt8(0xC0 | code >> 6)); out.append(UInt8(0x80 | code & 0x3F)) }
            else if code < 0x10000 {
                out.append(UInt8(0xE0 | code >> 12)); out.append(UInt8(0x80 | (code >> 6) & 0x3F)); out.append(UInt8(0x80 | code & 0x3F))
            } else {
                out.append(UInt8(0xF0 | code >> 18)); out.append(UInt8(0x80 | (code >> 12) & 0x3F))
                out.append(UInt8(0x80 | (code >> 6) & 0x3F)); out.append(UInt8(0x80 | code & 0x3F))
            }
        }
        let keys = input.names.map { name -> String in
            let buffer = ByteBuffer(capacity: name.utf8.count + 8)
            RowFormatter.appendJSONString(Array(name.utf8), to: buffer)
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
        for field in 0..<columns {
            try expect((field == 0 ? "{" : ",") + keys[field] + ":\"")
            let valueStart = out.count
            try string()
            try store(field: field, from: valueStart)
        }
        try expect("}\n")
        start += i
    }
}
