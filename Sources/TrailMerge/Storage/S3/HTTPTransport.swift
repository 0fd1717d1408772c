/// Blocking HTTP over FoundationNetworking's URLSession, callable from any worker thread: one
/// request in, status + lower-cased headers + body out, or a transport failure. Retries live in
/// `S3Client`, not here.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct HTTPResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    func header(_ name: String) -> String? { headers[name] }
}

final class HTTPTransport: Sendable {
    let session: URLSession

    /// A session for `maxConnections` concurrent requests per host.
    init(maxConnections: Int, timeout: TimeInterval) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = max(1, maxConnections)
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = max(timeout * 10, 600)
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration)
    }

    /// For the few credential look-ups.
    static let shared = HTTPTransport(maxConnections: 2, timeout: 5)

    /// Why a request got no complete answer.
    struct Failure: Error {
        var reason: String
        var retryable: Bool
    }

    /// Sends one request and waits for the whole answer.
    func send(
        method: String, url: URL, headers: [(name: String, value: String)], body: Data?, timeout: TimeInterval
    ) -> Result<HTTPResponse, Failure> {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        for (name, value) in headers where name.lowercased() != "host" {
            request.setValue(value, forHTTPHeaderField: name)
        }
        if request.value(forHTTPHeaderField: "Accept-Encoding") == nil {
            request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        }
        if let body { request.httpBody = body }
        let done = DispatchSemaphore(value: 0)
        let box = Locked<Result<HTTPResponse, Failure>?>(nil)
        let task = session.dataTask(with: request) { data, response, error in
            let result: Result<HTTPResponse, Failure>
            if let error {
                let code = (error as? URLError)?.code
                let retryable = code != .cancelled && code != .badURL && code != .unsupportedURL
                result = .failure(Failure(reason: Self.describe(error), retryable: retryable))
            } else if let http = response as? HTTPURLResponse {
                var lower: [String: String] = [:]
                for (k, v) in http.allHeaderFields {
                    if let k = k as? String, let v = v as? String { lower[k.lowercased()] = v }
                }
                let body = data ?? Data()
                if method != "HEAD", lower["content-encoding"] == nil, let declared = lower["content-length"].flatMap(Int.init),
                    declared != body.count
                {
                    result = .failure(
                        Failure(reason: "truncated response: \(body.count) of \(declared) bytes", retryable: true))
                } else {
                    result = .success(HTTPResponse(status: http.statusCode, headers: lower, body: body))
                }
            } else {
                result = .failure(Failure(reason: "no HTTP response", retryable: true))
            }
            box.withLock { $0 = result }
            done.signal()
        }
        task.resume()
        done.wait()
        return box.withLock { $0! }
    }

    static func describe(_ error: Error) -> String {
        if let urlError = error as? URLError {
            switch urlError.code {
            case .timedOut: return "request timed out"
            case .networkConnectionLost: return "connection lost"
            case .cannotConnectToHost: return "cannot connect to host"
            case .cannotFindHost: return "cannot resolve host"
            case .notConnectedToInternet: return "no network"
            case .secureConnectionFailed: return "TLS handshake failed"
            default: return "network error \(urlError.code.rawValue)"
            }
        }
        return "network error"
    }

    /// A one-shot request for credential endpoints; failures become configuration errors.
    func simple(
        method: String, url: String, headers: [(String, String)], timeout: TimeInterval, what: String
    ) throws(TrailMergeError) -> HTTPResponse {
        guard let u = URL(string: url) else { throw .s3Configuration("\(what): invalid URL \(url)") }
        switch send(method: method, url: u, headers: headers.map { (name: $0.0, value: $0.1) }, body: nil, timeout: timeout) {
        case .success(let response): return response
        case .failure(let failure): throw .s3Configuration("\(what): \(failure.reason)")
        }
    }
}
