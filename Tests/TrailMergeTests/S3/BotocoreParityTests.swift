/// The client's S3 requests against botocore's: for each operation and awkward key, botocore
/// (scripts/botocore-sign.py, a real botocore S3 client with S3SigV4Auth at a fixed time) and the
/// client build and sign the same call; the canonical requests (method, path, query, host,
/// headers, payload hash) and Authorization headers must be equal byte for byte.
import Foundation
import Testing
@testable import TrailMerge

/// Under CI=true the parity suite always runs (install-deps installs botocore).
let botocoreAvailable = isCI || pythonCanRun("import botocore")

/// One call, described for botocore (JSON) and built by the client.
struct ParityCase: Sendable, CustomStringConvertible {
    var name: String
    /// The case as botocore-sign.py reads it (one JSON object).
    var botocore: String
    var region: String
    var endpoint: String?
    var pathStyle: Bool
    var token: String?
    var build: @Sendable () -> S3Client.Request
    var description: String { name }
}

let parityKeys = [
    "test.txt", "a b.json.gz", "a+b=c@d~e%f.json", "été/日本語 🚀.json.gz", "logs//double/./dot/../x", "!$&'()*,;:[]",
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/25/123456789012_CloudTrail_us-east-1_20261125T0000Z_AbC.json.gz",
]

func parityCases() -> [ParityCase] {
    var cases: [ParityCase] = []
    func add(
        _ name: String, op: String, params: [String: Any], region: String = "us-west-2", endpoint: String? = nil,
        pathStyle: Bool = false, token: String? = nil, build: @escaping @Sendable () -> S3Client.Request
    ) {
        var botocore: [String: Any] = ["op": op, "params": params, "region": region]
        botocore["addressing"] = pathStyle || endpoint != nil ? "path" : "virtual"
        if let endpoint { botocore["endpoint"] = endpoint }
        if let token { botocore["token"] = token }
        cases.append(
            ParityCase(
                name: name,
                botocore: String(decoding: try! JSONSerialization.data(withJSONObject: botocore), as: UTF8.self),
                region: region, endpoint: endpoint, pathStyle: pathStyle, token: token,
                build: build))
    }
    let bucket = "examplebucket"
    for (i, key) in parityKeys.enumerated() {
        let url = S3URL(bucket: bucket, key: key)
        add("get \(key)", op: "get_object", params: ["Bucket": bucket, "Key": key, "Range": "bytes=0-9"]) {
            S3Client.getRequest(url, range: 0..<10)
        }
        add("get path-style \(key)", op: "get_object", params: ["Bucket": bucket, "Key": key], region: "eu-central-1",
            endpoint: "http://127.0.0.1:9000") { S3Client.getRequest(url, range: nil) }
        add("head \(key)", op: "head_object", params: ["Bucket": bucket, "Key": key], pathStyle: i % 2 == 0) {
            S3Client.headRequest(url)
        }
        add("put \(key)", op: "put_object",
            params: ["Bucket": bucket, "Key": key, "Body": "hello \(key)", "ContentType": "application/octet-stream", "IfNoneMatch": "*"]) {
            S3Client.putRequest(url, body: Data("hello \(key)".utf8), ifNoneMatch: true, contentType: "application/octet-stream")
        }
        add("list \(key)", op: "list_objects_v2",
            params: ["Bucket": bucket, "Prefix": key, "MaxKeys": 1000, "ContinuationToken": "1/tok+en==\(i)"]) {
            S3Client.listRequest(bucket: bucket, prefix: key, token: "1/tok+en==\(i)", startAfter: nil, pageSize: 1000)
        }
        add("list start-after \(key)", op: "list_objects_v2",
            params: ["Bucket": bucket, "Prefix": "", "MaxKeys": 500, "StartAfter": key], endpoint: "https://s3.example.test:8443/") {
            S3Client.listRequest(bucket: bucket, prefix: "", token: nil, startAfter: key, pageSize: 500)
        }
        add("create multipart \(key)", op: "create_multipart_upload",
            params: ["Bucket": bucket, "Key": key, "ContentType": "application/octet-stream"]) {
            S3Client.createMultipartRequest(url, contentType: "application/octet-stream")
        }
        add("upload part \(key)", op: "upload_part",
            params: ["Bucket": bucket, "Key": key, "Body": String(repeating: "x", count: 100 + i), "PartNumber": 3, "UploadId": "up/load+id=\(i)"]) {
            S3Client.uploadPartRequest(url, uploadID: "up/load+id=\(i)", partNumber: 3, body: Data(String(repeating: "x", count: 100 + i).utf8))
        }
        add("complete \(key)", op: "complete_multipart_upload",
            params: ["Bucket": bucket, "Key": key, "UploadId": "id-\(i)", "IfNoneMatch": "*",
                     "MultipartUpload": ["Parts": [["ETag": "\"etag1\"", "PartNumber": 1]]]]) {
            S3Client.completeRequest(url, uploadID: "id-\(i)", parts: [(1, "\"etag1\"")], ifNoneMatch: true)
        }
        add("abort \(key)", op: "abort_multipart_upload", params: ["Bucket": bucket, "Key": key, "UploadId": "id=\(i)"],
            token: "session/token+\(i)==") {
            S3Client.abortRequest(url, uploadID: "id=\(i)")
        }
    }
    add("list uploads", op: "list_multipart_uploads", params: ["Bucket": bucket, "Prefix": "a b/+"]) {
        S3Client.listUploadsRequest(bucket: bucket, prefix: "a b/+", markers: nil)
    }
    add("delete", op: "delete_objects",
        params: ["Bucket": bucket, "Delete": ["Objects": parityKeys.map { ["Key": $0] }, "Quiet": true]]) {
        S3Client.deleteRequest(bucket: bucket, keys: parityKeys[...])
    }
    add("get dotted bucket", op: "get_object", params: ["Bucket": "my.dotted.bucket", "Key": "k"], pathStyle: true) {
        S3Client.getRequest(S3URL(bucket: "my.dotted.bucket", key: "k"), range: nil)
    }
    return cases
}

/// What botocore sent and signed for one case.
struct BotocoreAnswer: Sendable {
    var url: String
    var headers: [(name: String, value: String)]
    var body: Data
    var canonicalRequest: String
    var authorization: String
}

/// botocore's answers for every case, computed once (one python3 start).
let botocoreAnswers: [BotocoreAnswer] = {
    guard botocoreAvailable else { return [] }
    let input = "[" + parityCases().map(\.botocore).joined(separator: ",") + "]"
    let output = try! runTool("/usr/bin/env", ["python3", repositoryRoot + "/scripts/botocore-sign.py"], input: Array(input.utf8))
    let list = (try! JSONSerialization.jsonObject(with: Data(output))) as! [[String: Any]]
    return list.map { answer in
        BotocoreAnswer(
            url: answer["url"] as! String,
            headers: (answer["headers"] as! [[String]]).map { (name: $0[0].lowercased(), value: $0[1]) },
            body: Data(base64Encoded: answer["body_b64"] as! String)!,
            canonicalRequest: answer["canonical_request"] as! String,
            authorization: answer["authorization"] as! String)
    }
}()

@Suite(.enabled(if: botocoreAvailable, "python3 with botocore is not installed: run scripts/install-deps.sh"))
struct BotocoreParityTests {
    @Test func everyCaseWasAnswered() {
        #expect(botocoreAnswers.count == parityCases().count)
        #expect(parityCases().count > 70)
    }

    @Test(arguments: Array(parityCases().enumerated().map { $0.offset }))
    func requestMatchesBotocore(_ index: Int) throws {
        let testCase = parityCases()[index]
        let answer = botocoreAnswers[index]
        var configuration = S3Configuration()
        configuration.region = testCase.region
        configuration.endpoint = testCase.endpoint
        configuration.pathStyle = testCase.pathStyle
        configuration.environment = [:]
        let credentials = AWSCredentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            sessionToken: testCase.token)
        configuration.credentials = credentials
        let client = try S3Client(configuration)
        var request = testCase.build()
        let prepared = client.prepare(request, region: testCase.region)

        // The client's own headers are among botocore's, with the same values, except on the two
        // XML-body calls: there the client adds Content-Type: application/xml (else URLSession
        // sends a form type) and DeleteObjects' Content-MD5 where botocore sends a CRC32 checksum.
        let botocoreHeaders = answer.headers
        let xmlBody = request.method == "POST" && request.body != nil
        for header in request.headers
        where !(xmlBody && ["content-md5", "content-type"].contains(header.name.lowercased())) {
            #expect(
                botocoreHeaders.contains { $0.name == header.name.lowercased() && $0.value == header.value },
                "\(testCase.name): botocore does not send \(header.name): \(header.value)")
        }
        // The body: the same bytes where the client sends the same content; else botocore's XML.
        let botocoreBody = answer.body
        let body = request.body ?? Data()
        let sameBody = request.method == "PUT" || body.isEmpty
        if sameBody { #expect(body == botocoreBody, "\(testCase.name): body") }
        let payloadHash = Crypto.hex(Crypto.sha256(sameBody ? body : botocoreBody))

        request.headers = botocoreHeaders.filter {
            !["host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"].contains($0.name)
        }
        let signed = client.sign(
            request, prepared: prepared, region: testCase.region, amzDate: "20130524T000000Z", credentials: credentials,
            payloadHash: payloadHash)
        #expect(signed.canonicalRequest == answer.canonicalRequest, "\(testCase.name)")
        #expect(signed.authorization == answer.authorization, "\(testCase.name)")
        // Same URL path; same query parameters (order on the wire is free).
        let theirs = URLComponents(string: answer.url)!
        let ours = URLComponents(url: prepared.url, resolvingAgainstBaseURL: false)!
        #expect(ours.percentEncodedPath == theirs.percentEncodedPath, "\(testCase.name)")
        #expect(ours.host == theirs.host, "\(testCase.name)")
        let sortedQuery = { (c: URLComponents) in (c.percentEncodedQuery ?? "").split(separator: "&").map { $0.hasSuffix("=") ? String($0.dropLast()) : String($0) }.sorted() }
        #expect(sortedQuery(ours) == sortedQuery(theirs), "\(testCase.name)")
    }
}
