/// A blocking S3 client (callable from many worker threads at once) over URLSession: list, get
/// (whole and ranged), head, put (optionally `If-None-Match: *`), multipart upload, delete. Every
/// request is signed with SigV4 (or sent anonymously), retried on 5xx/timeouts/resets/truncation
/// with exponential backoff and full jitter, and failures become one-line `TrailMergeError`s naming
/// `s3://bucket/key`. Credentials never appear in an error.
import CCrypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How to reach S3 and whom to sign as. Defaults follow the AWS CLI; every value can be given
/// explicitly (the command-line options) or comes from `environment`.
public struct S3Configuration: Sendable {
    /// `--endpoint-url`; else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, else AWS.
    public var endpoint: String?
    /// `--region`; else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region, else us-east-1
    /// followed by each bucket's `x-amz-bucket-region` answer.
    public var region: String?
    /// `--profile`.
    public var profile: String?
    /// `--s3-path-style`: path-style URLs even against AWS (always used with a custom endpoint and
    /// for bucket names containing dots).
    public var pathStyle = false
    /// `--no-sign-request`.
    public var anonymous = false
    /// Credentials to use as they are (tests, embedding); skips the resolution chain.
    public var credentials: AWSCredentials?
    /// `--s3-max-attempts`: tries per request, the first included.
    public var maxAttempts = 8
    /// Concurrent connections to one host (`--s3-concurrency`).
    public var maxConnections = 32
    /// Per-request inactivity timeout, seconds.
    public var requestTimeout: TimeInterval = 60
    /// Backoff: attempt n (from 1) sleeps a uniform random time in [0, min(maxDelay, baseDelay·2ⁿ⁻¹)].
    public var retryBaseDelay: TimeInterval = 0.2
    public var retryMaxDelay: TimeInterval = 20
    /// The process environment (replaceable in tests).
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init() {}
}

/// One listed object.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var etag: String
}

/// What HeadObject tells.
public struct S3ObjectInfo: Sendable, Equatable {
    public var size: Int64
    public var etag: String
}

/// An upload in progress (ListMultipartUploads).
public struct S3MultipartUpload: Sendable, Equatable {
    public var key: String
    public var uploadID: String
}

public final class S3Client: Sendable {
    public let configuration: S3Configuration
    public let credentials: S3CredentialsProvider
    let transport: HTTPTransport
    /// The custom endpoint, split: scheme, host, port, base path.
    let customEndpoint: (scheme: String, host: String, port: Int?, basePath: String)?
    let defaultRegion: String
    /// Regions learnt from `x-amz-bucket-region` answers.
    let bucketRegions = Locked<[String: String]>([:])
    /// Requests sent, retries made (for tests and `--stats`).
    let counters = Locked<(requests: Int, retries: Int)>((0, 0))

    public init(_ configuration: S3Configuration) throws(TrailMergeError) {
        self.configuration = configuration
        let env = configuration.environment
        if let fixed = configuration.credentials {
            credentials = .fixed(.explicit, fixed)
        } else {
            credentials = try S3CredentialsProvider.resolve(
                environment: env, explicitProfile: configuration.profile, anonymous: configuration.anonymous)
        }
        defaultRegion =
            resolveAWSRegion(explicit: configuration.region, environment: env, explicitProfile: configuration.profile)
            ?? "us-east-1"
        let endpointText = [configuration.endpoint, env["AWS_ENDPOINT_URL_S3"], env["AWS_ENDPOINT_URL"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        if let endpointText {
            guard let components = URLComponents(string: endpointText), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
            else { throw .s3Configuration("endpoint URL '\(endpointText)' is not an http(s) URL") }
            var base = components.percentEncodedPath
            while base.hasSuffix("/") { base.removeLast() }
            customEndpoint = (scheme, host, components.port, base)
        } else {
            customEndpoint = nil
        }
        transport = HTTPTransport(maxConnections: configuration.maxConnections, timeout: configuration.requestTimeout)
    }

    /// Requests sent (retries included) and retries made so far.
    public var requestCounts: (requests: Int, retries: Int) { counters.withLock { $0 } }

    // MARK: - Requests

    /// One S3 call before addressing and signing.
    struct Request {
        var method: String
        var bucket: String
        var key: String?
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body: Data?
    }

    /// A request made concrete for one region: URL, host header, path as sent.
    struct Prepared {
        var url: URL
        var host: String
        var path: String
    }

    func region(for bucket: String) -> String { bucketRegions.withLock { $0[bucket] } ?? defaultRegion }

    func usesPathStyle(_ bucket: String) -> Bool {
        customEndpoint != nil || configuration.pathStyle || bucket.contains(".")
    }

    /// Addressing: virtual-hosted `bucket.s3.region.amazonaws.com/key` by default; path style
    /// `host/bucket/key` with a custom endpoint, a dotted bucket or `pathStyle`.
    func prepare(_ request: Request, region: String) -> Prepared {
        let scheme: String
        var host: String
        var port: Int?
        var path: String
        let encodedKey = request.key.map { URIEncoding.encode($0, keepSlash: true) }
        if let custom = customEndpoint {
            scheme = custom.scheme
            host = custom.host
            port = custom.port
            path = custom.basePath
        } else {
            scheme = "https"
            host = "s3.\(region).amazonaws.com"
            path = ""
        }
        if usesPathStyle(request.bucket) {
            path += "/" + URIEncoding.encode(request.bucket, keepSlash: false)
            if let encodedKey { path += "/" + encodedKey }
        } else {
            host = request.bucket + "." + host
            path += "/" + (encodedKey ?? "")
        }
        if let p = port, !((scheme == "http" && p == 80) || (scheme == "https" && p == 443)) {
            host += ":\(p)"
        } else {
            port = nil
        }
        var text = scheme + "://" + host + path
        if !request.query.isEmpty {
            text += "?" + request.query.map { pair in
                let name = URIEncoding.encode(pair.name, keepSlash: false)
                return pair.value.isEmpty && Self.flagParameters.contains(pair.name)
                    ? name : name + "=" + URIEncoding.encode(pair.value, keepSlash: false)
            }.joined(separator: "&")
        }
        return Prepared(url: URL(string: text)!, host: host, path: path)
    }

    static let flagParameters: Set<String> = ["uploads", "delete"]

    /// The request's headers signed for `region` at `amzDate` (unsigned plus `host` when anonymous).
    func signedHeaders(
        _ request: Request, prepared: Prepared, region: String, amzDate: String, credentials: AWSCredentials?,
        payloadHash: String
    ) -> [(name: String, value: String)] {
        guard let credentials else { return [(name: "host", value: prepared.host)] + request.headers }
        return sign(request, prepared: prepared, region: region, amzDate: amzDate, credentials: credentials, payloadHash: payloadHash)
            .headers
    }

    /// SigV4 for one prepared request: `host`, the request's headers and `x-amz-content-sha256`.
    func sign(
        _ request: Request, prepared: Prepared, region: String, amzDate: String, credentials: AWSCredentials,
        payloadHash: String
    ) -> SigV4Signer.Signed {
        var headers = [(name: "host", value: prepared.host)] + request.headers
        headers.append((name: "x-amz-content-sha256", value: payloadHash))
        let signer = SigV4Signer(credentials: credentials, region: region)
        return signer.sign(
            SigV4Signer.Request(
                method: request.method, path: prepared.path, query: request.query, headers: headers,
                payloadHash: payloadHash), amzDate: amzDate)
    }

    /// Sends `request`, retrying what can be retried; returns the 2xx answer or throws one line
    /// naming `object`. `acceptable` statuses (404 for HEAD) are returned instead of thrown.
    func perform(_ request: Request, object: String, acceptable: Set<Int> = []) throws(TrailMergeError) -> HTTPResponse {
        if let key = request.key, Self.hasDotSegment(key) {
            // libcurl removes `.` and `..` segments from the URL path before sending, so such a
            // request would reach a different key (or fail its signature): refuse it up front.
            throw .s3Transport(
                object: object, reason: "keys with '.' or '..' path segments are not supported (the HTTP client would rewrite them)")
        }
        let payloadHash = request.body.map { Crypto.hex(Crypto.sha256($0)) } ?? SigV4Signer.emptyPayloadHash
        var attempt = 0
        var redirects = 0
        while true {
            attempt += 1
            let region = region(for: request.bucket)
            let prepared = prepare(request, region: region)
            let creds = try credentials.current()
            let headers = signedHeaders(
                request, prepared: prepared, region: region, amzDate: SigV4Signer.amzDate(Date()), credentials: creds,
                payloadHash: payloadHash)
            counters.withLock { $0.requests += 1 }
            let result = transport.send(
                method: request.method, url: prepared.url, headers: headers, body: request.body,
                timeout: configuration.requestTimeout)
            var failure: TrailMergeError
            var retryable: Bool
            switch result {
            case .success(let response):
                let error = (200..<300).contains(response.status) ? Self.errorInSuccessBody(response) : nil
                if (200..<300).contains(response.status) && error == nil { return response }
                if acceptable.contains(response.status) { return response }
                if [301, 307, 400].contains(response.status), let bucketRegion = response.header("x-amz-bucket-region"),
                    !bucketRegion.isEmpty, bucketRegion != region, redirects < 3
                {
                    redirects += 1
                    attempt -= 1
                    bucketRegions.withLock { $0[request.bucket] = bucketRegion }
                    continue
                }
                let (code, message) = error ?? Self.parseError(response)
                retryable =
                    [500, 502, 503, 504].contains(response.status)
                    || ["SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable"].contains(code)
                failure = .s3(object: object, status: response.status, code: code, message: scrub(message, creds))
            case .failure(let transportFailure):
                retryable = transportFailure.retryable
                failure = .s3Transport(object: object, reason: transportFailure.reason)
            }
            guard retryable, attempt < configuration.maxAttempts else {
                if retryable, attempt > 1, case .s3Transport(let o, let reason) = failure {
                    throw .s3Transport(object: o, reason: "\(reason) (after \(attempt) attempts)")
                }
                throw failure
            }
            counters.withLock { $0.retries += 1 }
            let ceiling = min(configuration.retryMaxDelay, configuration.retryBaseDelay * pow(2, Double(attempt - 1)))
            let delay = Double.random(in: 0...max(ceiling, 0))
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        }
    }

    /// Whether `key` has a `.` or `..` segment between slashes (or at either end).
    static func hasDotSegment(_ key: String) -> Bool {
        key.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == "." || $0 == ".." }
    }

    /// CompleteMultipartUpload and CopyObject can answer 200 with an `<Error>` body.
    static func errorInSuccessBody(_ response: HTTPResponse) -> (String, String)? {
        guard response.body.count < 4096, response.body.count > 0,
            let root = XMLNode.parse(Array(response.body)), root.name == "Error"
        else { return nil }
        return (root.value("Code") ?? "InternalError", root.value("Message") ?? "")
    }

    static func parseError(_ response: HTTPResponse) -> (code: String, message: String) {
        if let root = XMLNode.parse(Array(response.body)), root.name == "Error" {
            let code = root.value("Code") ?? "HTTP\(response.status)"
            var message = root.value("Message") ?? ""
            if let region = root.value("Region") ?? response.header("x-amz-bucket-region"), code == "PermanentRedirect" {
                message += " (the bucket is in \(region))"
            }
            return (code, message)
        }
        let code: String
        switch response.status {
        case 301: code = "PermanentRedirect"
        case 400: code = "BadRequest"
        case 403: code = "AccessDenied"
        case 404: code = "NotFound"
        case 412: code = "PreconditionFailed"
        case 416: code = "InvalidRange"
        case 500: code = "InternalError"
        case 503: code = "ServiceUnavailable"
        default: code = "HTTP\(response.status)"
        }
        return (code, "")
    }

    /// Removes the secret and the session token should a server ever echo them.
    func scrub(_ message: String, _ credentials: AWSCredentials?) -> String {
        guard let credentials else { return message }
        var out = message
        for secret in [credentials.secretAccessKey, credentials.sessionToken ?? ""] where secret.count >= 8 {
            out = out.replacingOccurrences(of: secret, with: "<redacted>")
        }
        if out.count > 300 { out = String(out.prefix(300)) + "…" }
        return out
    }

    // MARK: - Operations

    /// ListObjectsV2 under `prefix`, page by page (`pageSize` ≤ 1000 keys), keys in UTF-8 byte
    /// order as S3 returns them; `page` is called once per page. Keys are requested URL-encoded
    /// (`encoding-type=url`) so that any byte survives the XML.
    public func listObjects(
        bucket: String, prefix: String, startAfter: String? = nil, pageSize: Int = 1000,
        page: ([S3Object]) throws(TrailMergeError) -> Void
    ) throws(TrailMergeError) {
        var token: String?
        let location = S3URL(bucket: bucket, key: prefix).description
        repeat {
            let request = Self.listRequest(
                bucket: bucket, prefix: prefix, token: token, startAfter: token == nil ? startAfter : nil, pageSize: pageSize)
            let response = try perform(request, object: location)
            guard let root = XMLNode.parse(Array(response.body)), root.name == "ListBucketResult" else {
                throw .s3(object: location, status: response.status, code: "MalformedResponse", message: "ListObjectsV2 answer is not a ListBucketResult")
            }
            let encoded = root.value("EncodingType") == "url"
            var objects: [S3Object] = []
            objects.reserveCapacity(root.children.count)
            for item in root.all("Contents") {
                guard let rawKey = item.value("Key"), let size = item.value("Size").flatMap(Int64.init) else { continue }
                objects.append(
                    S3Object(key: encoded ? Self.decodeListedKey(rawKey) : rawKey, size: size, etag: item.value("ETag") ?? ""))
            }
            try page(objects)
            token = root.value("IsTruncated") == "true" ? root.value("NextContinuationToken") : nil
        } while token != nil
    }

    static func listRequest(bucket: String, prefix: String, token: String?, startAfter: String?, pageSize: Int) -> Request {
        var query: [(name: String, value: String)] = [
            ("list-type", "2"), ("prefix", prefix), ("max-keys", String(pageSize)), ("encoding-type", "url"),
        ]
        if let token { query.append(("continuation-token", token)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        return Request(method: "GET", bucket: bucket, key: nil, query: query)
    }

    /// Every object under `prefix`.
    public func listAllObjects(bucket: String, prefix: String) throws(TrailMergeError) -> [S3Object] {
        var all: [S3Object] = []
        try listObjects(bucket: bucket, prefix: prefix) { (page: [S3Object]) throws(TrailMergeError) in all += page }
        return all
    }

    /// `encoding-type=url` keys: `+` is a space, `%XX` a byte.
    static func decodeListedKey(_ text: String) -> String {
        URIEncoding.decode(text.replacingOccurrences(of: "+", with: " "))
    }

    /// GetObject, whole, or the bytes `range` (half-open offsets) with a ranged GET.
    public func getObject(_ url: S3URL, range: Range<Int64>? = nil) throws(TrailMergeError) -> Data {
        if let range, range.isEmpty { return Data() }
        let response = try perform(Self.getRequest(url, range: range), object: url.description)
        if let range, response.status == 200 {
            // A server that ignores Range answers the whole object: cut the range out of it.
            let lower = Int(range.lowerBound)
            let upper = min(Int(range.upperBound), response.body.count)
            return lower < upper ? response.body.subdata(in: lower..<upper) : Data()
        }
        return response.body
    }

    static func getRequest(_ url: S3URL, range: Range<Int64>?) -> Request {
        var request = Request(method: "GET", bucket: url.bucket, key: url.key)
        if let range { request.headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")) }
        return request
    }

    /// HeadObject; nil when the key does not exist.
    public func headObject(_ url: S3URL) throws(TrailMergeError) -> S3ObjectInfo? {
        let response = try perform(Self.headRequest(url), object: url.description, acceptable: [404])
        if response.status == 404 { return nil }
        return S3ObjectInfo(
            size: response.header("content-length").flatMap(Int64.init) ?? 0, etag: response.header("etag") ?? "")
    }

    static func headRequest(_ url: S3URL) -> Request { Request(method: "HEAD", bucket: url.bucket, key: url.key) }

    /// PutObject; with `ifNoneMatch` the put fails with `.s3(status: 412, code: "PreconditionFailed")`
    /// when the key exists. Returns the ETag.
    @discardableResult
    public func putObject(_ url: S3URL, body: Data, ifNoneMatch: Bool = false, contentType: String = "application/octet-stream")
        throws(TrailMergeError) -> String
    {
        try perform(Self.putRequest(url, body: body, ifNoneMatch: ifNoneMatch, contentType: contentType), object: url.description)
            .header("etag") ?? ""
    }

    static func putRequest(_ url: S3URL, body: Data, ifNoneMatch: Bool, contentType: String) -> Request {
        var request = Request(method: "PUT", bucket: url.bucket, key: url.key, body: body)
        request.headers.append(("Content-Type", contentType))
        if ifNoneMatch { request.headers.append(("If-None-Match", "*")) }
        return request
    }

    /// CreateMultipartUpload; returns the upload ID.
    public func createMultipartUpload(_ url: S3URL, contentType: String = "application/octet-stream") throws(TrailMergeError) -> String {
        let response = try perform(Self.createMultipartRequest(url, contentType: contentType), object: url.description)
        guard let id = XMLNode.parse(Array(response.body))?.value("UploadId"), !id.isEmpty else {
            throw .s3(object: url.description, status: response.status, code: "MalformedResponse", message: "no UploadId in the answer")
        }
        return id
    }

    static func createMultipartRequest(_ url: S3URL, contentType: String) -> Request {
        var request = Request(method: "POST", bucket: url.bucket, key: url.key, query: [("uploads", "")])
        request.headers.append(("Content-Type", contentType))
        return request
    }

    /// UploadPart (`partNumber` from 1); returns the part's ETag.
    public func uploadPart(_ url: S3URL, uploadID: String, partNumber: Int, body: Data) throws(TrailMergeError) -> String {
        let response = try perform(
            Self.uploadPartRequest(url, uploadID: uploadID, partNumber: partNumber, body: body), object: url.description)
        guard let etag = response.header("etag") else {
            throw .s3(object: url.description, status: response.status, code: "MalformedResponse", message: "no ETag for part \(partNumber)")
        }
        return etag
    }

    static func uploadPartRequest(_ url: S3URL, uploadID: String, partNumber: Int, body: Data) -> Request {
        Request(
            method: "PUT", bucket: url.bucket, key: url.key,
            query: [("partNumber", String(partNumber)), ("uploadId", uploadID)], body: body)
    }

    /// CompleteMultipartUpload with the parts in order; `ifNoneMatch` makes it fail with 412 when
    /// the key appeared meanwhile. Returns the object's ETag (`"…-N"` for N parts).
    @discardableResult
    public func completeMultipartUpload(
        _ url: S3URL, uploadID: String, parts: [(partNumber: Int, etag: String)], ifNoneMatch: Bool = false
    ) throws(TrailMergeError) -> String {
        let request = Self.completeRequest(url, uploadID: uploadID, parts: parts, ifNoneMatch: ifNoneMatch)
        let response = try perform(request, object: url.description)
        return XMLNode.parse(Array(response.body))?.value("ETag") ?? ""
    }

    static func completeRequest(
        _ url: S3URL, uploadID: String, parts: [(partNumber: Int, etag: String)], ifNoneMatch: Bool
    ) -> Request {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><ETag>\(xmlEscape(part.etag))</ETag><PartNumber>\(part.partNumber)</PartNumber></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        var request = Request(
            method: "POST", bucket: url.bucket, key: url.key, query: [("uploadId", uploadID)], body: Data(xml.utf8))
        // Explicit, else URLSession sends application/x-www-form-urlencoded (which moto then parses).
        request.headers.append(("Content-Type", "application/xml"))
        if ifNoneMatch { request.headers.append(("If-None-Match", "*")) }
        return request
    }

    /// AbortMultipartUpload; an upload already gone (404 NoSuchUpload) counts as aborted.
    public func abortMultipartUpload(_ url: S3URL, uploadID: String) throws(TrailMergeError) {
        _ = try perform(Self.abortRequest(url, uploadID: uploadID), object: url.description, acceptable: [404])
    }

    static func abortRequest(_ url: S3URL, uploadID: String) -> Request {
        Request(method: "DELETE", bucket: url.bucket, key: url.key, query: [("uploadId", uploadID)])
    }

    /// ListMultipartUploads under `prefix`, every page.
    public func listMultipartUploads(bucket: String, prefix: String) throws(TrailMergeError) -> [S3MultipartUpload] {
        var uploads: [S3MultipartUpload] = []
        var markers: (key: String, upload: String)?
        let location = S3URL(bucket: bucket, key: prefix).description
        repeat {
            let response = try perform(Self.listUploadsRequest(bucket: bucket, prefix: prefix, markers: markers), object: location)
            guard let root = XMLNode.parse(Array(response.body)) else {
                throw .s3(object: location, status: response.status, code: "MalformedResponse", message: "ListMultipartUploads answer is not XML")
            }
            for upload in root.all("Upload") {
                if let key = upload.value("Key"), let id = upload.value("UploadId") {
                    uploads.append(S3MultipartUpload(key: key, uploadID: id))
                }
            }
            if root.value("IsTruncated") == "true", let k = root.value("NextKeyMarker"), let u = root.value("NextUploadIdMarker") {
                markers = (k, u)
            } else {
                markers = nil
            }
        } while markers != nil
        return uploads
    }

    static func listUploadsRequest(bucket: String, prefix: String, markers: (key: String, upload: String)?) -> Request {
        var query: [(name: String, value: String)] = [("uploads", ""), ("prefix", prefix)]
        if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.upload)] }
        return Request(method: "GET", bucket: bucket, key: nil, query: query)
    }

    /// DeleteObjects, 1,000 keys a call (quiet mode); throws on the first key S3 could not delete.
    public func deleteObjects(bucket: String, keys: [String]) throws(TrailMergeError) {
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(start + 1000, keys.count)]
            start += batch.count
            let request = Self.deleteRequest(bucket: bucket, keys: batch)
            let location = S3URL(bucket: bucket, key: batch.first!).description
            let response = try perform(request, object: location)
            if let root = XMLNode.parse(Array(response.body)), let failed = root.all("Error").first {
                let key = failed.value("Key") ?? batch.first!
                throw .s3(
                    object: S3URL(bucket: bucket, key: key).description, status: response.status,
                    code: failed.value("Code") ?? "DeleteFailed", message: failed.value("Message") ?? "")
            }
        }
    }

    static func deleteRequest(bucket: String, keys: ArraySlice<String>) -> Request {
        var xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        for key in keys { xml += "<Object><Key>\(xmlEscape(key))</Key></Object>" }
        xml += "</Delete>"
        let body = Data(xml.utf8)
        var request = Request(method: "POST", bucket: bucket, key: nil, query: [("delete", "")], body: body)
        // S3 requires a body checksum on DeleteObjects: Content-MD5 (botocore sends a CRC32 instead).
        request.headers.append(("Content-Type", "application/xml"))
        request.headers.append(("Content-MD5", Self.md5Base64(body)))
        return request
    }

    static func md5Base64(_ data: Data) -> String {
        var digest = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 16
        data.withUnsafeBytes { bytes in
            digest.withUnsafeMutableBufferPointer { out in
                // SAFETY: `out` holds 16 bytes, MD5's digest length; `bytes` is valid for its count.
                _ = EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, EVP_md5(), nil)
            }
        }
        return Data(digest).base64EncodedString()
    }
}
