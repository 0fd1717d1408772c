/// The S3 options every command that takes `s3://` paths shares, parsed into `S3Options`.
import TrailMerge

enum S3Arguments {
    static let names = [
        "--endpoint-url", "--region", "--profile", "--s3-path-style", "--no-sign-request", "--s3-concurrency",
        "--s3-part-size", "--s3-max-attempts",
    ]
    static let flags: Set<String> = ["--s3-path-style", "--no-sign-request"]

    static let help = """
        S3 (any INPUT, OUTPUT, SRC, DEST, manifest or --stats may be s3://bucket/key):
          --endpoint-url URL       S3 endpoint (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)
          --region R               region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else
                                   us-east-1, following each bucket's own region)
          --profile P              credentials profile (default: AWS_PROFILE, else 'default')
          --s3-path-style          path-style URLs (always used with --endpoint-url and dotted buckets)
          --no-sign-request        anonymous requests (public buckets)
          --s3-concurrency N       GETs in flight while reading (default: 32)
          --s3-part-size SIZE      multipart part size, at least 5MiB (default: 8MiB)
          --s3-max-attempts N      tries per request, with backoff and full jitter (default: 8)
        """

    /// Applies `name` (one of `names`; `value` nil for the flags) to `options`.
    static func apply(_ name: String, _ value: String?, to options: inout S3Options, command: String) throws(TrailMergeError) {
        switch name {
        case "--s3-path-style": options.configuration.pathStyle = true
        case "--no-sign-request": options.configuration.anonymous = true
        case "--endpoint-url":
            guard let value, value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw .usage("\(command): --endpoint-url '\(value ?? "")' is not an http:// or https:// URL")
            }
            options.configuration.endpoint = value
        case "--region":
            guard let value, !value.isEmpty else { throw .usage("\(command): --region needs a region name") }
            options.configuration.region = value
        case "--profile":
            guard let value, !value.isEmpty else { throw .usage("\(command): --profile needs a profile name") }
            options.configuration.profile = value
        case "--s3-concurrency":
            options.concurrency = try parseCount(value ?? "", option: name, command: command, range: 1...1024)
        case "--s3-part-size":
            options.partSize = try parseSizeOption(value ?? "", option: name, command: command, minimum: 5 << 20)
        case "--s3-max-attempts":
            options.configuration.maxAttempts = try parseCount(value ?? "", option: name, command: command, range: 1...100)
        default: break
        }
    }
}
