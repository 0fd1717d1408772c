/// `trailmerge merge`: merging sorted outputs of `process` gives exactly the bytes of one `process`
/// run over the union of their inputs (and the oracle's), in every format; bad inputs fail naming
/// file and line; many inputs under a low open-file limit take extra passes.
import Foundation
import Testing
@testable import TrailMerge

/// A generated tree split into three groups of files, processed separately.
private final class SplitTree: @unchecked Sendable {
    static let shared = SplitTree()
    let folder = TempFolder()
    let groups: [[String]]
    let all: [String]

    init() {
        var g = GeneratorOptions()
        g.destination = folder.path + "/tree"
        g.files = 36
        g.recordsPerFile = 20
        g.seed = 5
        _ = try! generateTree(g)
        all = try! SourceWalker(pattern: SourcePattern(SourcePattern.defaultPattern)).walk([g.destination]).map(\.path)
        groups = [Array(all[0..<5]), Array(all[5..<20]), Array(all[20...])]
        atexit { try? FileManager.default.removeItem(atPath: SplitTree.shared.folder.path) }
    }
}

private func run(_ arguments: [String]) throws -> ToolResult {
    let result = try runCLI(arguments)
    #expect(result.status == 0, "\(arguments): \(result.stderr)")
    return result
}

@Suite struct MergeCommandTests {
    @Test(arguments: ["tsv", "tsv.gz", "csv", "csv.gz", "jsonl", "jsonl.gz"])
    func mergingPartsEqualsOneProcessRun(ext: String) throws {
        let tree = SplitTree.shared
        let folder = TempFolder()
        let header = ext.hasPrefix("jsonl") ? [] : ["--header"]
        var parts: [String] = []
        for (i, files) in tree.groups.enumerated() {
            let part = folder.path + "/part\(i).\(ext)"
            _ = try run(["process"] + files + ["-o", part, "--quiet"] + header)
            parts.append(part)
        }
        _ = try run(["process"] + tree.all + ["-o", folder.path + "/whole.\(ext)", "--quiet"] + header)
        let merged = try run(["merge"] + parts.reversed() + ["-o", folder.path + "/merged.\(ext)", "--stats", folder.path + "/s.json"] + header)
        #expect(merged.stderr.hasPrefix("trailmerge: 3 files ("))
        let whole = try OracleTable.decodedContents(folder.path + "/whole.\(ext)")
        #expect(try OracleTable.decodedContents(folder.path + "/merged.\(ext)") == whole)
        if ext == "tsv" {
            let oracle = OracleTable.tsv(try OracleTable.process(files: tree.all, fields: ProcessOptions.defaultFieldList.components(separatedBy: ",")),
                                         header: ProcessOptions.defaultFieldList.components(separatedBy: ","))
            #expect(whole == oracle)
        }
    }

    @Test func otherSortOrdersAndFieldsMergeToo() throws {
        let tree = SplitTree.shared
        let folder = TempFolder()
        let options = ["--fields", "eventName,userIdentity.userName,eventTime", "--sort-by", "userIdentity.userName", "--quiet"]
        for (i, files) in tree.groups.enumerated() { _ = try run(["process"] + files + ["-o", folder.path + "/p\(i).tsv"] + options) }
        _ = try run(["process"] + tree.all + ["-o", folder.path + "/whole.tsv"] + options)
        _ = try run(["merge", folder.path + "/p0.tsv", folder.path + "/p1.tsv", folder.path + "/p2.tsv", "-o", folder.path + "/m.tsv"] + options)
        #expect(FileManager.default.contents(atPath: folder.path + "/m.tsv") == FileManager.default.contents(atPath: folder.path + "/whole.tsv"))
        // The same files merged with the default order are rejected as unsorted.
        let wrong = try runCLI(["merge", folder.path + "/p0.tsv", "-o", "-", "--fields", "eventName,userIdentity.userName,eventTime"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("\(folder.path)/p0.tsv: line ") && wrong.stderr.contains(": not sorted"))
    }

    @Test func badInputsFailNamingFileAndLineAndWriteNothing() throws {
        let folder = TempFolder()
        let cases: [(String, String, String)] = [
            ("unsorted.tsv", "b\tx\na\ty\n", "unsorted.tsv: line 2: not sorted"),
            ("columns.tsv", "a\tx\nb\n", "columns.tsv: line 2: 1 columns, but --fields has 2"),
            ("truncated.tsv", "a\tx\nb\ty", "truncated.tsv: line 2: the last row has no line end (truncated file?)"),
            ("escape.tsv", "a\\q\tx\n", "escape.tsv: line 1: '\\q' is not a TSV escape"),
            ("header.csv", "eventTime,name\r\na,b\r\n", "header.csv: line 1: the header 'eventTime,name' differs from --fields 'eventTime,eventName'"),
            ("quote.csv", "eventTime,eventName\r\n\"a,b\r\n", "quote.csv: line 2: a quoted field is not closed"),
            ("keys.jsonl", "{\"eventTime\":\"a\",\"other\":\"b\"}\n", "keys.jsonl: line 1: not a row trailmerge writes"),
        ]
        for (name, content, message) in cases {
            let input = folder.write(name, content)
            let header = name.hasSuffix(".csv") ? ["--header"] : []
            let result = try runCLI(["merge", input, "-o", folder.path + "/out.tsv", "--fields", "eventTime,eventName"] + header)
            #expect(result.status == 1, "\(name)")
            #expect(result.stderr.hasPrefix("trailmerge: \(folder.path)/\(message)"), "\(name): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder.path + "/out.tsv"))
        }
        let gz = folder.write("cut.tsv.gz", Array(gzip("a\tx\nb\ty\n").dropLast(6)))
        let cut = try runCLI(["merge", gz, "-o", "-", "--fields", "eventTime,eventName"])
        #expect(cut.status == 1)
        #expect(cut.stderr.contains("corrupt gzip"))
    }

    @Test func oneInputAndEmptyInputs() throws {
        let folder = TempFolder()
        let one = folder.write("one.tsv", "a\tx\nb\ty\n")
        let empty = folder.write("empty.tsv", "")
        let emptyGz = folder.write("empty.tsv.gz", gzip(""))
        let single = try run(["merge", one, empty, emptyGz, "-o", "-", "--fields", "eventTime,eventName", "--quiet"])
        #expect(String(decoding: single.stdout, as: UTF8.self) == "a\tx\nb\ty\n")
        _ = try run(["merge", empty, emptyGz, "-o", folder.path + "/none.tsv.gz", "--fields", "eventTime,eventName", "--quiet"])
        #expect(try runTool("/bin/gzip", ["-dc", folder.path + "/none.tsv.gz"], input: []).isEmpty)
    }

    @Test func manyInputsUnderALowOpenFileLimitTakeExtraPasses() throws {
        let tree = SplitTree.shared
        let folder = TempFolder()
        var parts: [String] = []
        for (i, file) in tree.all.enumerated() {
            let part = folder.path + "/p\(i).tsv.gz"
            _ = try run(["process", file, "-o", part, "--quiet"])
            parts.append(part)
        }
        _ = try run(["process"] + tree.all + ["-o", folder.path + "/whole.tsv", "--quiet"])
        let command = "ulimit -n 32; exec \(executablePath) merge " + parts.joined(separator: " ")
            + " -o \(folder.path)/m.tsv --temp-dir \(folder.path) --stats \(folder.path)/s.json --quiet"
        let result = try runCLIThrough("/bin/sh", ["-c", command])
        #expect(result.status == 0, "\(result.stderr)")
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/s.json"))) as! [String: Any]
        #expect((stats["mergePasses"] as? Int ?? 0) >= 2)
        #expect(FileManager.default.contents(atPath: folder.path + "/m.tsv") == FileManager.default.contents(atPath: folder.path + "/whole.tsv"))
    }
}
