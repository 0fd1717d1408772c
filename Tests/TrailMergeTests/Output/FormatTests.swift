import Foundation
import Testing
@testable import TrailMerge

private let tricky = [
    #"{"a":"tab\there","b":"back\\slash","c":"line\nbreak\rcr"}"#,
    #"{"a":"comma,here","b":"quote\"here","c":"plain"}"#,
    #"{"a":"ctl\u0001\u001f","b":"é中","c":""}"#,
]

private func format(_ name: String, header: Bool = false) throws -> [UInt8] {
    let folder = TempFolder()
    let file = folder.write("in.json", tricky.joined(separator: "\n"))
    var o = options([file], fields: "a,b,c", records: ".")
    o.header = header
    o.format = OutputFormat(rawValue: String(name.split(separator: ".")[1]))!
    o.compression = name.hasSuffix(".gz") ? .gzip : .none
    return try runToBytes(o, in: folder, name: name).bytes
}

private func oracleRows() throws -> [[[UInt8]]] {
    let docs = try OracleParser.documents(Array(tricky.joined(separator: "\n").utf8))
    return OracleTable.sorted(OracleTable.rows(documents: docs, fields: ["a", "b", "c"], records: "."), by: [0, 1])
}

@Suite struct FormatTests {
    @Test func tsvEscapesBackslashTabNewlineAndCarriageReturn() throws {
        let out = try format("o.tsv")
        #expect(out == OracleTable.tsv(try oracleRows()))
        #expect(String(decoding: out, as: UTF8.self).contains("tab\\there\tback\\\\slash\tline\\nbreak\\rcr\n"))
    }

    @Test func csvQuotesPerRFC4180() throws {
        let out = try format("o.csv")
        #expect(out == OracleTable.csv(try oracleRows()))
        #expect(String(decoding: out, as: UTF8.self).contains("\"comma,here\",\"quote\"\"here\",plain\r\n"))
    }

    @Test func jsonlLinesParseBackToTheValues() throws {
        let out = try format("o.jsonl")
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n")
        let expected = try oracleRows()
        #expect(lines.count == expected.count)
        for (line, row) in zip(lines, expected) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: String]
            #expect(object["a"] == String(decoding: row[0], as: UTF8.self))
            #expect(object["b"] == String(decoding: row[1], as: UTF8.self))
            #expect(object["c"] == String(decoding: row[2], as: UTF8.self))
        }
    }

    @Test func headerNamesTheColumns() throws {
        let tsv = String(decoding: try format("o.tsv", header: true), as: UTF8.self)
        #expect(tsv.hasPrefix("a\tb\tc\n"))
        let csv = String(decoding: try format("o.csv", header: true), as: UTF8.self)
        #expect(csv.hasPrefix("a,b,c\r\n"))
    }

    @Test(arguments: ["o.tsv.gz", "o.csv.gz", "o.jsonl.gz"])
    func gzipOutputDecompressesToThePlainText(name: String) throws {
        let plain = try format(String(name.dropLast(3)))
        let folder = TempFolder()
        let file = folder.write("in.json", tricky.joined(separator: "\n"))
        var o = options([file], fields: "a,b,c", records: ".")
        o.format = OutputFormat(rawValue: String(name.split(separator: ".")[1]))!
        o.compression = .gzip
        o.output = folder.path + "/" + name
        _ = try runProcess(o)
        let raw = try Array(Data(contentsOf: URL(fileURLWithPath: o.output)))
        #expect(raw.starts(with: [0x1F, 0x8B]))
        #expect(try runTool("/bin/gzip", ["-dc"], input: raw) == plain)
    }

    @Test func sizesParseTheWayUsersExpect() {
        #expect(parseSize("4MiB") == 4 << 20)
        #expect(parseSize("512MiB") == 512 << 20)
        #expect(parseSize("2GiB") == 2 << 30)
        #expect(parseSize("1G") == 1 << 30)
        #expect(parseSize("1.5g") == 3 << 29)
        #expect(parseSize("64k") == 64 << 10)
        #expect(parseSize("4096") == 4096)
        #expect(parseSize("lots") == nil)
        #expect(parseSize("12XB") == nil)
        #expect(parseSize("-1M") == nil)
    }
}
