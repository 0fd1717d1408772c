import Foundation
import Testing
@testable import TrailMerge

/// Runs one NDJSON-style input (records mode ".") through the library and the oracle.
private func both(_ json: String, fields: String, window: Int = 1 << 20) throws -> (actual: [UInt8], expected: [UInt8]) {
    let folder = TempFolder()
    let file = folder.write("in.json", json)
    var o = options([file], fields: fields, records: ".")
    o.readWindow = window
    let actual = try runToBytes(o, in: folder).bytes
    let expected = OracleTable.tsv(try OracleTable.process(files: [file], fields: fields.components(separatedBy: ","), records: ".", sortBy: [0]))
    return (actual, expected)
}

private func tsv(_ json: String, fields: String) throws -> String {
    let folder = TempFolder()
    let file = folder.write("in.json", json)
    return String(decoding: try runToBytes(options([file], fields: fields, records: "."), in: folder).bytes, as: UTF8.self)
}

private func rejection(_ json: String, records: String = "Records") -> TrailMergeError? {
    let folder = TempFolder()
    let file = folder.write("bad.json", json)
    return trailMergeError { _ = try runToBytes(options([file], fields: "eventTime", records: records), in: folder) }
}

@Suite struct RecordScannerTests {
    @Test func everyEscapeDecodesToUTF8() throws {
        let json = #"{"k":"1","v":"q\"b\\s\/b\bf\fn\nr\rt\tu\u00e9\u4e2d\ud83d\ude80 raw é"}"#
        let text = try tsv(json, fields: "k,v")
        // TSV re-escapes backslash, newline, CR and tab; the other bytes appear decoded.
        #expect(text == "1\tq\"b\\\\s/b\u{8}f\u{c}n\\nr\\rt\\tué中🚀 raw é\n")
        let (actual, expected) = try both(json, fields: "k,v")
        #expect(actual == expected)
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        let text = try tsv(#"{"k":"a","v":"x\ud800y\udc00z\ud83dA"}"#, fields: "k,v")
        #expect(text == "a\tx\u{FFFD}y\u{FFFD}z\u{FFFD}A\n")
    }

    @Test func numbersAndLiteralsKeepTheirText() throws {
        let text = try tsv(#"{"a":1.5e3,"b":-0,"c":0.0,"d":true,"e":false,"f":null,"g":-12E+2}"#, fields: "a,b,c,d,e,f,g")
        #expect(text == "1.5e3\t-0\t0.0\ttrue\tfalse\t\t-12E+2\n")
    }

    @Test func containersBecomeCompactTextWithStringsAsWritten() throws {
        let json = "{\"a\" : { \"x\" : [ 1 , 2 ,\n {\"b\" : \"s p\\u0041\\\"\"} ] , \"e\": {} } }"
        let text = try tsv(json, fields: "a")
        #expect(text == #"{"x":[1,2,{"b":"s p\\u0041\\""}],"e":{}}"# + "\n")
        let (actual, expected) = try both(json, fields: "a")
        #expect(actual == expected)
    }

    @Test func missingAndNullAndNonObjectPathsAreEmpty() throws {
        let json = #"{"a":null,"b":"s","c":{"d":1}}"# + "\n" + #"{"b":{"x":2}}"#
        let text = try tsv(json, fields: "a,b.x,c.d,zz")
        #expect(text == "\t\t1\t\n\t2\t\t\n")
    }

    @Test func escapedKeysMatchFieldNames() throws {
        let text = try tsv(#"{"event\u0054ime":"t1","n\u0061me":"v"}"#, fields: "eventTime,name")
        #expect(text == "t1\tv\n")
    }

    /// Keys are looked up by length, first eight bytes and last eight bytes (a slot table), with
    /// the middle compared for longer keys: decoys differ in one byte at each of those places. Under
    /// `o`, two field keys share length and head, so no slot table exists and the list is walked.
    @Test(arguments: [16, 23, 1 << 20])
    func keysThatDifferInOneByteAreToldApart(window: Int) throws {
        let fields = "k23456789012345678901,ab,abcdefgh,abcdefghi,abcdefghiQ,o.abcdefghiX,o.abcdefghiY"
        var docs: [String] = []
        for n in 0..<6 {
            // Each decoy follows its field's key, so a decoy taken for the field would win.
            docs.append(#"{"k23456789012345678901":"m\#(n)","k234567890X2345678901":"d3","k23456789012345678902":"d4","#
                + #""ab":"a\#(n)","ac":"d5","abcdefgh":"h\#(n)","abcdefgX":"d6","abcdefghi":"i\#(n)","Xbcdefghi":"d2","#
                + #""abcdefghiQ":"q\#(n)","abcdefghiZ":"d1","#
                + #""o":{"abcdefghiX":"x\#(n)","abcdefghiZ":"d7","\u0061bcdefghiY":"y\#(n)","bbcdefghiY":"d8"}}"#)
        }
        let (actual, expected) = try both(docs.joined(separator: "\n"), fields: fields, window: window)
        #expect(textDifference(actual, expected) == nil)
        #expect(String(decoding: actual, as: UTF8.self).hasPrefix("m0\ta0\th0\ti0\tq0\tx0\ty0\n"))
    }

    @Test func repeatedKeysKeepTheLastValue() throws {
        let json = #"{"a":"first","a":"second"}"#
        #expect(try tsv(json, fields: "a") == "second\n")
        let (actual, expected) = try both(json, fields: "a")
        #expect(actual == expected)
    }

    @Test func nulBytesInValuesSortAndPrintCorrectly() throws {
        let json = "{\"a\":\"x\\u0000b\"}\n{\"a\":\"x\"}\n{\"a\":\"x\\u0001\"}\n{\"a\":\"x\\u0000\"}"
        let (actual, expected) = try both(json, fields: "a")
        #expect(actual == expected)
        #expect(String(decoding: actual, as: UTF8.self) == "x\nx\u{0}\nx\u{0}b\nx\u{1}\n")
    }

    @Test(arguments: [16, 17, 31, 64, 100, 1 << 20])
    func valuesCutByTheReadWindowMatchWholeReads(window: Int) throws {
        var docs: [String] = []
        for i in 0..<40 {
            docs.append(#"{"eventTime":"2024-01-01T00:00:\#(String(format: "%02d", i % 60))Z","eventName":"E\#(i % 7)","n":\#(i * 37),"f":-\#(i).5e-3,"s":"é\ud83d\ude80\u00e9\\\"","o":{"a":[true,false,null,{"b":[]}]}}"#)
        }
        let json = docs.joined(separator: i(3))
        let (actual, expected) = try both(json, fields: "eventTime,eventName,n,f,s,o", window: window)
        #expect(actual == expected)
    }

    private func i(_ n: Int) -> String { String(repeating: " \n", count: n) }

    @Test(arguments: [
        #"{"Records":[{"eventTime":"t","x":[1,]}]}"#,
        #"{"Records":[{"eventTime":"t","x":{"a" 1}}]}"#,
        #"{"Records":[{"eventTime":"t","x":"\x"}]}"#,
        #"{"Records":[{"eventTime":"t","x":"\u12G4"}]}"#,
        "{\"Records\":[{\"eventTime\":\"t\",\"x\":\"a\u{1}b\"}]}",
        #"{"Records":[{"eventTime":"t","x":01}]}"#,
        #"{"Records":[{"eventTime":"t","x":1.}]}"#,
        #"{"Records":[{"eventTime":"t","x":-}]}"#,
        #"{"Records":[{"eventTime":"t","x":1e}]}"#,
        #"{"Records":[{"eventTime":"t","x":tru}]}"#,
        #"{"Records":[{"eventTime":"t","x":nul}]}"#,
        #"{"Records":[{"eventTime":"t","x":[1 2]}]}"#,
        #"{"Records":[{"eventTime":"t","x":{"a":1,}}]}"#,
        #"{"Records":[{"eventTime":"t","x":{,}}]}"#,
        #"{"Records":[{"eventTime":"t","x":"unterminated}]}"#,
        #"{"Records":[{"eventTime":"t"}]}x"#,
        #"{"Records":[{"eventTime":"t"},]}"#,
        #"{"Records":[{"eventTime":"t"}]"#,
        #"{"Records":[{"eventTime":"t","x":'single'}]}"#,
        #"{"Records":[{"eventTime":"t","x":+1}]}"#,
        #"{"Records":[{"eventTime":"t","x":[1]]}]}"#,
        #"{"Records":{"eventTime":"t"}}"#,
        #"{"Records":[1]}"#,
        #"{"Records":[{"eventTime":"t"}]} {"Records":["#,
        // Found by the scanner fuzzer (scanner-crash-9ec8d927): a number among object records.
        "{\"Records\":[{\"a\":[]},{},\t{},{},0,\t {}]}",
        // Found by the scanner fuzzer (scanner-crash-9ee6a631): "00" after a document is not two numbers.
        #"{"Records":[]} 00 {"Records":[]}"#,
        #"{"Records":[]} truefalse"#,
    ])
    func invalidJSONIsRejectedNamingFileAndOffset(json: String) throws {
        let error = try #require(rejection(json))
        guard case .invalidJSON(let path, let offset, let reason) = error else {
            Issue.record("expected invalidJSON, got \(error)")
            return
        }
        #expect(path.hasSuffix("bad.json"))
        #expect(offset >= 0 && offset <= json.utf8.count)
        #expect(!reason.isEmpty)
        #expect(error.description.contains("bad.json: byte \(offset): "))
    }

    @Test func deepNestingIsRejectedWithoutOverflowingTheStack() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = try #require(rejection(#"{"Records":[{"eventTime":"t","x":"# + deep + "}]}"))
        #expect(error.description.contains("nesting deeper than"))
        let unclosed = String(repeating: "{\"a\":", count: 100_000)
        #expect(rejection(#"{"Records":[{"x":"# + unclosed) != nil)
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let depth = RecordScanner.maxDepth - 5
        let value = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(rejection(#"{"Records":[{"eventTime":"t","x":"# + value + "}]}") == nil)
    }

    @Test func documentWithoutRecordsCountsZeroAndWarns() throws {
        let folder = TempFolder()
        let file = folder.write("digest.json", #"{"digestStartTime":"x","logFiles":[]} {"Records":[{"eventTime":"a"}]}"#)
        var o = options([file], fields: "eventTime")
        o.output = folder.path + "/o.tsv"
        let warnings = WarningLog()
        let stats = try runProcess(o) { event in
            if case .warning(let message) = event { warnings.append(message) }
        }
        #expect(stats.records == 1)
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first == "1 document without a 'Records' array gave no records (the first: \(file): byte 0)")
    }

    @Test func nestedRecordsPathIsFollowed() throws {
        let folder = TempFolder()
        let file = folder.write("n.json", #"{"meta":{"x":[1]},"data":{"skip":{"items":[]},"items":[{"id":"b"},{"id":"a"}]}}"#)
        let out = try runToBytes(options([file], fields: "id", records: "data.items"), in: folder).bytes
        #expect(String(decoding: out, as: UTF8.self) == "a\nb\n")
    }
}

/// Collects warnings from the event callback.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func append(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
}
