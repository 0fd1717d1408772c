/// AWS Signature Version 4 for S3 (and, with `PathMode.generic`, for any service): in comes a
/// request (method, path as sent, decoded query pairs, headers, payload hash) and credentials; out
/// come the canonical request, the string to sign, the signature and the headers to send.
/// SHA-256 and HMAC come from the system libcrypto (`CCrypto`). Nothing here does I/O.
import CCrypto
import Foundation

/// An access key, its secret and an optional session token. `description` never shows the secret
/// or the token, so a value printed by mistake leaks nothing.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWSCredentials(\(accessKeyID), secret redacted)" }
}

/// SHA-256, HMAC-SHA256 and hex, through libcrypto's one-shot functions.
enum Crypto {
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { out in
            // SAFETY: `out` holds 32 bytes, SHA256's digest length; `bytes` is a valid buffer of its count.
            _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, out.baseAddress)
        }
        return digest
    }

    static func sha256<C: ContiguousBytes>(_ bytes: C) -> [UInt8] { bytes.withUnsafeBytes { sha256($0) } }
    static func sha256(_ text: String) -> [UInt8] { sha256(Array(text.utf8)) }

    static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                digest.withUnsafeMutableBufferPointer { out in
                    // SAFETY: `out` holds 32 bytes (SHA-256's MAC length); key and data are valid for their counts.
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, out.baseAddress, &length)
                }
            }
        }
        return digest
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The SHA-256 of the empty string, in hex: the payload hash of every bodiless request.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

/// S3's URI encoding: every byte of the UTF-8 text except the unreserved `A-Za-z0-9-._~` becomes
/// `%XX` (upper-case hex); `/` is kept only when `keepSlash` (object keys in paths).
public enum URIEncoding {
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            if isUnreserved(b) || (keepSlash && b == UInt8(ascii: "/")) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Percent-decoding (`%XX` to the byte; `+` stays `+`); malformed escapes are kept as they are.
    public static func decode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
                let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Signs requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256`, Authorization header).
public struct SigV4Signer: Sendable {
    /// How the canonical URI is made from the path as sent.
    public enum PathMode: Sendable {
        /// S3: the path as sent (already URI-encoded once, `/` kept) is the canonical URI; no dot
        /// segment removal, no collapsing of `//`, no second encoding. S3 also signs `x-amz-content-sha256`.
        case s3
        /// Every other service (AWS's generic SigV4 test suite): dot segments and repeated slashes
        /// are removed and the path as sent is URI-encoded again, so an encoded `%20` becomes `%2520`.
        case generic
    }

    /// A request to sign. `path` is exactly what goes on the request line (for S3, the key already
    /// encoded by `URIEncoding.encode(key, keepSlash: true)`); `query` holds decoded names and values.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(
            method: String, path: String, query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)], payloadHash: String = SigV4Signer.emptyPayloadHash
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// What signing produced: the intermediate texts (for tests) and the headers to send, which are
    /// the request's own plus `x-amz-date`, `x-amz-content-sha256` (S3), `x-amz-security-token`
    /// (when there is a token) and `Authorization`.
    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
        public var headers: [(name: String, value: String)]
    }

    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The SHA-256 of the empty body, in hex.
    public static let emptyPayloadHash = Crypto.emptyPayloadHash

    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    public var pathMode: PathMode
    /// Whether `x-amz-security-token` is part of the signed headers (S3: yes) or added after signing.
    public var signsSessionToken: Bool

    public init(
        credentials: AWSCredentials, region: String, service: String = "s3", pathMode: PathMode = .s3,
        signsSessionToken: Bool = true
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.pathMode = pathMode
        self.signsSessionToken = signsSessionToken
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z"
    }

    public func sign(_ request: Request, date: Date) -> Signed { sign(request, amzDate: Self.amzDate(date)) }

    /// Signs at `amzDate` (`20130524T000000Z`).
    public func sign(_ request: Request, amzDate: String) -> Signed {
        var headers = request.headers.filter { $0.name.lowercased() != "authorization" }
        func has(_ name: String) -> Bool { headers.contains { $0.name.lowercased() == name } }
        if !has("x-amz-date") { headers.append((name: "x-amz-date", value: amzDate)) }
        if pathMode == .s3 && !has("x-amz-content-sha256") {
            headers.append((name: "x-amz-content-sha256", value: request.payloadHash))
        }
        var lateHeaders: [(name: String, value: String)] = []
        if let token = credentials.sessionToken, !has("x-amz-security-token") {
            if signsSessionToken {
                headers.append((name: "x-amz-security-token", value: token))
            } else {
                lateHeaders.append((name: "x-amz-security-token", value: token))
            }
        }

        // Canonical headers: lower-case names, values trimmed with inner whitespace runs collapsed,
        // repeated names joined with ',' in order of appearance, sorted by name.
        var names: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if values[lower] == nil { names.append(lower) }
            values[lower, default: []].append(Self.collapseWhitespace(value))
        }
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var canonicalHeaders = ""
        for name in names { canonicalHeaders += name + ":" + values[name]!.joined(separator: ",") + "\n" }
        let signedHeaders = names.joined(separator: ";")

        let canonicalURI: String
        switch pathMode {
        case .s3: canonicalURI = request.path.isEmpty ? "/" : request.path
        case .generic: canonicalURI = URIEncoding.encode(Self.removeDotSegments(request.path), keepSlash: true)
        }

        let encodedQuery = request.query.map {
            (URIEncoding.encode($0.name, keepSlash: false), URIEncoding.encode($0.value, keepSlash: false))
        }.sorted { a, b in
            a.0 != b.0 ? Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
                : Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
        }
        let canonicalQuery = encodedQuery.map { $0.0 + "=" + $0.1 }.joined(separator: "&")

        let canonicalRequest = [
            request.method, canonicalURI, canonicalQuery, canonicalHeaders, signedHeaders, request.payloadHash,
        ].joined(separator: "\n")

        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Crypto.hex(Crypto.sha256(canonicalRequest)),
        ].joined(separator: "\n")

        var key = Crypto.hmacSHA256(key: Array(("AWS4" + credentials.secretAccessKey).utf8), data: Array(day.utf8))
        key = Crypto.hmacSHA256(key: key, data: Array(region.utf8))
        key = Crypto.hmacSHA256(key: key, data: Array(service.utf8))
        key = Crypto.hmacSHA256(key: key, data: Array("aws4_request".utf8))
        let signature = Crypto.hex(Crypto.hmacSHA256(key: key, data: Array(stringToSign.utf8)))

        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        headers += lateHeaders
        headers.append((name: "Authorization", value: authorization))
        return Signed(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            authorization: authorization, headers: headers)
    }

    /// Trims the value and turns every run of whitespace inside it into one space.
    static func collapseWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// RFC 3986 dot-segment removal, with repeated slashes collapsed as AWS's generic signing
    /// requires; a trailing slash is kept. Not used for S3.
    static func removeDotSegments(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
                continue
            }
            output.append(segment)
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return first + output.joined(separator: "/") + last
    }
}
