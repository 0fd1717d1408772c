import Foundation
import Testing
@testable import TrailMerge

/// Clause sets checked against the oracle: every operator, nested paths, JSON null and missing
/// members, non-string values as their JSON text, [] over the exploded array and over others.
private let clauseSets: [[String]] = [
    ["errorCode=AccessDenied"],
    ["errorCode!=AccessDenied"],
    ["errorCode?"],
    ["!errorCode?"],
    ["eventName~^Describe|Object$"],
    ["eventName!~Instances"],
    ["userIdentity.userName=carol/ops"],
    ["userIdentity.userName="],
    ["!userIdentity.userName?"],
    ["readOnly=true"],
    [#"userIdentity={"type":"Root"}"#],
    ["resources[].ARN~^arn:aws:s3:::logs/"],
    ["resources[].type!=AWS::S3::Bucket"],
    ["requestParameters.instancesSet.items[].instanceId=i-3"],
    ["!requestParameters.instancesSet.items[].instanceId?"],
    ["requestParameters.instancesSet.items[]?"],
    ["tags[]=prod"],
    ["tags[]=7"],
    ["tags[]?"],
    ["!tags[]?"],
    ["readOnly=false", "errorCode?", "resources[].ARN~data"],
    ["awsRegion!=us-east-1", "eventName!~^(Get|Put)", "userIdentity.userName~^(alice|bob)$"],
]

@Suite struct WhereTests {
    @Test(arguments: clauseSets.indices)
    func clausesMatchTheOracle(_ index: Int) throws {
        let clauses = clauseSets[index]
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 41 + UInt64(index), events: 400)
        var rule = OracleSelection()
        rule.clauses = clauses
        let expected = try rule.process(root: root, fields: selectionFields)
        var o = options([root], fields: selectionFields.joined(separator: ","))
        o.filters = try clauses.map { try WhereClause($0) }
        o.memoryBudget = index % 2 == 0 ? 16 << 10 : 1 << 30
        o.chunkSize = 4096
        o.allowEmpty = true
        let (bytes, stats) = try runToBytes(o, in: folder)
        #expect(bytes == OracleTable.tsv(expected.rows), "\(clauses)")
        #expect(stats.rows == expected.rows.count)
        // The clause must select something and leave something out, or it proves little.
        let all = try OracleSelection().process(root: root, fields: selectionFields)
        #expect(expected.rows.count > 0 && expected.rows.count < all.rows.count, "\(clauses) selects \(expected.rows.count) of \(all.rows.count)")
    }

    @Test func clausesAndTheTimeRangeCombine() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 77)
        var rule = OracleSelection()
        rule.clauses = ["eventName~Object", "!errorCode?"]
        rule.since = OracleSelection.date("2024-03-01T00:00:00Z")
        rule.until = OracleSelection.date("2024-03-03T00:00:00Z")
        let expected = try rule.process(root: root, fields: selectionFields)
        let result = try runCLI([
            "process", root, "-o", "-", "--fields", selectionFields.joined(separator: ","), "--where", "eventName~Object",
            "--where=!errorCode?", "--since", "2024-03-01", "--until", "2024-03-03", "--threads", "2", "--memory", "16KiB",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == OracleTable.tsv(expected.rows))
    }

    @Test(arguments: [
        ("eventName", "is not a condition"),
        ("=x", "has no path before its operator"),
        ("a[].b[].c=1", "is not a valid path"),
        ("a..b?", "is not a valid path"),
        ("eventName~(", "is not a valid POSIX extended regular expression"),
    ])
    func badClausesAreUsageErrorsNamingTheClause(_ clause: String, _ message: String) throws {
        let result = try runCLI(["process", "/nonexistent", "-o", "-", "--where", clause])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--where: '") && result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func pathsNoRecordHasAreReportedWithASuggestion() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 5, events: 50)
        let result = try runCLI(["process", root, "-o", "-", "--where", "errorcode=AccessDenied", "--dedupe", "eventId", "--allow-empty"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning: --where 'errorcode=AccessDenied': 'errorcode' was absent from all 50 records; did you mean 'errorCode'?"), "\(result.stderr)")
        #expect(result.stderr.contains("warning: --dedupe 'eventId' was absent from all 50 records, so none was deduplicated; did you mean 'eventID'?"), "\(result.stderr)")
        let strict = try runCLI(["process", root, "-o", "-", "--where", "errorcode=AccessDenied", "--strict"])
        #expect(strict.status == 1)
        let fine = try runCLI(["process", root, "-o", "-", "--fields", "eventTime,eventName", "--where", "errorCode=AccessDenied", "--dedupe"])
        #expect(fine.status == 0 && !fine.stderr.contains("warning"), "\(fine.stderr)")
    }

    @Test func regexMatchesBytesPastANulAndNonASCII() throws {
        let folder = TempFolder()
        let input = folder.write("in.json", #"{"Records":[{"eventTime":"2024-03-01T00:00:00Z","eventName":"a\u0000b"},{"eventTime":"2024-03-01T00:00:01Z","eventName":"é中x"},{"eventTime":"2024-03-01T00:00:02Z","eventName":"ab"}]}"#)
        var o = options([input], fields: "eventTime,eventName")
        o.filters = [try WhereClause("eventName~b$"), try WhereClause("eventName!=ab")]
        #expect(try runToBytes(o, in: folder).bytes == Array("2024-03-01T00:00:00Z\ta\u{0}b\n".utf8))
        o.filters = [try WhereClause("eventName~中")]
        #expect(try runToBytes(o, in: folder).bytes == Array("2024-03-01T00:00:01Z\té中x\n".utf8))
    }
}
