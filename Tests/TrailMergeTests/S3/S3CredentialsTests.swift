/// Credentials, region and endpoint resolution in the AWS CLI's order, S3URL parsing and the XML
/// reader; container and instance-metadata credentials from scripts/credentials-server.py.
import Foundation
import Testing
@testable import TrailMerge

@Suite struct S3CredentialsTests {
    let folder = TempFolder()

    /// An environment with no AWS settings and no instance metadata, HOME in the temp folder.
    var bare: [String: String] { ["HOME": folder.path, "AWS_EC2_METADATA_DISABLED": "true"] }

    func resolve(_ env: [String: String], profile: String? = nil) throws(TrailMergeError) -> (S3CredentialsProvider, AWSCredentials?) {
        let provider = try S3CredentialsProvider.resolve(environment: env, explicitProfile: profile, anonymous: false)
        return (provider, try provider.current())
    }

    @Test func environmentComesFirst() throws {
        folder.write(".aws/credentials", "[default]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = profilesecret\n")
        var env = bare
        env["AWS_ACCESS_KEY_ID"] = "ENVKEY"
        env["AWS_SECRET_ACCESS_KEY"] = "envsecret"
        env["AWS_SESSION_TOKEN"] = "envtoken"
        let (provider, creds) = try resolve(env)
        #expect(provider.source == .environment)
        #expect(creds == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken"))
        // --profile skips the environment's keys, as in the CLI.
        let (p2, c2) = try resolve(env, profile: "default")
        #expect(p2.source == .profile("default"))
        #expect(c2?.accessKeyID == "PROFILEKEY")
    }

    @Test func profilesFromCredentialsAndConfigFiles() throws {
        folder.write(".aws/credentials", "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = defsecret\n\n[work]\n# comment\naws_access_key_id=WORKKEY\naws_secret_access_key=worksecret\naws_session_token = worktoken\n")
        folder.write(".aws/config", "[default]\nregion = eu-west-3\n[profile work]\nregion = ap-south-1\ns3 =\n  addressing_style = path\n[profile cfgonly]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n")
        #expect(try resolve(bare).1?.accessKeyID == "DEFKEY")
        var env = bare
        env["AWS_PROFILE"] = "work"
        #expect(try resolve(env).1 == AWSCredentials(accessKeyID: "WORKKEY", secretAccessKey: "worksecret", sessionToken: "worktoken"))
        #expect(resolveAWSRegion(explicit: nil, environment: env, explicitProfile: nil) == "ap-south-1")
        #expect(try resolve(bare, profile: "cfgonly").1?.accessKeyID == "CFGKEY")
        #expect(resolveAWSRegion(explicit: nil, environment: bare, explicitProfile: nil) == "eu-west-3")
        // Region order: explicit, AWS_REGION, AWS_DEFAULT_REGION, profile.
        env["AWS_DEFAULT_REGION"] = "us-west-1"
        #expect(resolveAWSRegion(explicit: nil, environment: env, explicitProfile: nil) == "us-west-1")
        env["AWS_REGION"] = "us-east-2"
        #expect(resolveAWSRegion(explicit: nil, environment: env, explicitProfile: nil) == "us-east-2")
        #expect(resolveAWSRegion(explicit: "sa-east-1", environment: env, explicitProfile: nil) == "sa-east-1")
        // Files elsewhere.
        let other = folder.write("elsewhere/creds", "[default]\naws_access_key_id = OTHERKEY\naws_secret_access_key = othersecret\n")
        var moved = bare
        moved["AWS_SHARED_CREDENTIALS_FILE"] = other
        #expect(try resolve(moved).1?.accessKeyID == "OTHERKEY")
        let otherConfig = folder.write("elsewhere/config", "[profile x]\nregion = me-south-1\n")
        moved["AWS_CONFIG_FILE"] = otherConfig
        #expect(resolveAWSRegion(explicit: nil, environment: moved, explicitProfile: "x") == "me-south-1")
    }

    @Test(arguments: [
        ("credential_process = /bin/get-creds", "credential_process"),
        ("sso_session = my-sso", "SSO"),
        ("sso_start_url = https://x.awsapps.com/start", "SSO"),
        ("role_arn = arn:aws:iam::1:role/r\nsource_profile = default", "assume role"),
        ("web_identity_token_file = /t\nrole_arn = arn:aws:iam::1:role/r", "role_arn"),
    ])
    func unsupportedProfileSourcesAreNamed(_ line: String, _ named: String) {
        folder.write(".aws/config", "[profile odd]\n\(line)\n")
        let error = trailMergeError { _ = try resolve(bare, profile: "odd") }
        #expect(error?.description.contains(named) == true, "\(String(describing: error))")
        #expect(error?.description.contains("profile 'odd'") == true)
    }

    @Test func missingSourcesAreErrorsThatSayWhatWasTried() {
        let missingProfile = trailMergeError { _ = try resolve(bare, profile: "nope") }
        #expect(missingProfile?.description == "the AWS profile 'nope' was not found in the credentials or config file")
        var web = bare
        web["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/token"
        #expect(trailMergeError { _ = try resolve(web) }?.description.contains("web identity") == true)
        let none = trailMergeError { _ = try resolve(bare) }
        #expect(none?.description.hasPrefix("no AWS credentials found") == true)
        #expect(none?.description.contains("--no-sign-request") == true)
    }

    @Test func anonymousSignsNothing() throws {
        let provider = try S3CredentialsProvider.resolve(environment: bare, explicitProfile: nil, anonymous: true)
        #expect(provider.source == .anonymous)
        #expect(try provider.current() == nil)
    }

    @Test func credentialsNeverPrint() {
        let creds = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t-value", sessionToken: "tok-value")
        #expect(!"\(creds)".contains("s3cr3t"))
    }

    @Test(.enabled(if: pythonCanRun("import http.server"), "python3 is not installed"))
    func containerAndInstanceMetadataCredentials() throws {
        let server = HelperScript("credentials-server.py", [])
        defer { server.stop() }
        var env = bare
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:\(server.port)/ecs"
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "test-auth-token"
        let (ecs, ecsCreds) = try resolve(env)
        #expect(ecs.source == .container)
        #expect(ecsCreds == AWSCredentials(accessKeyID: "ECSAKID", secretAccessKey: "ECS-secret", sessionToken: "ECS-token"))
        // A wrong container token is an error naming the source.
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
        #expect(trailMergeError { _ = try resolve(env) }?.description == "container credentials: http://127.0.0.1:\(server.port)/ecs answered HTTP 401")

        var imds = ["HOME": folder.path]
        imds["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:\(server.port)/"
        let (instance, instanceCreds) = try resolve(imds)
        #expect(instance.source == .instanceMetadata)
        #expect(instanceCreds == AWSCredentials(accessKeyID: "IMDSAKID", secretAccessKey: "IMDS-secret", sessionToken: "IMDS-token"))
        imds["AWS_EC2_METADATA_DISABLED"] = "true"
        #expect(trailMergeError { _ = try resolve(imds) }?.description.hasPrefix("no AWS credentials found") == true)
    }

    @Test func endpointAndAddressing() throws {
        func client(_ change: (inout S3Configuration) -> Void) throws -> S3Client {
            var c = S3Configuration()
            c.environment = bare
            c.credentials = AWSCredentials(accessKeyID: "A", secretAccessKey: "B")
            change(&c)
            return try S3Client(c)
        }
        let request = S3Client.getRequest(S3URL(bucket: "my-bucket", key: "a b/c"), range: nil)
        let aws = try client { $0.region = "eu-west-1" }
        #expect(aws.prepare(request, region: "eu-west-1").url.absoluteString == "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c")
        let pathStyle = try client { $0.pathStyle = true }
        #expect(pathStyle.prepare(request, region: "us-east-1").url.absoluteString == "https://s3.us-east-1.amazonaws.com/my-bucket/a%20b/c")
        let dotted = S3Client.getRequest(S3URL(bucket: "my.bucket", key: "k"), range: nil)
        #expect(aws.prepare(dotted, region: "eu-west-1").url.absoluteString == "https://s3.eu-west-1.amazonaws.com/my.bucket/k")
        let custom = try client { $0.endpoint = "http://127.0.0.1:9000/base/" }
        #expect(custom.prepare(request, region: "us-east-1").url.absoluteString == "http://127.0.0.1:9000/base/my-bucket/a%20b/c")
        #expect(custom.prepare(request, region: "us-east-1").host == "127.0.0.1:9000")
        let fromEnv = try client { $0.environment["AWS_ENDPOINT_URL"] = "https://generic.example:443"; $0.environment["AWS_ENDPOINT_URL_S3"] = "https://s3.example" }
        #expect(fromEnv.prepare(request, region: "us-east-1").url.absoluteString == "https://s3.example/my-bucket/a%20b/c")
        let generic = try client { $0.environment["AWS_ENDPOINT_URL"] = "https://generic.example:443" }
        #expect(generic.prepare(request, region: "us-east-1").host == "generic.example")
        #expect(trailMergeError { _ = try client { $0.endpoint = "ftp://x" } }?.description == "endpoint URL 'ftp://x' is not an http(s) URL")
    }

    @Test func s3URLParsing() throws {
        #expect(try S3URL(parsing: "s3://my-trail/AWSLogs/1/") == S3URL(bucket: "my-trail", key: "AWSLogs/1/"))
        #expect(try S3URL(parsing: "s3://my-trail") == S3URL(bucket: "my-trail", key: ""))
        #expect(try S3URL(parsing: "s3://my-trail/") == S3URL(bucket: "my-trail", key: ""))
        #expect(try S3URL(parsing: "s3://b.c.d/a//b/../c%20") == S3URL(bucket: "b.c.d", key: "a//b/../c%20"))
        #expect(trailMergeError { _ = try S3URL(parsing: "s3:///key") }?.description == "s3:///key: the s3:// URL has no bucket name")
        #expect(trailMergeError { _ = try S3URL(parsing: "s3://a/k") }?.description == "s3://a/k: 'a' is not a valid S3 bucket name")
        #expect(S3URL(bucket: "b", key: "k").description == "s3://b/k")
    }

    @Test func xmlReaderHandlesEntitiesCDATAAndNamespaces() {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Contents><Key>a &amp; b &lt;c&gt; &#233;&#x1F680;</Key><Size>12</Size></Contents><Contents><Key><![CDATA[x<y]]></Key><Size>0</Size></Contents><Empty/><IsTruncated>false</IsTruncated></ListBucketResult>
            """
        let root = XMLNode.parse(Array(text.utf8))
        #expect(root?.name == "ListBucketResult")
        #expect(root?.all("Contents").map { $0.value("Key") } == ["a & b <c> é🚀", "x<y"])
        #expect(root?.value("IsTruncated") == "false")
        #expect(XMLNode.parse(Array("<a><b></a>".utf8)) == nil)
        #expect(xmlEscape("a&<>\"'\u{1}") == "a&amp;&lt;&gt;&quot;&apos;&#1;")
        #expect(S3Client.decodeListedKey("a+b%2Bc%20%C3%A9") == "a b+c é")
    }
}
