/// The SigV4 signer against AWS's generic test suite (copied in Fixtures/sigv4-testsuite) and the
/// S3 documentation's worked example.
import Foundation
import Testing
@testable import TrailMerge

/// One case of the suite: a folder holding NAME.req, NAME.creq, NAME.sts, NAME.authz, NAME.sreq.
struct SigV4SuiteCase: CustomStringConvertible, Sendable {
    let folder: String
    let name: String
    var description: String { name }

    func file(_ ext: String) -> String {
        String(decoding: FileManager.default.contents(atPath: "\(folder)/\(name).\(ext)")!, as: UTF8.self)
    }

    /// Every folder of the suite that holds a `.req`, sorted by name.
    static let all: [SigV4SuiteCase] = {
        let root = fixturesPath + "/sigv4-testsuite"
        let entries = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
        return entries.filter { $0.hasSuffix(".req") }.sorted().map { rel in
            let full = root + "/" + rel
            let name = ((full as NSString).lastPathComponent as NSString).deletingPathExtension
            return SigV4SuiteCase(folder: (full as NSString).deletingLastPathComponent, name: name)
        }
    }()

    /// The parsed request: request line, headers (continuation lines folded in), body.
    func request() -> SigV4Signer.Request {
        let text = file("req")
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        var target = String(requestLine.dropFirst(method.count + 1))
        target = String(target.dropLast(" HTTP/1.1".count))
        var headers: [(name: String, value: String)] = []
        var body = ""
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            if line.isEmpty {
                body = lines[index...].joined(separator: "\n")
                break
            }
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].value += "\n" + line
                continue
            }
            let colon = line.firstIndex(of: ":")!
            headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
        }
        var path = target
        var query: [(name: String, value: String)] = []
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append(
                    (name: URIEncoding.decode(String(parts[0])),
                     value: parts.count > 1 ? URIEncoding.decode(String(parts[1])) : ""))
            }
        }
        return SigV4Signer.Request(
            method: method, path: path, query: query, headers: headers,
            payloadHash: Crypto.hex(Crypto.sha256(body)))
    }
}

@Suite struct SigV4Tests {
    static let suiteCredentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    @Test func suiteHasAllCases() {
        #expect(SigV4SuiteCase.all.count == 34)
    }

    /// Every case of the generic suite: canonical request, string to sign and Authorization header
    /// byte for byte. The generic suite normalises and re-encodes the path (`PathMode.generic`).
    @Test(arguments: SigV4SuiteCase.all)
    func genericSuiteCase(_ testCase: SigV4SuiteCase) {
        var credentials = Self.suiteCredentials
        var signsToken = true
        switch testCase.name {
        case "get-vanilla-with-session-token":
            credentials.sessionToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        case "post-sts-header-after":
            credentials.sessionToken = Self.stsToken
            signsToken = false
        default: break
        }
        let signer = SigV4Signer(
            credentials: credentials, region: "us-east-1", service: "service", pathMode: .generic,
            signsSessionToken: signsToken)
        let signed = signer.sign(testCase.request(), amzDate: "20150830T123600Z")
        #expect(signed.canonicalRequest == testCase.file("creq"))
        #expect(signed.stringToSign == testCase.file("sts"))
        #expect(signed.authorization == testCase.file("authz"))
        // The signed request carries the token exactly when the suite's does.
        let sreq = testCase.file("sreq")
        let tokenHeader = signed.headers.first { $0.name.lowercased() == "x-amz-security-token" }
        #expect((tokenHeader != nil) == sreq.contains("X-Amz-Security-Token:"))
        if let tokenHeader { #expect(sreq.contains("X-Amz-Security-Token:" + tokenHeader.value)) }
    }

    static let stsToken =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    /// The S3 API reference's example: GET /test.txt with Range: bytes=0-9.
    @Test func s3DocumentationExample() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1")
        let request = SigV4Signer.Request(
            method: "GET", path: "/test.txt",
            headers: [(name: "Host", value: "examplebucket.s3.amazonaws.com"), (name: "Range", value: "bytes=0-9")])
        let signed = signer.sign(request, amzDate: "20130524T000000Z")
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
        #expect(signed.headers.contains { $0.name == "x-amz-content-sha256" && $0.value == SigV4Signer.emptyPayloadHash })
    }

    /// S3 mode keeps the path as sent: no dot-segment removal, no second encoding.
    @Test func s3PathIsNotNormalisedOrReencoded() {
        let signer = SigV4Signer(credentials: Self.suiteCredentials, region: "us-east-1")
        let key = "a//b/./c/../my key+%=@~é"
        let path = "/" + URIEncoding.encode(key, keepSlash: true)
        #expect(path == "/a//b/./c/../my%20key%2B%25%3D%40~%C3%A9")
        let signed = signer.sign(
            SigV4Signer.Request(method: "GET", path: path, headers: [(name: "host", value: "b.s3.amazonaws.com")]),
            amzDate: "20150830T123600Z")
        #expect(signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[1] == Substring(path))
    }

    @Test func uriEncodingRoundTripsEveryByte() {
        var bytes: [UInt8] = []
        for b in 0x20..<0x7f { bytes.append(UInt8(b)) }
        let text = String(decoding: bytes, as: UTF8.self) + "日本語 ✓"
        let encoded = URIEncoding.encode(text, keepSlash: false)
        #expect(encoded.utf8.allSatisfy { URIEncoding.isUnreserved($0) || $0 == UInt8(ascii: "%") })
        #expect(URIEncoding.decode(encoded) == text)
    }

    /// NIST FIPS 180-2 "abc" and RFC 4231 test case 2, through the libcrypto bindings.
    @Test func cryptoKnownAnswers() {
        #expect(Crypto.hex(Crypto.sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Crypto.hex(Crypto.sha256("")) == SigV4Signer.emptyPayloadHash)
        #expect(
            Crypto.hex(Crypto.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func amzDateFormatting() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }
}
