import Testing
@testable import TrailMerge

private let fields = "eventTime,eventName,requestParameters.instancesSet.items[].instanceId"

private func rows(_ records: [String]) throws -> (actual: String, expected: String) {
    let folder = TempFolder()
    let file = folder.write("r.json", #"{"Records":["# + records.joined(separator: ",") + "]}")
    let actual = try runToBytes(options([file], fields: fields), in: folder).bytes
    let expected = OracleTable.tsv(try OracleTable.process(files: [file], fields: fields.components(separatedBy: ",")))
    return (String(decoding: actual, as: UTF8.self), String(decoding: expected, as: UTF8.self))
}

@Suite struct FieldPathTests {
    @Test func arrayPathExplodesIntoOneRowPerElement() throws {
        let r = try rows([record(time: "t1", name: "Run", instances: ["i-3", "i-1", "i-2"])])
        #expect(r.actual == "t1\tRun\ti-1\nt1\tRun\ti-2\nt1\tRun\ti-3\n")
        #expect(r.actual == r.expected)
    }

    @Test(arguments: [
        #"{"eventTime":"t","eventName":"n"}"#,
        #"{"eventTime":"t","eventName":"n","requestParameters":null}"#,
        #"{"eventTime":"t","eventName":"n","requestParameters":{"instancesSet":{"items":null}}}"#,
        #"{"eventTime":"t","eventName":"n","requestParameters":{"instancesSet":{"items":"x"}}}"#,
        #"{"eventTime":"t","eventName":"n","requestParameters":{"instancesSet":{"items":{"instanceId":"i"}}}}"#,
        #"{"eventTime":"t","eventName":"n","requestParameters":{"instancesSet":{"items":[]}}}"#,
        #"{"eventTime":"t","eventName":"n","requestParameters":{"instancesSet":7}}"#,
    ])
    func missingNullScalarOrEmptyArrayGivesOneRowWithEmptyField(json: String) throws {
        let r = try rows([json])
        #expect(r.actual == "t\tn\t\n")
        #expect(r.actual == r.expected)
    }

    @Test func elementsWithoutTheSubPathGiveEmptyValues() throws {
        let json = #"{"eventTime":"t","eventName":"n","requestParameters":{"instancesSet":{"items":[{"imageId":"ami"},"s",null,{"instanceId":5},{"instanceId":{"a":1}}]}}}"#
        let r = try rows([json])
        #expect(r.actual == "t\tn\t\nt\tn\t\nt\tn\t\nt\tn\t5\nt\tn\t{\"a\":1}\n")
        #expect(r.actual == r.expected)
    }

    @Test func wholeElementsCanBeTheField() throws {
        let folder = TempFolder()
        let file = folder.write("r.json", #"{"Records":[{"k":"a","tags":["x",{"y":1},null]}]}"#)
        let out = try runToBytes(options([file], fields: "k,tags[]"), in: folder).bytes
        #expect(String(decoding: out, as: UTF8.self) == "a\t\na\tx\na\t{\"y\":1}\n")
    }

    @Test func aFieldMayAlsoBeAPrefixOfAnother() throws {
        let folder = TempFolder()
        let file = folder.write("r.json", #"{"Records":[{"u":{"n":"x","t":"T"}}]}"#)
        let out = try runToBytes(options([file], fields: "u,u.n"), in: folder).bytes
        #expect(String(decoding: out, as: UTF8.self) == "{\"n\":\"x\",\"t\":\"T\"}\tx\n")
    }

    @Test func twoArrayPathsAreAUsageError() throws {
        #expect(throws: TrailMergeError.self) {
            _ = try FieldPlan(fields: [try FieldPath("a[].x"), try FieldPath("b[].y")])
        }
        #expect(throws: TrailMergeError.self) { _ = try FieldPath("a[].b[].c") }
        #expect(throws: TrailMergeError.self) { _ = try FieldPath("a..b") }
        #expect(throws: TrailMergeError.self) { _ = try FieldPath("") }
    }

    @Test func pathsParseIntoComponents() throws {
        let path = try FieldPath("requestParameters.instancesSet.items[].instanceId")
        #expect(path.components == ["requestParameters", "instancesSet", "items"])
        #expect(path.elementComponents == ["instanceId"])
        #expect(try FieldPath("a.b").elementComponents == nil)
    }
}
