/// Where S3 requests get their credentials and region, in the AWS CLI's order: environment,
/// profile (`~/.aws/credentials`, `~/.aws/config`), ECS container credentials, EC2 instance
/// metadata (IMDSv2). In: the environment and the explicit options; out: `AWSCredentials` (or
/// anonymous) and a region. Unsupported sources are named in the error rather than skipped.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The `[section]`s of an AWS shared credentials or config file, keys lower-cased.
struct AWSProfileFile {
    var sections: [String: [String: String]] = [:]

    /// Parses INI text; indented lines (nested `s3 =` settings) and comments are ignored.
    init(text: String, isConfig: Bool) {
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            if rawLine.first == " " || rawLine.first == "\t" { continue }
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if isConfig {
                    if name.hasPrefix("profile ") {
                        name = name.dropFirst(8).trimmingCharacters(in: .whitespaces)
                    } else if name != "default" {
                        current = nil  // [sso-session x], [services x]: not profiles
                        continue
                    }
                }
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            sections[section]![key] = value
        }
    }

    static func load(path: String, isConfig: Bool) -> AWSProfileFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return AWSProfileFile(text: String(decoding: data, as: UTF8.self), isConfig: isConfig)
    }
}

/// The settings of one profile, credentials file first, then config file.
struct AWSProfile {
    var name: String
    var explicit: Bool
    var settings: [String: String]
    var found: Bool

    init(environment env: [String: String], explicitName: String?) {
        let home = env["HOME"] ?? NSHomeDirectory()
        explicit = explicitName != nil || env["AWS_PROFILE"] != nil
        name = explicitName ?? env["AWS_PROFILE"] ?? env["AWS_DEFAULT_PROFILE"] ?? "default"
        let credentialsPath = env["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let configPath = env["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        let credentials = AWSProfileFile.load(path: credentialsPath, isConfig: false)?.sections[name]
        let config = AWSProfileFile.load(path: configPath, isConfig: true)?.sections[name]
        found = credentials != nil || config != nil
        settings = config ?? [:]
        for (k, v) in credentials ?? [:] { settings[k] = v }
    }
}

/// Where credentials come from; resolved once, refreshed before expiry for container and instance
/// credentials.
public final class S3CredentialsProvider: Sendable {
    /// The source that was found.
    public enum Source: Sendable, Equatable {
        case anonymous
        case explicit
        case environment
        case profile(String)
        case container
        case instanceMetadata
    }

    public let source: Source
    private let cache: Locked<(AWSCredentials?, Date?)>
    private let refresh: @Sendable () throws(TrailMergeError) -> (AWSCredentials, Date?)

    private init(
        source: Source, initial: AWSCredentials?, expiry: Date?,
        refresh: @escaping @Sendable () throws(TrailMergeError) -> (AWSCredentials, Date?)
    ) {
        self.source = source
        self.cache = Locked((initial, expiry))
        self.refresh = refresh
    }

    static func fixed(_ source: Source, _ credentials: AWSCredentials?) -> S3CredentialsProvider {
        S3CredentialsProvider(source: source, initial: credentials, expiry: nil) { () throws(TrailMergeError) in
            (credentials!, nil)
        }
    }

    /// The credentials to sign with now; nil for anonymous requests.
    public func current() throws(TrailMergeError) -> AWSCredentials? {
        if source == .anonymous { return nil }
        return try cache.withLock { (state: inout (AWSCredentials?, Date?)) throws(TrailMergeError) -> AWSCredentials? in
            if let creds = state.0, state.1 == nil || state.1! > Date().addingTimeInterval(300) { return creds }
            let fresh = try refresh()
            state = (fresh.0, fresh.1)
            return fresh.0
        }
    }

    /// Resolves credentials like the AWS CLI. `explicitProfile` is `--profile` (which, as in the
    /// CLI, makes the environment's keys be ignored).
    public static func resolve(
        environment env: [String: String], explicitProfile: String?, anonymous: Bool,
        timeout: TimeInterval = 1
    ) throws(TrailMergeError) -> S3CredentialsProvider {
        if anonymous { return .fixed(.anonymous, nil) }
        if explicitProfile == nil, let id = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"],
            !id.isEmpty, !secret.isEmpty
        {
            let token = env["AWS_SESSION_TOKEN"] ?? env["AWS_SECURITY_TOKEN"]
            return .fixed(.environment, AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token))
        }
        let profile = AWSProfile(environment: env, explicitName: explicitProfile)
        if profile.found {
            let s = profile.settings
            let unsupported: [(String, String)] = [
                ("role_arn", "assume role (role_arn)"), ("web_identity_token_file", "web identity (web_identity_token_file)"),
                ("sso_session", "IAM Identity Center / SSO (sso_session)"), ("sso_start_url", "IAM Identity Center / SSO (sso_start_url)"),
                ("credential_process", "credential_process"),
            ]
            if s["role_arn"] != nil || s["aws_access_key_id"] == nil {
                for (key, what) in unsupported where s[key] != nil {
                    throw .s3Configuration(
                        "profile '\(profile.name)' gets its credentials from \(what), which trailmerge does not support; export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN (for example with `aws configure export-credentials --format env`)")
                }
            }
            if let id = s["aws_access_key_id"], let secret = s["aws_secret_access_key"] {
                return .fixed(
                    .profile(profile.name),
                    AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: s["aws_session_token"]))
            }
            if profile.explicit {
                throw .s3Configuration("profile '\(profile.name)' has no aws_access_key_id/aws_secret_access_key")
            }
        } else if profile.explicit {
            throw .s3Configuration("the AWS profile '\(profile.name)' was not found in the credentials or config file")
        }
        if env["AWS_WEB_IDENTITY_TOKEN_FILE"] != nil {
            throw .s3Configuration(
                "AWS_WEB_IDENTITY_TOKEN_FILE is set: web identity credentials are not supported by trailmerge; export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN")
        }
        if let container = containerEndpoint(env) {
            let fetch: @Sendable () throws(TrailMergeError) -> (AWSCredentials, Date?) = { () throws(TrailMergeError) in
                try fetchContainerCredentials(url: container.url, authorization: container.authorization, timeout: max(timeout, 2))
            }
            let first = try fetch()
            return S3CredentialsProvider(source: .container, initial: first.0, expiry: first.1, refresh: fetch)
        }
        let imdsDisabled = (env["AWS_EC2_METADATA_DISABLED"] ?? "").lowercased() == "true"
        if !imdsDisabled {
            let endpoint = env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
            let fetch: @Sendable () throws(TrailMergeError) -> (AWSCredentials, Date?) = { () throws(TrailMergeError) in
                try fetchInstanceCredentials(endpoint: endpoint, timeout: timeout)
            }
            if let first = try? fetch() {
                return S3CredentialsProvider(source: .instanceMetadata, initial: first.0, expiry: first.1, refresh: fetch)
            }
        }
        throw .s3Configuration(
            "no AWS credentials found (looked in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile '\(profile.name)', container credentials\(imdsDisabled ? "" : ", EC2 instance metadata")); use --no-sign-request for public buckets"
        )
    }

    static func containerEndpoint(_ env: [String: String]) -> (url: String, authorization: String?)? {
        var authorization = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        if let file = env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], let data = FileManager.default.contents(atPath: file) {
            authorization = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let relative = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return ("http://169.254.170.2" + relative, authorization)
        }
        if let full = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] { return (full, authorization) }
        return nil
    }

    /// Parses the JSON both the container endpoint and instance metadata answer with.
    static func parseCredentialsJSON(_ data: Data, source: String) throws(TrailMergeError) -> (AWSCredentials, Date?) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let id = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String
        else { throw .s3Configuration("\(source): the credentials answer is not the expected JSON") }
        var expiry: Date?
        if let text = object["Expiration"] as? String {
            expiry = ISO8601DateFormatter().date(from: text)
        }
        return (AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: object["Token"] as? String), expiry)
    }

    static func fetchContainerCredentials(url: String, authorization: String?, timeout: TimeInterval) throws(TrailMergeError) -> (AWSCredentials, Date?) {
        var headers: [(String, String)] = []
        if let authorization { headers.append(("Authorization", authorization)) }
        let response = try HTTPTransport.shared.simple(method: "GET", url: url, headers: headers, timeout: timeout, what: "container credentials")
        guard response.status == 200 else {
            throw .s3Configuration("container credentials: \(url) answered HTTP \(response.status)")
        }
        return try parseCredentialsJSON(response.body, source: "container credentials")
    }

    static func fetchInstanceCredentials(endpoint: String, timeout: TimeInterval) throws(TrailMergeError) -> (AWSCredentials, Date?) {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let what = "EC2 instance metadata"
        let tokenResponse = try HTTPTransport.shared.simple(
            method: "PUT", url: base + "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
            timeout: timeout, what: what)
        guard tokenResponse.status == 200 else { throw .s3Configuration("\(what): token request answered HTTP \(tokenResponse.status)") }
        let token = String(decoding: tokenResponse.body, as: UTF8.self)
        let auth = [("X-aws-ec2-metadata-token", token)]
        let roles = try HTTPTransport.shared.simple(
            method: "GET", url: base + "/latest/meta-data/iam/security-credentials/", headers: auth, timeout: timeout, what: what)
        guard roles.status == 200,
            let role = String(decoding: roles.body, as: UTF8.self).split(separator: "\n").first.map(String.init), !role.isEmpty
        else { throw .s3Configuration("\(what): no IAM role attached to the instance") }
        let creds = try HTTPTransport.shared.simple(
            method: "GET", url: base + "/latest/meta-data/iam/security-credentials/" + role, headers: auth, timeout: timeout,
            what: what)
        guard creds.status == 200 else { throw .s3Configuration("\(what): credentials request answered HTTP \(creds.status)") }
        return try parseCredentialsJSON(creds.body, source: what)
    }
}

/// Region in the CLI's order: explicit, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`;
/// nil when none is set (the client then starts with us-east-1 and follows the bucket's answer).
public func resolveAWSRegion(explicit: String?, environment env: [String: String], explicitProfile: String?) -> String? {
    if let explicit, !explicit.isEmpty { return explicit }
    if let r = env["AWS_REGION"], !r.isEmpty { return r }
    if let r = env["AWS_DEFAULT_REGION"], !r.isEmpty { return r }
    let profile = AWSProfile(environment: env, explicitName: explicitProfile)
    if let r = profile.settings["region"], !r.isEmpty { return r }
    return nil
}
