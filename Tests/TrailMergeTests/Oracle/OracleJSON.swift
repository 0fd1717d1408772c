/// The slow, obviously correct reference: a recursive-descent JSON parser over Swift arrays that
/// builds a tree, keeping each string's raw text (for compact output) next to its decoded bytes.
/// It shares no code with the library's scanner. Its accept/reject decisions are themselves checked
/// against Foundation's JSONSerialization in `OracleSelfCheckTests`.

indirect enum OracleValue: Equatable {
    case string(decoded: [UInt8], raw: [UInt8])
    case number([UInt8])
    case bool(Bool)
    case null
    case array([OracleValue])
    case object([OracleMember])

    static func == (a: OracleValue, b: OracleValue) -> Bool { a.compact == b.compact }

    /// Compact JSON text: no whitespace, strings as written, numbers as written.
    var compact: [UInt8] {
        switch self {
        case .string(_, let raw): return [0x22] + raw + [0x22]
        case .number(let text): return text
        case .bool(let b): return Array((b ? "true" : "false").utf8)
        case .null: return Array("null".utf8)
        case .array(let items):
            var out: [UInt8] = [0x5B]
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(0x2C) }
                out += item.compact
            }
            return out + [0x5D]
        case .object(let members):
            var out: [UInt8] = [0x7B]
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(0x2C) }
                out += [0x22] + member.rawKey + [0x22, 0x3A] + member.value.compact
            }
            return out + [0x7D]
        }
    }

    /// The member named `key` (the last one when a key repeats).
    func member(_ key: String) -> OracleValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }
}

struct OracleError: Error, CustomStringConvertible {
    let description: String
}

/// Parses concatenated JSON documents separated by optional whitespace.
struct OracleParser {
    private let bytes: [UInt8]
    private var i = 0
    private var keyRaw: [[UInt8]] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func documents(_ bytes: [UInt8]) throws -> [OracleValue] {
        var parser = OracleParser(bytes)
        var docs: [OracleValue] = []
        parser.whitespace()
        while parser.i < bytes.count {
            let value = try parser.value(depth: 0)
            docs.append(value)
            // A top-level scalar other than a string must be followed by whitespace or the end.
            switch value {
            case .number, .bool, .null:
                if parser.i < bytes.count && ![0x20, 0x09, 0x0A, 0x0D].contains(bytes[parser.i]) {
                    throw OracleError(description: "garbage after a top-level value at \(parser.i)")
                }
            default: break
            }
            parser.whitespace()
        }
        return docs
    }

    private mutating func whitespace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private func fail(_ message: String) -> OracleError { OracleError(description: "\(message) at \(i)") }

    private mutating func value(depth: Int) throws -> OracleValue {
        guard depth < 10_000 else { throw fail("too deep") }
        whitespace()
        guard i < bytes.count else { throw fail("end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [OracleMember] = []
            whitespace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return .object([]) }
            while true {
                whitespace()
                guard i < bytes.count, bytes[i] == 0x22 else { throw fail("key") }
                let (decoded, raw) = try string()
                whitespace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("colon") }
                i += 1
                let v = try value(depth: depth + 1)
                members.append(OracleMember(key: String(decoding: decoded, as: UTF8.self), rawKey: raw, value: v))
                whitespace()
                guard i < bytes.count else { throw fail("end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                throw fail("object")
            }
            return .object(members)
        case UInt8(ascii: "["):
            i += 1
            var items: [OracleValue] = []
            whitespace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return .array([]) }
            while true {
                items.append(try value(depth: depth + 1))
                whitespace()
                guard i < bytes.count else { throw fail("end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                throw fail("array")
            }
            return .array(items)
        case 0x22:
            let (decoded, raw) = try string()
            return .string(decoded: decoded, raw: raw)
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw fail("literal") }
        i += w.count
    }

    private mutating func number() throws -> [UInt8] {
        // Checked with a regular expression over the longest run of number characters.
        let start = i
        while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard text.wholeMatch(of: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/) != nil else { throw fail("number") }
        return Array(bytes[start..<i])
    }

    private mutating func string() throws -> (decoded: [UInt8], raw: [UInt8]) {
        i += 1
        let start = i
        var scalars = String.UnicodeScalarView()
        var decodedBytes: [UInt8] = []
        var pendingRaw: [UInt8] = []
        func flushRaw() {
            // Raw (unescaped) bytes pass through as they are, valid UTF-8 or not.
            decodedBytes += Array(String(scalars).utf8)
            scalars = String.UnicodeScalarView()
            decodedBytes += pendingRaw
            pendingRaw = []
        }
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            if c == 0x22 { break }
            if c < 0x20 { throw fail("control") }
            if c == 0x5C {
                flushRaw()
                guard i + 1 < bytes.count else { throw fail("escape") }
                let e = bytes[i + 1]
                let simple: [UInt8: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 8, 0x66: 12, 0x6E: 10, 0x72: 13, 0x74: 9]
                if let s = simple[e] {
                    decodedBytes.append(s)
                    i += 2
                    continue
                }
                guard e == UInt8(ascii: "u") else { throw fail("escape") }
                var code = try hex4(at: i + 2)
                i += 6
                if (0xD800...0xDBFF).contains(code), i + 5 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == UInt8(ascii: "u"),
                    let low = try? hex4(at: i + 2), (0xDC00...0xDFFF).contains(low)
                {
                    code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
                    i += 6
                }
                let scalar = Unicode.Scalar(UInt32(code)) ?? "\u{FFFD}"
                decodedBytes += Array(String(scalar).utf8)
                continue
            }
            pendingRaw.append(c)
            i += 1
        }
        flushRaw()
        let raw = Array(bytes[start..<i])
        i += 1
        return (decodedBytes, raw)
    }

    private func hex4(at position: Int) throws -> Int {
        guard position + 4 <= bytes.count else { throw fail("hex") }
        guard let v = Int(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16),
            bytes[position..<(position + 4)].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
        else { throw fail("hex") }
        return v
    }
}

struct OracleMember {
    let key: String
    let rawKey: [UInt8]
    let value: OracleValue
}
