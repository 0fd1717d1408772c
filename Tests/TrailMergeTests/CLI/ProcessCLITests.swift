import Foundation
import Testing
@testable import TrailMerge

private let defaultFields = ProcessOptions.defaultFieldList.components(separatedBy: ",")

@Suite struct ProcessCLITests {
    @Test func endToEndOnAGeneratedTreeMatchesTheOracle() throws {
        let folder = TempFolder()
        let tree = folder.path + "/tree"
        let generated = try runCLI(["generate", tree, "--files", "30", "--records-per-file", "20", "--seed", "5"])
        #expect(generated.status == 0)
        let out = folder.path + "/out.tsv.gz"
        let stats = folder.path + "/stats.json"
        let result = try runCLI(["process", tree, "-o", out, "--threads", "2", "--memory", "64KiB", "--stats", stats])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("30 files"))
        let files = try SourceWalker(pattern: nil).walk([tree]).map(\.path)
        let expected = OracleTable.tsv(try OracleTable.process(files: files, fields: defaultFields))
        #expect(try OracleTable.decodedContents(out) == expected)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as! [String: Any]
        for key in ["files", "inputBytes", "records", "rows", "spilledRuns", "mergePasses", "seconds"] {
            #expect(json[key] != nil, "stats lacks \(key)")
        }
        #expect(json["files"] as? Int == 30)
        #expect(json["records"] as? Int == 600)
        #expect((json["spilledRuns"] as? Int ?? 0) > 0)
    }

    @Test func realCloudTrailRecordsMatchTheOracle() throws {
        let root = fixturesPath + "/cloudtrail-real/AWSLogs"
        let folder = TempFolder()
        let out = folder.path + "/real.tsv"
        let result = try runCLI(["process", root, "-o", out, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let files = try SourceWalker(pattern: SourcePattern(SourcePattern.defaultPattern)).walk([root]).map(\.path)
        #expect(files.count == 207, "digest files are skipped by the default pattern")
        let expected = OracleTable.tsv(try OracleTable.process(files: files, fields: defaultFields))
        let actual = try Array(Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(actual == expected)
        #expect(actual.split(separator: 0x0A).count >= 947)
    }

    @Test func realRecordsValidateLikeJSONSerialization() throws {
        // The oracle parser and Foundation agree on every real file, so the oracle is a fair judge.
        let files = try SourceWalker(pattern: nil).walk([fixturesPath + "/cloudtrail-real/AWSLogs"]).map(\.path)
        for file in files {
            let bytes = try OracleTable.decodedContents(file)
            #expect((try? OracleParser.documents(bytes)) != nil)
            #expect((try? JSONSerialization.jsonObject(with: Data(bytes))) != nil)
        }
    }

    @Test func stdoutOutputDefaultsToPlainTSV() throws {
        let sample = fixturesPath + "/sample"
        let result = try runCLI(["process", sample, "-o", "-", "--quiet", "--fields", "eventTime,eventName", "--header"])
        #expect(result.status == 0)
        let text = String(decoding: result.stdout, as: UTF8.self)
        #expect(text.hasPrefix("eventTime\teventName\n2024-03-"))
    }

    @Test(arguments: [
        (["process"], "no INPUT"),
        (["process", "x"], "-o OUTPUT is required"),
        (["process", "x", "-o", "out.xlsx"], "cannot tell the format"),
        (["process", "x", "-o", "o.tsv", "--memroy", "4MiB"], "did you mean '--memory'"),
        (["process", "x", "-o", "o.tsv", "--memory", "lots"], "--memory 'lots' is not a size"),
        (["process", "x", "-o", "o.tsv", "--threads", "0"], "--threads '0'"),
        (["process", "x", "-o", "o.tsv", "--fields", "a[].b,c[].d"], "at most one path may contain []"),
        (["process", "x", "-o", "o.tsv", "--sort-by", "eventTim"], "did you mean 'eventTime'"),
        (["process", "x", "-o", "o.tsv", "--format", "xml"], "--format 'xml'"),
        (["process", "x", "-o", "o.tsv", "--src-pattern", "("], "not a valid regular expression"),
        (["proces"], "did you mean 'process'"),
    ])
    func usageErrorsExitTwoNamingTheOption(arguments: [String], message: String) throws {
        let result = try runCLI(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("trailmerge: "))
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func helpAndVersionSucceed() throws {
        for arguments in [["--help"], ["process", "--help"], ["generate", "--help"], ["--version"]] {
            let result = try runCLI(arguments)
            #expect(result.status == 0)
            #expect(!result.stdout.isEmpty)
        }
    }

    @Test func failuresExitOneAndLeaveNoOutputOrTempFiles() throws {
        let folder = TempFolder()
        let good = folder.write("in/a.json", #"{"Records":[{"eventTime":"t"}]}"#)
        _ = good
        folder.write("in/b.json", #"{"Records":[{"eventTime":"t",}]}"#)
        let temp = folder.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        let out = folder.path + "/out.tsv"
        let result = try runCLI(["process", folder.path + "/in", "-o", out, "--temp-dir", temp, "--memory", "16KiB"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("trailmerge: \(folder.path)/in/b.json: byte 29: expected a string key"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["in", "tmp"])
    }

    @Test func missingInputExitsOneNamingIt() throws {
        let result = try runCLI(["process", "/nonexistent/trail", "-o", "-"])
        #expect(result.status == 1)
        #expect(result.stderr == "trailmerge: /nonexistent/trail: cannot stat: no such file or directory\n")
    }

    @Test func explicitFilesAreReadWhateverTheirName() throws {
        let folder = TempFolder()
        let file = folder.write("events.log", gzip(#"{"Records":[{"eventTime":"t","eventName":"n"}]}"#))
        let result = try runCLI(["process", file, "-o", "-", "--quiet", "--fields", "eventTime,eventName"])
        #expect(String(decoding: result.stdout, as: UTF8.self) == "t\tn\n")
    }

    @Test func walkedFilesFollowTheSourcePattern() throws {
        let folder = TempFolder()
        folder.write("a/x.json", #"{"Records":[{"eventTime":"1"}]}"#)
        folder.write("a/y.txt", #"{"Records":[{"eventTime":"2"}]}"#)
        folder.write("a/CloudTrail-Digest/z.json.gz", gzip(#"{"Records":[{"eventTime":"3"}]}"#))
        folder.write("a/w.json.gz", gzip(#"{"Records":[{"eventTime":"4"}]}"#))
        let base = ["process", folder.path + "/a", "-o", "-", "--quiet", "--fields", "eventTime"]
        #expect(String(decoding: try runCLI(base).stdout, as: UTF8.self) == "1\n4\n")
        let custom = try runCLI(base + ["--src-pattern", #"\.(txt|json)$"#])
        #expect(String(decoding: custom.stdout, as: UTF8.self) == "1\n2\n")
    }
}
