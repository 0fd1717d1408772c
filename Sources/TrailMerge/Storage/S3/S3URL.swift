/// `s3://bucket/prefix` locations, and the small XML reader S3's answers need (a list page, an
/// error, an upload ID). Neither is on a hot path: one parse per request.

/// A parsed `s3://bucket/key-or-prefix`. The key is kept exactly as written (no decoding, no
/// normalisation: `a//b` and `a/./b` are distinct S3 keys).
public struct S3URL: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Whether `text` starts with `s3://` (then it is an S3 location, valid or not).
    public static func isS3(_ text: String) -> Bool { text.hasPrefix("s3://") }

    /// Parses `s3://bucket[/key]`; throws a usage error naming the text when it is not one.
    public init(parsing text: String) throws(TrailMergeError) {
        guard text.hasPrefix("s3://") else { throw .usage("\(text): not an s3:// URL") }
        let rest = text.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { throw .usage("\(text): the s3:// URL has no bucket name") }
        guard bucket.utf8.count >= 3, bucket.utf8.count <= 63,
            bucket.utf8.allSatisfy({
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
                    || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
            })
        else { throw .usage("\(text): '\(bucket)' is not a valid S3 bucket name") }
        self.bucket = String(bucket)
        self.key = String(rest.dropFirst(bucket.count + (rest.count > bucket.count ? 1 : 0)))
    }

    public var description: String { key.isEmpty ? "s3://\(bucket)/" : "s3://\(bucket)/\(key)" }

    /// The location of `key` in the same bucket.
    public func with(key: String) -> S3URL { S3URL(bucket: bucket, key: key) }
}

/// An element of a parsed XML document: its local name, its text (entities resolved) and children.
struct XMLNode: Sendable {
    var name: String
    var text: String = ""
    var children: [XMLNode] = []

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// The text of the first child called `name`.
    func value(_ name: String) -> String? { child(name)?.text }

    /// Parses a whole document; nil when it is not well-formed enough to read.
    static func parse(_ bytes: [UInt8]) -> XMLNode? {
        var stack: [XMLNode] = [XMLNode(name: "#document")]
        var i = 0
        let n = bytes.count
        func starts(_ s: String, at k: Int) -> Bool {
            let u = Array(s.utf8)
            return k + u.count <= n && Array(bytes[k..<(k + u.count)]) == u
        }
        func find(_ s: String, from k: Int) -> Int? {
            var j = k
            while j < n {
                if starts(s, at: j) { return j }
                j += 1
            }
            return nil
        }
        var text: [UInt8] = []
        func flushText() {
            if !text.isEmpty {
                stack[stack.count - 1].text += decodeEntities(text)
                text.removeAll()
            }
        }
        while i < n {
            let b = bytes[i]
            if b != UInt8(ascii: "<") {
                text.append(b)
                i += 1
                continue
            }
            if starts("<![CDATA[", at: i) {
                guard let end = find("]]>", from: i) else { return nil }
                flushText()
                stack[stack.count - 1].text += String(decoding: bytes[(i + 9)..<end], as: UTF8.self)
                i = end + 3
                continue
            }
            if starts("<?", at: i) || starts("<!--", at: i) || starts("<!", at: i) {
                let close = starts("<!--", at: i) ? "-->" : ">"
                guard let end = find(close, from: i) else { return nil }
                i = end + close.utf8.count
                continue
            }
            flushText()
            guard let end = find(">", from: i) else { return nil }
            var inner = Array(bytes[(i + 1)..<end])
            i = end + 1
            if inner.first == UInt8(ascii: "/") {
                guard stack.count > 1 else { return nil }
                let node = stack.removeLast()
                stack[stack.count - 1].children.append(node)
                continue
            }
            let selfClosing = inner.last == UInt8(ascii: "/")
            if selfClosing { inner.removeLast() }
            var nameBytes = inner.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
            if let colon = nameBytes.firstIndex(of: UInt8(ascii: ":")) { nameBytes = nameBytes[(colon + 1)...] }
            let node = XMLNode(name: String(decoding: nameBytes, as: UTF8.self))
            if selfClosing {
                stack[stack.count - 1].children.append(node)
            } else {
                stack.append(node)
            }
        }
        guard stack.count == 1 else { return nil }
        return stack[0].children.first
    }

    static func decodeEntities(_ bytes: [UInt8]) -> String {
        guard bytes.contains(UInt8(ascii: "&")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "&"), let semi = bytes[i...].firstIndex(of: UInt8(ascii: ";")), semi - i <= 10 {
                let entity = String(decoding: bytes[(i + 1)..<semi], as: UTF8.self)
                var scalar: UInt32?
                switch entity {
                case "amp": scalar = 38
                case "lt": scalar = 60
                case "gt": scalar = 62
                case "quot": scalar = 34
                case "apos": scalar = 39
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        scalar = UInt32(entity.dropFirst(2), radix: 16)
                    } else if entity.hasPrefix("#") {
                        scalar = UInt32(entity.dropFirst(1))
                    }
                }
                if let scalar, let u = Unicode.Scalar(scalar) {
                    out += Array(String(Character(u)).utf8)
                    i = semi + 1
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Escapes text for an XML element body (`&`, `<`, `>`; control characters as references).
func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            if scalar.value < 0x20 {
                out += "&#\(scalar.value);"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}
