/// Generated CloudTrail-style trees for the selection tests: events from 2024-02-26 to 2024-03-06,
/// each filed under its UTC delivery day (minutes later, up to a day later, or up to two days
/// later), many at and around midnight; records with nested, array, null and missing members.
import Foundation
@testable import TrailMerge

struct TestRandom {
    var state: UInt64
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

let selectionFields = ["eventTime", "eventName", "awsRegion", "userIdentity.userName", "requestParameters.instancesSet.items[].instanceId"]

/// 2024-02-26T00:00:00Z in milliseconds.
private let firstDay: Int64 = 1_708_905_600_000

func isoText(_ millis: Int64, fraction: Bool) -> String {
    let date = Date(timeIntervalSince1970: Double(millis) / 1000)
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = fraction ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
    return formatter.string(from: date)
}

/// One record as JSON text, with its eventID.
func selectionRecord(_ random: inout TestRandom, time: String?, id: String) -> String {
    var parts: [String] = []
    if let time { parts.append(#""eventTime":"\#(time)""#) }
    parts.append(#""eventID":"\#(id)""#)
    parts.append(#""eventName":"\#(random.pick(["DescribeInstances", "RunInstances", "GetObject", "PutObject", "AssumeRole"]))""#)
    parts.append(#""awsRegion":"\#(random.pick(["us-east-1", "eu-west-1", "ap-south-1"]))""#)
    switch random.below(4) {
    case 0: parts.append(#""userIdentity":{"type":"Root"}"#)
    case 1: parts.append(#""userIdentity":null"#)
    default: parts.append(#""userIdentity":{"type":"IAMUser","userName":"\#(random.pick(["alice", "bob", "carol/ops", ""]))"}"#)
    }
    switch random.below(5) {
    case 0: parts.append(#""errorCode":"AccessDenied""#)
    case 1: parts.append(#""errorCode":null"#)
    case 2: parts.append(#""errorCode":"ThrottlingException""#)
    default: break
    }
    parts.append(#""readOnly":\#(random.below(2) == 0 ? "true" : "false")"#)
    if random.below(3) == 0 {
        let items = (0..<random.below(4)).map { _ in
            random.below(5) == 0 ? "{}" : #"{"instanceId":"i-\#(random.below(20))"}"#
        }
        parts.append(#""requestParameters":{"instancesSet":{"items":[\#(items.joined(separator: ","))]}}"#)
    }
    if random.below(2) == 0 {
        let resources = (0..<random.below(3)).map { _ in
            #"{"ARN":"arn:aws:s3:::\#(random.pick(["logs", "data", "tmp"]))/\#(random.below(9))","type":"\#(random.pick(["AWS::S3::Object", "AWS::S3::Bucket"]))"}"#
        }
        parts.append(#""resources":[\#(resources.joined(separator: ","))]"#)
    }
    if random.below(3) == 0 {
        parts.append(#""tags":[\#((0..<random.below(3)).map { _ in random.pick([#""prod""#, #""dev""#, "null", "7"]) }.joined(separator: ","))]"#)
    }
    return "{" + parts.joined(separator: ",") + "}"
}

/// Writes a tree under `folder/tree` and returns its path. Each delivery day folder holds a few
/// gzip files of up to ten records.
@discardableResult
func writeSelectionTree(_ folder: TempFolder, seed: UInt64, events: Int = 600, missingTimes: Bool = true) -> String {
    var random = TestRandom(state: seed)
    var byDay: [Int64: [String]] = [:]
    for n in 0..<events {
        let day = Int64(random.below(10))
        let offset: Int64
        switch random.below(6) {
        case 0: offset = 0
        case 1: offset = 86_399_999
        case 2: offset = 86_399_000 + Int64(random.below(1000))
        case 3: offset = Int64(random.below(2000))
        default: offset = Int64(random.below(86_400_000))
        }
        let time = firstDay + day * TimeRange.day + offset
        let lateness: Int64
        switch random.below(10) {
        case 0..<6: lateness = Int64(random.below(15 * 60_000))
        case 6..<9: lateness = Int64(random.below(Int(TimeRange.day)))
        default: lateness = TimeRange.day + Int64(random.below(Int(TimeRange.day)))
        }
        let deliveryDay = (time + lateness) / TimeRange.day
        var text: String? = isoText(time, fraction: random.below(3) == 0)
        if n % 97 == 5 && missingTimes { text = nil }
        if n % 89 == 7 { text = "not a time" }
        byDay[deliveryDay, default: []].append(selectionRecord(&random, time: text, id: "id-\(n)"))
    }
    let root = folder.path + "/tree"
    for (day, records) in byDay {
        let date = Date(timeIntervalSince1970: Double(day * TimeRange.day) / 1000)
        let parts = OracleSelection.utc.dateComponents([.year, .month, .day], from: date)
        let folderPath = String(format: "AWSLogs/123456789012/CloudTrail/us-east-1/%04d/%02d/%02d", parts.year!, parts.month!, parts.day!)
        var start = 0
        var index = 0
        while start < records.count {
            let count = min(records.count - start, 1 + random.below(10))
            let body = #"{"Records":["# + records[start..<(start + count)].joined(separator: ",") + "]}"
            folder.write("tree/" + folderPath + "/123456789012_CloudTrail_us-east-1_\(index).json.gz", gzip(body))
            start += count
            index += 1
        }
    }
    return root
}

/// Milliseconds of an ISO-8601 UTC time given in the test (through Foundation, not the library).
func testMillis(_ text: String) -> Int64 {
    Int64((OracleSelection.date(text)!.timeIntervalSince1970 * 1000).rounded())
}
