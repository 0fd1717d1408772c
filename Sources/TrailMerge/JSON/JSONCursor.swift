import Glibc

/// The window of decoded bytes a `RecordScanner` reads: `base[0..<end]`, positions passed beside it.
/// Every unchecked pointer read of the JSON code goes through this type, and each one states the
/// bounds it relies on: debug builds assert them, and builds with `-D TRAILMERGE_BOUNDS_CHECKS`
/// (the fuzzers) trap on them, so a read past the window cannot go unnoticed there. Release builds
/// read without checks: the scanner tests every position against `end` before it reads.
/// A value type, so the hot loops keep `base` and `end` in registers instead of reloading them.
struct JSONCursor {
    let base: UnsafePointer<UInt8>
    /// The number of bytes in the window.
    let end: Int
    /// Whether the window ends at the end of the input (no more bytes will follow).
    let eof: Bool

    init(_ base: UnsafePointer<UInt8>, end: Int, eof: Bool) {
        self.base = base
        self.end = end
        self.eof = eof
    }

    @inline(__always)
    private func check(_ start: Int, _ count: Int) {
        #if TRAILMERGE_BOUNDS_CHECKS
        precondition(start >= 0 && count >= 0 && start + count <= end, "JSON read of \(count) bytes at \(start) outside 0..<\(end)")
        #else
        assert(start >= 0 && count >= 0 && start + count <= end, "JSON read outside the window")
        #endif
    }

    /// The byte at `i`; requires `0 <= i < end`.
    @inline(__always)
    subscript(i: Int) -> UInt8 {
        check(i, 1)
        // SAFETY: 0 <= i < end (checked above in debug and fuzz builds; every caller tests i < end).
        return base[i]
    }

    /// `base + i`, for `count` bytes the caller then reads (copies, compares); requires them in the window.
    @inline(__always)
    func pointer(_ i: Int, count: Int) -> UnsafePointer<UInt8> {
        check(i, count)
        // SAFETY: base[i..<i + count] is inside the window (checked above in debug and fuzz builds).
        return base + i
    }

    /// Whether `base[i..<i + word.count]` spells `word`; requires those bytes in the window.
    @inline(__always)
    func matches(_ i: Int, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        check(i, count)
        // SAFETY: base[i..<i + count] is inside the window (checked above in debug and fuzz builds).
        return memcmp(base + i, word.utf8Start, count) == 0
    }

    /// The error for a unit cut by the window end: retry with more bytes, or a true end of input.
    @inline(__always)
    func short(_ i: Int) -> ScanFailure {
        eof ? .invalid(position: i, reason: "unexpected end of input") : .needMore
    }

    @inline(__always)
    static func isWhitespace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
    }

    /// Moves `i` past JSON whitespace (stops at `end`).
    @inline(__always)
    func skipWhitespace(_ i: inout Int) {
        while i < end && JSONCursor.isWhitespace(self[i]) { i += 1 }
    }

    /// The index of the first `"`, `\` or control byte at or after `start`, or `end`.
    @inline(__always)
    func findStringSpecial(_ start: Int) -> Int {
        var i = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        while i &+ 8 <= end {
            check(i, 8)
            // SAFETY: i + 8 <= end, so the eight bytes are inside the window.
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let q = w ^ (0x22 &* ones)
            let b = w ^ (0x5C &* ones)
            // For a byte below 0x80 the high bit of the three differences is set exactly where q or
            // b is 0 (a quote or backslash) or w is below 0x20, and borrows only carry upwards from
            // such a byte, so the lowest set bit is exact. Bytes of 0x80 and above (UTF-8) are never
            // special; their high bit, which q and b share with w, is cleared by `~w`.
            let mask = ((q &- ones) | (b &- ones) | (w &- 0x20 &* ones)) & ~w & high
            if mask != 0 { return i &+ (mask.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < end {
            let c = self[i]
            if c == 0x22 || c == 0x5C || c < 0x20 { return i }
            i &+= 1
        }
        return end
    }

    // MARK: - Errors

    func invalid(_ i: Int, _ reason: String) -> ScanFailure {
        .invalid(position: i, reason: reason)
    }

    func unexpected(_ i: Int) -> ScanFailure {
        let c = self[i]
        let shown = c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
        return .invalid(position: i, reason: "unexpected \(shown) where a JSON value was expected")
    }

    // MARK: - Lexical pieces (each validates what it passes)

    @inline(__always)
    func skipColon(_ i: inout Int) throws(ScanFailure) {
        // Compact JSON: the colon right after the key, a value right after the colon.
        if i &+ 1 < end && self[i] == 0x3A && self[i &+ 1] > 0x20 {
            i &+= 1
            return
        }
        skipWhitespace(&i)
        guard i < end else { throw short(i) }
        guard self[i] == 0x3A else { throw invalid(i, "expected ':' after object key") }
        i += 1
        skipWhitespace(&i)
        guard i < end else { throw short(i) }
    }

    /// Skips a string body (after the opening quote) and its closing quote.
    /// - Returns: whether the string contained escapes.
    @inline(__always)
    func scanStringBody(_ i: inout Int) throws(ScanFailure) -> Bool {
        var escaped = false
        while true {
            i = findStringSpecial(i)
            guard i < end else { throw short(i) }
            let c = self[i]
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
    static func hexValue(_ c: UInt8) -> Int {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return -1
        }
    }

    /// Reads the four hex digits of a `\u` escape starting at `self[i]` (the backslash).
    func unicodeEscape(_ i: Int) throws(ScanFailure) -> Int {
        guard i + 6 <= end else { throw short(end) }
        var code = 0
        for k in 2..<6 {
            let h = JSONCursor.hexValue(self[i + k])
            guard h >= 0 else { throw invalid(i, "invalid \\u escape (four hex digits expected)") }
            code = code << 4 | h
        }
        return code
    }

    func skipEscape(_ i: inout Int) throws(ScanFailure) {
        guard i + 1 < end else { throw short(i + 1) }
        switch self[i + 1] {
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
    func decodeStringBody(_ i: inout Int, into out: ByteBuffer) throws(ScanFailure) -> Bool {
        var low = false
        while true {
            let runStart = i
            i = findStringSpecial(i)
            if i > runStart { out.append(pointer(runStart, count: i - runStart), i - runStart) }
            guard i < end else { throw short(i) }
            let c = self[i]
            if c == 0x22 {
                i += 1
                return low
            }
            guard c == 0x5C else {
                throw invalid(i, "unescaped control character 0x\(String(c, radix: 16)) in string")
            }
            guard i + 1 < end else { throw short(i + 1) }
            switch self[i + 1] {
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
                    if i + 1 < end && self[i] == 0x5C && self[i + 1] == 0x75 {
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

    func appendUTF8(_ code: Int, to out: ByteBuffer) {
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
    func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    func skipNumber(_ i: inout Int) throws(ScanFailure) {
        let start = i
        if self[i] == 0x2D { i += 1 }
        guard i < end else { throw short(i) }
        if self[i] == 0x30 {
            i += 1
        } else if isDigit(self[i]) {
            i += 1
            while i < end && isDigit(self[i]) { i += 1 }
        } else {
            throw invalid(start, "invalid number")
        }
        if i < end && self[i] == 0x2E {
            i += 1
            guard i < end else { throw short(i) }
            guard isDigit(self[i]) else { throw invalid(start, "invalid number: digit expected after '.'") }
            while i < end && isDigit(self[i]) { i += 1 }
        }
        if i < end && (self[i] == 0x65 || self[i] == 0x45) {
            i += 1
            if i < end && (self[i] == 0x2B || self[i] == 0x2D) { i += 1 }
            guard i < end else { throw short(i) }
            guard isDigit(self[i]) else { throw invalid(start, "invalid number: digit expected in exponent") }
            while i < end && isDigit(self[i]) { i += 1 }
        }
        // A number touching the window end may continue in the next window.
        if i >= end && !eof { throw .needMore }
    }

    @inline(__always)
    func skipLiteral(_ i: inout Int, _ word: StaticString) throws(ScanFailure) {
        let length = word.utf8CodeUnitCount
        let bytes = word.utf8Start
        var k = 0
        while k < length {
            guard i + k < end else { throw short(i + k) }
            guard self[i + k] == bytes[k] else { throw unexpected(i) }
            k += 1
        }
        i += length
    }

    // MARK: - Skipped values

    /// Skips one complete value starting at `i` (after whitespace), validating all of it.
    /// Containers are walked with `stack` (one byte per level, 1 for an object, `maxDepth` of
    /// them), so depth never touches the call stack. `i` is kept in a local, in a register.
    func skipValue(_ i: inout Int, stack: UnsafeMutablePointer<UInt8>, maxDepth: Int) throws(ScanFailure) {
        var j = i
        defer { i = j }
        var depth = 0
        var inObject = false
        var keyFirst = false
        while true {
            if keyFirst {
                // One place for the keys of skipped objects, so the key scan is inlined once.
                skipWhitespace(&j)
                guard j < end else { throw short(j) }
                guard self[j] == 0x22 else { throw invalid(j, "expected a string key") }
                j &+= 1
                _ = try scanStringBody(&j)
                try skipColon(&j)
                keyFirst = false
            }
            skipWhitespace(&j)
            guard j < end else { throw short(j) }
            let c = self[j]
            if c == 0x22 {
                j &+= 1
                _ = try scanStringBody(&j)
            } else if c == 0x7B || c == 0x5B {
                guard depth < maxDepth else { throw invalid(j, "nesting deeper than \(maxDepth) levels") }
                inObject = c == 0x7B
                // SAFETY: depth < maxDepth, the stack's capacity.
                stack[depth] = inObject ? 1 : 0
                depth &+= 1
                j &+= 1
                skipWhitespace(&j)
                guard j < end else { throw short(j) }
                if self[j] == c &+ 2 {  // '}' is '{' + 2 and ']' is '[' + 2
                    j &+= 1
                    depth &-= 1
                    // SAFETY: depth - 1 < maxDepth was written when that level opened.
                    inObject = depth > 0 && stack[depth &- 1] == 1
                } else {
                    keyFirst = inObject
                    continue
                }
            } else if c == 0x2D || isDigit(c) {
                try skipNumber(&j)
            } else if c == 0x74 {
                try skipLiteral(&j, "true")
            } else if c == 0x66 {
                try skipLiteral(&j, "false")
            } else if c == 0x6E {
                try skipLiteral(&j, "null")
            } else {
                throw unexpected(j)
            }
            // After a complete value: close containers or move to the next element.
            while true {
                if depth == 0 { return }
                // Compact JSON: the next element (or key) right after the comma.
                if j &+ 1 < end && self[j] == 0x2C && self[j &+ 1] > 0x20 {
                    j &+= 1
                    keyFirst = inObject
                    break
                }
                skipWhitespace(&j)
                guard j < end else { throw short(j) }
                let d = self[j]
                if d == 0x2C {
                    j &+= 1
                    keyFirst = inObject
                    break
                }
                if d == (inObject ? 0x7D : 0x5D) {
                    j &+= 1
                    depth &-= 1
                    // SAFETY: as above.
                    inObject = depth > 0 && stack[depth &- 1] == 1
                    continue
                }
                throw invalid(j, inObject ? "expected ',' or '}' after object member" : "expected ',' or ']' after array element")
            }
        }
    }
}
