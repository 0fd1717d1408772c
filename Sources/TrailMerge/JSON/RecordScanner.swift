/// Validates JSON while it walks it and pulls the requested fields out of each record.
/// In: windows of decoded bytes (documents, possibly concatenated, possibly cut mid-value).
/// Out: one `RecordValues` per record, handed to the `RowArena`; counts of documents without the
/// records array (and of those that look like events themselves) for the run's warnings.
/// Invariants: every byte that is skipped is still validated against RFC 8259 (brackets, string
/// escapes, control characters, number grammar, literals); nesting is walked iteratively up to
/// `maxDepth`; a value cut by the window end is retried whole once more bytes arrive.

/// Why a scan stopped early.
import Glibc

enum ScanFailure: Error {
    /// The window ended inside a unit; retry from the last commit point with more bytes.
    case needMore
    /// The input is not valid; `position` is relative to the window start.
    case invalid(position: Int, reason: String)
}

/// How a call to `scan` ended.
enum ScanOutcome: Equatable {
    /// Everything before `keepFrom` is consumed; call again with the rest plus more bytes.
    case needMore(keepFrom: Int)
    /// The row arena is full; spill it, then call again from `resumeAt` with the same window.
    case paused(resumeAt: Int)
    /// End of input reached at a document boundary.
    case finished
}

final class RecordScanner {
    /// The deepest nesting accepted anywhere in a document.
    static let maxDepth = 10_000

    private struct Node {
        var keyHead: UInt64
        var keyOffset: Int
        var keyLength: Int
        var childStart: Int
        var childCount: Int
        /// Bit min(length, 63) is set for the key length of every child: most keys of a record
        /// are no child's, and their length alone says so.
        var childLengths: UInt64
        var fieldStart: Int
        var fieldCount: Int
        var element: Int
        var anyElement: Int
        var descends: Bool
    }

    private let nodes: UnsafeMutablePointer<Node>
    private let nodeCount: Int
    private let childIndex: UnsafeMutablePointer<Int>
    private let fieldIndex: UnsafeMutablePointer<Int>
    private let keyBytes: UnsafeMutablePointer<UInt8>
    private let depthStack: UnsafeMutablePointer<UInt8>
    private let recordsPath: [[UInt8]]
    private let recordsPathText: String
    let values: RecordValues
    private let keyScratch = ByteBuffer(capacity: 256)

    // The window being scanned.
    private var p: UnsafePointer<UInt8>
    private var end = 0
    private var eof = false
    private var windowOffset = 0

    // Document-level state, kept across windows.
    private enum Phase { case betweenDocuments, objectFirst, objectNext, arrayFirst, arrayNext }
    private var phase = Phase.betweenDocuments
    private var level = 0
    private var documentHasRecords = false
    private var documentLooksLikeEvent = false
    private var documentStart = 0
    /// With `--records .`: watch each record's top level for a `Records` array.
    private let probeRecordsKey: Bool

    /// Records completed since the last `beginFile`.
    private(set) var records = 0
    /// Documents since the last `beginFile` that had no records array (or were not objects).
    private(set) var documentsWithoutRecords = 0
    /// The byte offset of the first of them.
    private(set) var firstDocumentWithoutRecords = 0
    /// Of those, documents with an `eventTime` or `eventName` key at the top level.
    private(set) var eventLikeDocuments = 0
    /// With `--records .`: records that hold a top-level `Records` array.
    private(set) var recordsHoldingRecordsArray = 0

    /// - Parameter recordsPath: dotted path of the records array; `.` makes every top-level value a record.
    init(plan: FieldPlan, recordsPath: String) {
        let planNodes = plan.nodes
        nodeCount = planNodes.count
        nodes = .allocate(capacity: nodeCount)
        var children: [Int] = []
        var fields: [Int] = []
        var keys: [UInt8] = []
        for (index, node) in planNodes.enumerated() {
            (nodes + index).initialize(to: Node(
                keyHead: node.keyHead, keyOffset: keys.count, keyLength: node.key.count,
                childStart: children.count, childCount: node.children.count,
                childLengths: node.children.reduce(0) { $0 | UInt64(1) << UInt64(min(planNodes[$1].key.count, 63)) },
                fieldStart: fields.count, fieldCount: node.fields.count,
                element: node.element, anyElement: node.anyElement, descends: node.descends))
            keys.append(contentsOf: node.key)
            children.append(contentsOf: node.children)
            fields.append(contentsOf: node.fields)
        }
        childIndex = .allocate(capacity: max(children.count, 1))
        childIndex.initialize(from: children, count: children.count)
        fieldIndex = .allocate(capacity: max(fields.count, 1))
        fieldIndex.initialize(from: fields, count: fields.count)
        keyBytes = .allocate(capacity: max(keys.count, 1) + 8)
        keyBytes.initialize(repeating: 0, count: max(keys.count, 1) + 8)
        keyBytes.update(from: keys, count: keys.count)
        depthStack = .allocate(capacity: RecordScanner.maxDepth)
        values = RecordValues(fieldCount: plan.fieldCount, multiStart: plan.multiStart)
        recordsPathText = recordsPath
        self.recordsPath = recordsPath == "." ? [] : recordsPath.split(separator: ".").map { Array($0.utf8) }
        probeRecordsKey = recordsPath == "."
        p = UnsafePointer(keyBytes)
    }

    deinit {
        nodes.deallocate()
        childIndex.deallocate()
        fieldIndex.deallocate()
        keyBytes.deallocate()
        depthStack.deallocate()
    }

    /// Resets document state for a new file.
    func beginFile() {
        phase = .betweenDocuments
        level = 0
        records = 0
        documentsWithoutRecords = 0
        eventLikeDocuments = 0
        recordsHoldingRecordsArray = 0
    }

    // MARK: - Driving

    /// Scans `window[from..<count]`. `offset` is the file offset of `window[0]`, used in messages.
    /// `onRecord` receives each complete record and returns true when the caller wants a pause.
    func scan(
        _ window: UnsafePointer<UInt8>, count: Int, from start: Int, eof: Bool, offset: Int,
        onRecord: (RecordValues) -> Bool
    ) throws(ScanFailure) -> ScanOutcome {
        p = window
        end = count
        self.eof = eof
        windowOffset = offset
        var i = start
        var commit = start
        do throws(ScanFailure) {
            while true {
                commit = i
                switch phase {
                case .betweenDocuments:
                    skipWhitespace(&i)
                    if i >= end {
                        if eof { return .finished }
                        return .needMore(keepFrom: i)
                    }
                    documentStart = offset + i
                    if recordsPath.isEmpty {
                        try parseRecord(&i)
                        records += 1
                        if onRecord(values) { return .paused(resumeAt: i) }
                    } else if p[i] == 0x7B {  // {
                        i += 1
                        level = 0
                        documentHasRecords = false
                        documentLooksLikeEvent = false
                        phase = .objectFirst
                    } else {
                        let first = p[i]
                        try skipValue(&i)
                        // A top-level number or literal must end at whitespace or the end of input
                        // ("00" or "truex" is garbage, not two documents).
                        if first != 0x5B && first != 0x22 {
                            if i >= end && !eof { throw .needMore }
                            if i < end && !(p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09) {
                                throw invalid(i, "unexpected bytes after a top-level value")
                            }
                        }
                        noteDocumentWithoutRecords()
                    }
                case .objectFirst, .objectNext:
                    skipWhitespace(&i)
                    guard i < end else { throw short(i) }
                    var c = p[i]
                    if c == 0x7D {  // }
                        i += 1
                        closeObject()
                        continue
                    }
                    if phase == .objectNext {
                        guard c == 0x2C else { throw invalid(i, "expected ',' or '}' after object member") }
                        i += 1
                        skipWhitespace(&i)
                        guard i < end else { throw short(i) }
                        c = p[i]
                    }
                    guard c == 0x22 else { throw invalid(i, "expected a string key") }
                    i += 1
                    let keyStart = i
                    let escaped = try scanStringBody(&i)
                    let matches = try keyEquals(start: keyStart, end: i - 1, escaped: escaped, expected: recordsPath[level])
                    if level == 0 && !matches && i - 1 - keyStart == 9 && !escaped
                        && (memcmp(p + keyStart, "eventTime", 9) == 0 || memcmp(p + keyStart, "eventName", 9) == 0)
                    {
                        documentLooksLikeEvent = true
                    }
                    try skipColon(&i)
                    if matches && level == recordsPath.count - 1 {
                        guard p[i] == 0x5B else {
                            throw invalid(i, "\(recordsPathText) is not an array")
                        }
                        i += 1
                        documentHasRecords = true
                        phase = .arrayFirst
                    } else if matches && p[i] == 0x7B {
                        i += 1
                        level += 1
                        phase = .objectFirst
                    } else {
                        try skipValue(&i)
                        phase = .objectNext
                    }
                case .arrayFirst, .arrayNext:
                    skipWhitespace(&i)
                    guard i < end else { throw short(i) }
                    var c = p[i]
                    if c == 0x5D {  // ]
                        i += 1
                        phase = .objectNext
                        continue
                    }
                    if phase == .arrayNext {
                        guard c == 0x2C else { throw invalid(i, "expected ',' or ']' after a record") }
                        i += 1
                        skipWhitespace(&i)
                        guard i < end else { throw short(i) }
                        c = p[i]
                    }
                    try parseRecord(&i)
                    records += 1
                    phase = .arrayNext
                    if onRecord(values) { return .paused(resumeAt: i) }
                }
            }
        } catch {
            if case .needMore = error { return .needMore(keepFrom: commit) }
            throw error
        }
    }

    private func closeObject() {
        if level == 0 {
            if !documentHasRecords {
                if documentLooksLikeEvent { eventLikeDocuments += 1 }
                noteDocumentWithoutRecords()
            }
            phase = .betweenDocuments
        } else {
            level -= 1
            phase = .objectNext
        }
    }

    private func noteDocumentWithoutRecords() {
        if documentsWithoutRecords == 0 { firstDocumentWithoutRecords = documentStart }
        documentsWithoutRecords += 1
    }

    // MARK: - Errors

    @inline(__always)
    private func short(_ i: Int) -> ScanFailure {
        eof ? .invalid(position: i, reason: "unexpected end of input") : .needMore
    }

    private func invalid(_ i: Int, _ reason: String) -> ScanFailure {
        .invalid(position: i, reason: reason)
    }

    private func unexpected(_ i: Int) -> ScanFailure {
        let c = p[i]
        let shown = c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
        return .invalid(position: i, reason: "unexpected \(shown) where a JSON value was expected")
    }

    // MARK: - Lexical pieces

    @inline(__always)
    private func skipWhitespace(_ i: inout Int) {
        while i < end {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    @inline(__always)
    private func skipColon(_ i: inout Int) throws(ScanFailure) {
        skipWhitespace(&i)
        guard i < end else { throw short(i) }
        guard p[i] == 0x3A else { throw invalid(i, "expected ':' after object key") }
        i += 1
        skipWhitespace(&i)
        guard i < end else { throw short(i) }
    }

    /// The index of the first `"`, `\` or control byte at or after `start`, or `end`.
    @inline(__always)
    private func findStringSpecial(_ start: Int) -> Int {
        var i = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= end {
            // SAFETY: i + 8 <= end, so the eight bytes are inside the window.
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let q = w ^ (0x22 &* ones)
            let b = w ^ (0x5C &* ones)
            let mask = (((q &- ones) & ~q) | ((b &- ones) & ~b) | ((w &- 0x20 &* ones) & ~w)) & high
            if mask != 0 { return i + (mask.trailingZeroBitCount >> 3) }
            i += 8
        }
        while i < end {
            let c = p[i]
            if c == 0x22 || c == 0x5C || c < 0x20 { return i }
            i += 1
        }
        return end
    }

    /// Skips a string body (after the opening quote) and its closing quote.
    /// - Returns: whether the string contained escapes.
    @inline(__always)
    private func scanStringBody(_ i: inout Int) throws(ScanFailure) -> Bool {
        var escaped = false
        while true {
            i = findStringSpecial(i)
            guard i < end else { throw short(i) }
            let c = p[i]
            if c == 0x22 {
                i += 1
                return escaped
            }
            if c == 0x5C {
                escaped = true
                try skipEscape(&i)
            } else {
                throw invalid(i, "unescaped control character 0x\(String(c, radix: 16)) in string")
            }
        }
    }

    @inline(__always)
    private static func hexValue(_ c: UInt8) -> Int {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return -1
        }
    }

    /// Reads the four hex digits of a `\u` escape starting at `p[i]` (the backslash).
    private func unicodeEscape(_ i: Int) throws(ScanFailure) -> Int {
        guard i + 6 <= end else { throw short(end) }
        var code = 0
        for k in 2..<6 {
            let h = RecordScanner.hexValue(p[i + k])
            guard h >= 0 else { throw invalid(i, "invalid \\u escape (four hex digits expected)") }
            code = code << 4 | h
        }
        return code
    }

    private func skipEscape(_ i: inout Int) throws(ScanFailure) {
        guard i + 1 < end else { throw short(i + 1) }
        switch p[i + 1] {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
            i += 2
        case 0x75:
            _ = try unicodeEscape(i)
            i += 6
        default:
            throw invalid(i, "invalid escape sequence in string")
        }
    }

    /// Decodes a string body (after the opening quote) into `out`, resolving every escape.
    /// Lone surrogates become U+FFFD. Returns true when the decoded bytes include 0x00 or 0x01.
    private func decodeStringBody(_ i: inout Int, into out: ByteBuffer) throws(ScanFailure) -> Bool {
        var low = false
        while true {
            let runStart = i
            i = findStringSpecial(i)
            if i > runStart { out.append(p + runStart, i - runStart) }
            guard i < end else { throw short(i) }
            let c = p[i]
            if c == 0x22 {
                i += 1
                return low
            }
            guard c == 0x5C else {
                throw invalid(i, "unescaped control character 0x\(String(c, radix: 16)) in string")
            }
            guard i + 1 < end else { throw short(i + 1) }
            switch p[i + 1] {
            case 0x22: out.append(0x22); i += 2
            case 0x5C: out.append(0x5C); i += 2
            case 0x2F: out.append(0x2F); i += 2
            case 0x62: out.append(0x08); i += 2
            case 0x66: out.append(0x0C); i += 2
            case 0x6E: out.append(0x0A); i += 2
            case 0x72: out.append(0x0D); i += 2
            case 0x74: out.append(0x09); i += 2
            case 0x75:
                var code = try unicodeEscape(i)
                i += 6
                if code >= 0xD800 && code <= 0xDBFF {
                    // A high surrogate pairs with an immediately following \uDC00-\uDFFF.
                    if i + 1 < end && p[i] == 0x5C && p[i + 1] == 0x75 {
                        let next = try unicodeEscape(i)
                        if next >= 0xDC00 && next <= 0xDFFF {
                            code = 0x10000 + ((code - 0xD800) << 10) + (next - 0xDC00)
                            i += 6
                        } else {
                            code = 0xFFFD
                        }
                    } else if i + 1 >= end && !eof {
                        throw .needMore
                    } else {
                        code = 0xFFFD
                    }
                } else if code >= 0xDC00 && code <= 0xDFFF {
                    code = 0xFFFD
                }
                if code < 2 { low = true }
                appendUTF8(code, to: out)
            default:
                throw invalid(i, "invalid escape sequence in string")
            }
        }
    }

    private func appendUTF8(_ code: Int, to out: ByteBuffer) {
        if code < 0x80 {
            out.append(UInt8(code))
        } else if code < 0x800 {
            out.append(UInt8(0xC0 | (code >> 6)))
            out.append(UInt8(0x80 | (code & 0x3F)))
        } else if code < 0x10000 {
            out.append(UInt8(0xE0 | (code >> 12)))
            out.append(UInt8(0x80 | ((code >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (code & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (code >> 18)))
            out.append(UInt8(0x80 | ((code >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((code >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (code & 0x3F)))
        }
    }

    @inline(__always)
    private func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    private func skipNumber(_ i: inout Int) throws(ScanFailure) {
        let start = i
        if p[i] == 0x2D { i += 1 }
        guard i < end else { throw short(i) }
        if p[i] == 0x30 {
            i += 1
        } else if isDigit(p[i]) {
            i += 1
            while i < end && isDigit(p[i]) { i += 1 }
        } else {
            throw invalid(start, "invalid number")
        }
        if i < end && p[i] == 0x2E {
            i += 1
            guard i < end else { throw short(i) }
            guard isDigit(p[i]) else { throw invalid(start, "invalid number: digit expected after '.'") }
            while i < end && isDigit(p[i]) { i += 1 }
        }
        if i < end && (p[i] == 0x65 || p[i] == 0x45) {
            i += 1
            if i < end && (p[i] == 0x2B || p[i] == 0x2D) { i += 1 }
            guard i < end else { throw short(i) }
            guard isDigit(p[i]) else { throw invalid(start, "invalid number: digit expected in exponent") }
            while i < end && isDigit(p[i]) { i += 1 }
        }
        // A number touching the window end may continue in the next window.
        if i >= end && !eof { throw .needMore }
    }

    @inline(__always)
    private func skipLiteral(_ i: inout Int, _ word: StaticString) throws(ScanFailure) {
        let length = word.utf8CodeUnitCount
        let bytes = word.utf8Start
        var k = 0
        while k < length {
            guard i + k < end else { throw short(i + k) }
            guard p[i + k] == bytes[k] else { throw unexpected(i) }
            k += 1
        }
        i += length
    }

    // MARK: - Values

    /// Skips one complete value starting at `p[i]` (after whitespace), validating all of it.
    /// Containers are walked with an explicit stack, so depth never touches the call stack.
    private func skipValue(_ i: inout Int) throws(ScanFailure) {
        var depth = 0
        while true {
            skipWhitespace(&i)
            guard i < end else { throw short(i) }
            let c = p[i]
            switch c {
            case 0x22:
                i += 1
                _ = try scanStringBody(&i)
            case 0x7B, 0x5B:
                guard depth < RecordScanner.maxDepth else {
                    throw invalid(i, "nesting deeper than \(RecordScanner.maxDepth) levels")
                }
                let isObject = c == 0x7B
                depthStack[depth] = isObject ? 1 : 0
                depth += 1
                i += 1
                skipWhitespace(&i)
                guard i < end else { throw short(i) }
                if p[i] == (isObject ? 0x7D : 0x5D) {
                    i += 1
                    depth -= 1
                } else {
                    if isObject { try skipKeyAndColon(&i) }
                    continue
                }
            case 0x2D, 0x30...0x39:
                try skipNumber(&i)
            case 0x74: try skipLiteral(&i, "true")
            case 0x66: try skipLiteral(&i, "false")
            case 0x6E: try skipLiteral(&i, "null")
            default:
                throw unexpected(i)
            }
            // After a complete value: close containers or move to the next element.
            while true {
                if depth == 0 { return }
                skipWhitespace(&i)
                guard i < end else { throw short(i) }
                let d = p[i]
                let inObject = depthStack[depth - 1] == 1
                if d == 0x2C {
                    i += 1
                    if inObject {
                        skipWhitespace(&i)
                        try skipKeyAndColon(&i)
                    }
                    break
                }
                if d == (inObject ? 0x7D : 0x5D) {
                    i += 1
                    depth -= 1
                    continue
                }
                throw invalid(i, inObject ? "expected ',' or '}' after object member" : "expected ',' or ']' after array element")
            }
        }
    }

    @inline(__always)
    private func skipKeyAndColon(_ i: inout Int) throws(ScanFailure) {
        guard i < end else { throw short(i) }
        guard p[i] == 0x22 else { throw invalid(i, "expected a string key") }
        i += 1
        _ = try scanStringBody(&i)
        try skipColon(&i)
    }

    /// Appends `p[start..<stop]`, a validated value, without whitespace outside strings.
    private func appendCompact(_ start: Int, _ stop: Int, to out: ByteBuffer) {
        var i = start
        var runStart = start
        while i < stop {
            let c = p[i]
            if c == 0x22 {
                // Strings are copied as written, escapes included.
                i += 1
                while true {
                    let s = p[i]
                    if s == 0x5C { i += 2; continue }
                    i += 1
                    if s == 0x22 { break }
                }
            } else if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                if i > runStart { out.append(p + runStart, i - runStart) }
                i += 1
                runStart = i
            } else {
                i += 1
            }
        }
        if stop > runStart { out.append(p + runStart, stop - runStart) }
    }

    // MARK: - Records

    /// Compares a key in the window with an expected key.
    private func keyEquals(start: Int, end keyEnd: Int, escaped: Bool, expected: [UInt8]) throws(ScanFailure) -> Bool {
        if escaped {
            keyScratch.count = 0
            var j = start
            _ = try decodeStringBody(&j, into: keyScratch)
            return keyScratch.count == expected.count && keyScratch.bytes.elementsEqual(expected)
        }
        let length = keyEnd - start
        guard length == expected.count else { return false }
        return expected.withUnsafeBufferPointer { e in
            memcmp(p + start, e.baseAddress!, length) == 0
        }
    }

    private func parseRecord(_ i: inout Int) throws(ScanFailure) {
        guard p[i] == 0x7B else {
            throw invalid(i, "record is not a JSON object")
        }
        values.reset()
        try extractObject(node: 0, &i, inElement: false)
    }

    /// Finds the child of `node` whose key equals `key[0..<length]`, or -1.
    @inline(__always)
    private func findChild(_ node: Int, _ key: UnsafePointer<UInt8>, _ length: Int, canLoad8: Bool) -> Int {
        let n = nodes[node]
        if n.childLengths & (UInt64(1) << UInt64(min(length, 63))) == 0 { return -1 }
        var head: UInt64
        if canLoad8 {
            head = UnsafeRawPointer(key).loadUnaligned(as: UInt64.self)
            if length < 8 { head &= (UInt64(1) << (8 * UInt64(length))) &- 1 }
        } else {
            head = FieldPlan.head(key, length)
        }
        var k = n.childStart
        let stop = n.childStart + n.childCount
        while k < stop {
            let c = childIndex[k]
            let child = nodes[c]
            if child.keyLength == length && child.keyHead == head
                && (length <= 8 || memcmp(key + 8, keyBytes + child.keyOffset + 8, length - 8) == 0)
            {
                return c
            }
            k += 1
        }
        return -1
    }

    /// Walks the object at `p[i]` (`{`), capturing or descending into members named by `node`'s children.
    private func extractObject(node: Int, _ i: inout Int, inElement: Bool) throws(ScanFailure) {
        i += 1
        skipWhitespace(&i)
        guard i < end else { throw short(i) }
        if p[i] == 0x7D {
            i += 1
            return
        }
        while true {
            guard p[i] == 0x22 else { throw invalid(i, "expected a string key") }
            i += 1
            let keyStart = i
            let escaped = try scanStringBody(&i)
            let keyLength = i - 1 - keyStart
            try skipColon(&i)
            var child: Int
            if escaped {
                keyScratch.count = 0
                var j = keyStart
                _ = try decodeStringBody(&j, into: keyScratch)
                keyScratch.reserve(8)
                child = findChild(node, keyScratch.base, keyScratch.count, canLoad8: true)
            } else {
                child = findChild(node, p + keyStart, keyLength, canLoad8: keyStart + 8 <= end)
            }
            if child < 0 {
                if probeRecordsKey && node == 0 && keyLength == 7 && p[i] == 0x5B && memcmp(p + keyStart, "Records", 7) == 0 {
                    recordsHoldingRecordsArray += 1
                }
                try skipValue(&i)
            } else {
                try handleValue(node: child, &i, inElement: inElement)
            }
            skipWhitespace(&i)
            guard i < end else { throw short(i) }
            let c = p[i]
            if c == 0x2C {
                i += 1
                skipWhitespace(&i)
                guard i < end else { throw short(i) }
                continue
            }
            if c == 0x7D {
                i += 1
                return
            }
            throw invalid(i, "expected ',' or '}' after object member")
        }
    }

    /// Handles the value at `p[i]` for `node`: captures it for the node's columns, then descends
    /// into it for the node's children or exploded array.
    private func handleValue(node: Int, _ i: inout Int, inElement: Bool) throws(ScanFailure) {
        let n = nodes[node]
        if n.fieldCount > 0 {
            let valueStart = i
            try capture(&i, node: n, inElement: inElement)
            if !n.descends { return }
            i = valueStart
        }
        let c = p[i]
        if n.element >= 0 && c == 0x5B {
            try explode(element: n.element, &i)
        } else if n.anyElement >= 0 && c == 0x5B {
            try walkElements(n.anyElement, &i)
        } else if n.childCount > 0 && c == 0x7B {
            try extractObject(node: node, &i, inElement: inElement)
        } else {
            try skipValue(&i)
        }
    }

    private func capture(_ i: inout Int, node n: Node, inElement: Bool) throws(ScanFailure) {
        let out = values.bytes
        let start = out.count
        let c = p[i]
        if c == 0x22 {
            i += 1
            if try decodeStringBody(&i, into: out) { values.hasLowBytes = true }
        } else if c == 0x6E {
            try skipLiteral(&i, "null")
        } else {
            let valueStart = i
            try skipValue(&i)
            if c == 0x7B || c == 0x5B {
                appendCompact(valueStart, i, to: out)
            } else {
                out.append(p + valueStart, i - valueStart)
            }
        }
        let length = out.count - start
        let isPresent = c != 0x6E  // JSON null is NULL, like a missing path
        let multiStart = values.multiStart
        for k in n.fieldStart..<(n.fieldStart + n.fieldCount) {
            let field = fieldIndex[k]
            if field >= multiStart {
                values.appendMulti(field: field, start: start, length: length, present: isPresent)
            } else if inElement {
                values.setLastElement(start: start, length: length, present: isPresent)
            } else {
                values.set(field: field, start: start, length: length, present: isPresent)
            }
            values.markSeen(field: field)
        }
    }

    /// Walks the array at `p[i]` (`[`) for a hidden `[]` path: each element through `element`,
    /// without exploding (the element values land in `values.multi…`).
    private func walkElements(_ element: Int, _ i: inout Int) throws(ScanFailure) {
        try walkArray(element, &i, exploding: false)
    }

    /// Walks the exploded array at `p[i]` (`[`), opening one element per entry.
    private func explode(element: Int, _ i: inout Int) throws(ScanFailure) {
        values.clearElements()
        try walkArray(element, &i, exploding: true)
    }

    /// Walks the array at `p[i]` (`[`), each entry through `element`; when `exploding`, each entry
    /// opens an element of its own.
    @inline(__always)
    private func walkArray(_ element: Int, _ i: inout Int, exploding: Bool) throws(ScanFailure) {
        i += 1
        skipWhitespace(&i)
        guard i < end else { throw short(i) }
        if p[i] == 0x5D {
            i += 1
            return
        }
        while true {
            if exploding { values.appendElement() }
            skipWhitespace(&i)
            guard i < end else { throw short(i) }
            try handleValue(node: element, &i, inElement: exploding)
            skipWhitespace(&i)
            guard i < end else { throw short(i) }
            let c = p[i]
            if c == 0x2C {
                i += 1
                continue
            }
            if c == 0x5D {
                i += 1
                return
            }
            throw invalid(i, "expected ',' or ']' after array element")
        }
    }
}
