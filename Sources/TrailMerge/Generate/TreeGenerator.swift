/// `trailmerge generate`: writes a realistic synthetic CloudTrail tree for tests and benchmarks.
/// In: a destination, a file count, records per file, a seed and a day span. Out:
/// `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<id>.json.gz`
/// files. Invariant: the same arguments always give byte-identical files, whatever the thread count.
import Dispatch
import Synchronization

public struct GeneratorOptions: Sendable {
    public var destination = ""
    public var files = 100
    public var recordsPerFile = 100
    public var seed: UInt64 = 1
    public var days = 3
    public var threads = ProcessOptions.defaultThreads
    public init() {}
}

/// A small, fast, seedable generator (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// Writes the tree. Returns the number of records written.
public func generateTree(_ options: GeneratorOptions) throws(TrailMergeError) -> Int {
    guard options.files >= 0, options.recordsPerFile >= 0, options.days >= 1 else {
        throw .usage("generate: --files, --records-per-file and --days must be positive")
    }
    try makeDirectories(options.destination)
    let threads = max(1, min(options.threads, max(1, options.files)))
    let tools = UncheckedBox((0..<threads).map { _ in (ZlibGzipDeflater(level: 6), ByteBuffer(capacity: 1 << 18)) })
    try parallelForEach(count: options.files, threads: threads) { (index, thread, _) throws(TrailMergeError) in
        let (deflater, json) = tools.value[thread]
        var random = SeededRandom(seed: options.seed &* 1_000_003 &+ UInt64(index))
        let file = SyntheticFile(index: index, options: options, random: &random)
        json.count = 0
        file.writeJSON(into: json, random: &random)
        var compressed: [UInt8] = []
        deflater.compressMember(UnsafeRawBufferPointer(json.bytes), appendingTo: &compressed)
        let directory = options.destination + "/" + file.directory
        try makeDirectories(directory)
        let writer = try BufferedWriter(creating: directory + "/" + file.name, capacity: 1 << 16)
        try writer.write(compressed)
        try writer.close(sync: false)
    }
    return options.files * options.recordsPerFile
}

private let accounts = ["111122223333", "444455556666", "777788889999"]
private let regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
private let userNames = [
    "alice", "bob", "carol", "deploy-bot", "jörg.müller", "zoë", "山田太郎", "o'brien", "ci\\runner", "admin",
]
private let roleNames = ["OrganizationAccountAccessRole", "lambda-exec", "ReadOnly", "ecs-task"]
private let services = ["ec2.amazonaws.com", "lambda.amazonaws.com", "config.amazonaws.com", "elasticloadbalancing.amazonaws.com"]
private let agents = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#legacy Botocore/1.34.69",
    "console.amazonaws.com",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36",
    "terraform/1.7.5 (+https://www.terraform.io) \"quoted\" agent\twith tab",
]

/// Events: name, source, whether it carries an instancesSet.
private let events: [(String, String, Bool)] = [
    ("DescribeInstances", "ec2.amazonaws.com", false),
    ("RunInstances", "ec2.amazonaws.com", true),
    ("StartInstances", "ec2.amazonaws.com", true),
    ("StopInstances", "ec2.amazonaws.com", true),
    ("TerminateInstances", "ec2.amazonaws.com", true),
    ("GetObject", "s3.amazonaws.com", false),
    ("PutObject", "s3.amazonaws.com", false),
    ("ListBuckets", "s3.amazonaws.com", false),
    ("AssumeRole", "sts.amazonaws.com", false),
    ("GetCallerIdentity", "sts.amazonaws.com", false),
    ("ConsoleLogin", "signin.amazonaws.com", false),
    ("CreateUser", "iam.amazonaws.com", false),
    ("Decrypt", "kms.amazonaws.com", false),
    ("Invoke", "lambda.amazonaws.com", false),
]

private struct SyntheticFile {
    let account: String
    let region: String
    let day: Int
    let minuteOfDay: Int
    let recordCount: Int
    let directory: String
    let name: String

    init(index: Int, options: GeneratorOptions, random: inout SeededRandom) {
        account = accounts[index % accounts.count]
        region = regions[(index / accounts.count) % regions.count]
        day = (index / (accounts.count * regions.count)) % options.days
        minuteOfDay = 5 * random.below(288)
        recordCount = options.recordsPerFile
        let (y, m, d) = SyntheticFile.date(dayOffset: day)
        let datePath = "\(y)/\(pad(m))/\(pad(d))"
        directory = "AWSLogs/\(account)/CloudTrail/\(region)/\(datePath)"
        let stamp = "\(y)\(pad(m))\(pad(d))T\(pad(minuteOfDay / 60))\(pad(minuteOfDay % 60))Z"
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let suffix = String((0..<16).map { _ in alphabet[random.below(alphabet.count)] })
        name = "\(account)_CloudTrail_\(region)_\(stamp)_\(suffix).json.gz"
    }

    /// 2024-03-01 plus `dayOffset` days (March to December has no leap-day trouble for < 300 days).
    static func date(dayOffset: Int) -> (Int, Int, Int) {
        let monthLengths = [31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var month = 3
        var day = 1 + dayOffset % 300
        var index = 0
        while day > monthLengths[index] {
            day -= monthLengths[index]
            month += 1
            index += 1
        }
        return (2024, month, day)
    }

    func writeJSON(into out: ByteBuffer, random: inout SeededRandom) {
        let (y, m, d) = SyntheticFile.date(dayOffset: day)
        out.append("{\"Records\":[")
        // Times rise through the file with slight disorder, like CloudTrail's delivery batches.
        var seconds = max(0, minuteOfDay * 60 - 300)
        for r in 0..<recordCount {
            if r > 0 { out.append(",") }
            seconds = min(86_399, seconds + random.below(4))
            let jitter = random.below(10) == 0 ? -random.below(30) : 0
            let t = max(0, seconds + jitter)
            let time = "\(y)-\(pad(m))-\(pad(d))T\(pad(t / 3600)):\(pad(t / 60 % 60)):\(pad(t % 60))Z"
            writeRecord(into: out, time: time, random: &random)
        }
        out.append("]}")
    }

    private func writeRecord(into out: ByteBuffer, time: String, random: inout SeededRandom) {
        let (eventName, eventSource, hasInstances) = random.pick(events)
        let kind = random.below(10)
        out.append("{\"eventVersion\":\"1.08\",\"userIdentity\":")
        let principal = "AIDA" + String(random.next() % 1_000_000_000_000, radix: 36).uppercased()
        switch kind {
        case 0...3:
            let user = random.pick(userNames)
            out.append("{\"type\":\"IAMUser\",\"principalId\":\"\(principal)\",\"arn\":\"arn:aws:iam::\(account):user/")
            appendEscaped(user, out)
            out.append("\",\"accountId\":\"\(account)\",\"accessKeyId\":\"AKIA\(principal.suffix(12))\",\"userName\":\"")
            appendEscaped(user, out)
            out.append("\"}")
        case 4...6:
            let role = random.pick(roleNames)
            out.append("{\"type\":\"AssumedRole\",\"principalId\":\"AROA\(principal):session-\(random.below(1000))\",")
            out.append("\"arn\":\"arn:aws:sts::\(account):assumed-role/\(role)/session\",\"accountId\":\"\(account)\",")
            out.append("\"accessKeyId\":\"ASIA\(principal.suffix(12))\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",")
            out.append("\"principalId\":\"AROA\(principal)\",\"arn\":\"arn:aws:iam::\(account):role/\(role)\",\"accountId\":\"\(account)\",")
            out.append("\"userName\":\"\(role)\"},\"attributes\":{\"creationDate\":\"\(time)\",\"mfaAuthenticated\":\"false\"}}}")
        case 7:
            out.append("{\"type\":\"Root\",\"principalId\":\"\(account)\",\"arn\":\"arn:aws:iam::\(account):root\",\"accountId\":\"\(account)\"")
            out.append(random.below(2) == 0 ? ",\"userName\":\"root\"}" : "}")
        case 8:
            out.append("{\"type\":\"AWSService\",\"invokedBy\":\"\(random.pick(services))\"}")
        default:
            out.append(random.below(3) == 0 ? "null" : "{\"type\":\"IAMUser\",\"userName\":null,\"principalId\":\"\(principal)\"}")
        }
        out.append(",\"eventTime\":\"\(time)\",\"eventSource\":\"\(eventSource)\",\"eventName\":\"\(eventName)\",")
        out.append("\"awsRegion\":\"\(region)\",\"sourceIPAddress\":")
        switch random.below(8) {
        case 0: out.append("\"\(random.pick(services))\"")
        case 1: out.append("null")
        case 2: out.append("\"2001:db8:\(String(random.below(65536), radix: 16))::\(String(random.below(65536), radix: 16))\"")
        default: out.append("\"\(random.below(223) + 1).\(random.below(256)).\(random.below(256)).\(random.below(256))\"")
        }
        out.append(",\"userAgent\":\"")
        appendEscaped(random.pick(agents), out)
        out.append("\",\"requestParameters\":")
        if hasInstances {
            let count = random.below(10) == 0 ? 5 + random.below(20) : 1 + random.below(3)
            out.append("{\"instancesSet\":{\"items\":[")
            for k in 0..<count {
                if k > 0 { out.append(",") }
                if random.below(40) == 0 {
                    out.append("{\"imageId\":\"ami-\(String(random.next() % 0xFFFF_FFFF, radix: 16))\",\"minCount\":1}")
                } else {
                    out.append("{\"instanceId\":\"i-0\(String(random.next() % 0xFFFF_FFFF_FFFF, radix: 16))\"}")
                }
            }
            out.append("]},\"force\":\(random.below(2) == 0 ? "false" : "true")}")
        } else {
            switch random.below(4) {
            case 0: out.append("null")
            case 1:
                out.append("{\"bucketName\":\"logs-\(account)\",\"key\":\"data/\(random.below(100000)).parquet\",")
                out.append("\"Host\":\"logs-\(account).s3.\(region).amazonaws.com\",\"maxKeys\":1000,\"ratio\":0.25,\"exp\":1.5e3}")
            case 2:
                out.append("{\"roleArn\":\"arn:aws:iam::\(account):role/\(random.pick(roleNames))\",\"roleSessionName\":\"s\(random.below(999))\",")
                out.append("\"durationSeconds\":3600,\"tags\":[{\"key\":\"team\",\"value\":\"sécurité\"},{\"key\":\"note\",\"value\":\"line1\\nline2\\u00e9\\ud83d\\ude80\"}]}")
            default:
                out.append("{\"filterSet\":{},\"maxResults\":\(random.below(1000)),\"nested\":{\"a\":[1,2,{\"b\":[true,false,null]}],\"c\":-0.5E-2}}")
            }
        }
        out.append(",\"responseElements\":")
        if random.below(3) == 0 {
            out.append("null")
        } else {
            out.append("{\"requestId\":\"\(uuid(&random))\",\"reservationId\":\"r-0\(String(random.next() % 0xFFFF_FFFF, radix: 16))\",")
            out.append("\"ownerId\":\"\(account)\",\"groupSet\":{},\"credentials\":{\"accessKeyId\":\"ASIAEXAMPLE\",\"expiration\":\"Mar 1, 2024, 10:37:12 PM\"}}")
        }
        if random.below(12) == 0 {
            out.append(",\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User is not authorized to perform: \(eventSource.split(separator: ".")[0]):\(eventName)\\non resource \\\"*\\\"\"")
        }
        out.append(",\"requestID\":\"\(uuid(&random))\",\"eventID\":\"\(uuid(&random))\",\"readOnly\":\(eventName.hasPrefix("Describe") || eventName.hasPrefix("Get") || eventName.hasPrefix("List") ? "true" : "false"),")
        out.append("\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"\(account)\",\"eventCategory\":\"Management\",")
        out.append("\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"\(eventSource.split(separator: ".")[0]).\(region).amazonaws.com\"}}")
    }

    private func uuid(_ random: inout SeededRandom) -> String {
        let a = random.next()
        let b = random.next()
        let hex = String(a, radix: 16).leftPadded(16) + String(b, radix: 16).leftPadded(16)
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-" + String(h[20..<32])
    }

    /// Writes `text` as the inside of a JSON string, escaping quotes, backslashes and controls;
    /// every other character is written as raw UTF-8, except é which is written as \u00e9 half the time.
    private func appendEscaped(_ text: String, _ out: ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case 0x22: out.append("\\\"")
            case 0x5C: out.append("\\\\")
            case 0x09: out.append("\\t")
            case 0x0A: out.append("\\n")
            default: out.append(byte)
            }
        }
    }
}

private func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
