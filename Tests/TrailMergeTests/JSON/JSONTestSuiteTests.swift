import Foundation
import Testing
@testable import TrailMerge

/// Every JSONTestSuite parsing case, wrapped as the value of a record field that is not extracted:
/// validation must happen even where values are only skipped.
private let suitePath = fixturesPath + "/JSONTestSuite/test_parsing"

private func cases(_ prefix: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: suitePath)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
}

/// How the tool answered a case: accepted it, rejected it as invalid JSON (the only right way to
/// reject), or failed some other way (a missing file, a wrong error), which is never a rejection.
private enum Verdict: Equatable { case accepted, rejected(String), otherFailure(String) }

private func verdict(_ name: String) throws -> Verdict {
    let payload = try Array(Data(contentsOf: URL(fileURLWithPath: suitePath + "/" + name)))
    let folder = TempFolder()
    let doc = Array(#"{"Records":[{"eventTime":"x","payload":"#.utf8) + payload + Array("}]}".utf8)
    let file = folder.write("case.json", doc)
    do {
        _ = try runToBytes(options([file], fields: "eventTime"), in: folder)
        return .accepted
    } catch let error as TrailMergeError {
        guard case .invalidJSON(let path, _, _) = error, path == file else { return .otherFailure(error.description) }
        return .rejected(error.description)
    } catch {
        return .otherFailure("\(error)")
    }
}

@Suite struct JSONTestSuiteTests {
    @Test func theSuiteIsComplete() {
        #expect(cases("y_").count == 95)
        #expect(cases("n_").count == 188)
        #expect(cases("i_").count == 35)
    }

    @Test func everyMustAcceptCaseIsAccepted() throws {
        var failures: [String] = []
        for name in cases("y_") where try verdict(name) != .accepted { failures.append(name) }
        #expect(failures.isEmpty, "rejected: \(failures)")
    }

    @Test func everyMustRejectCaseIsRejected() throws {
        var failures: [String] = []
        for name in cases("n_") {
            if case .rejected = try verdict(name) { continue }
            failures.append(name)
        }
        #expect(failures.isEmpty, "not rejected as invalid JSON: \(failures)")
    }

    @Test func implementationDefinedCasesNeverCrash() throws {
        // Each case is either accepted or rejected as invalid JSON; no crash, no other failure.
        var answered = 0
        var failures: [String] = []
        for name in cases("i_") {
            switch try verdict(name) {
            case .accepted, .rejected: answered += 1
            case .otherFailure(let reason): failures.append("\(name): \(reason)")
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(answered == 35)
    }

    @Test func rejectedCasesExitOneThroughTheCLI() throws {
        let folder = TempFolder()
        for name in ["n_string_unescaped_tab.json", "n_number_-01.json", "n_structure_100000_opening_arrays.json"] {
            let payload = try Array(Data(contentsOf: URL(fileURLWithPath: suitePath + "/" + name)))
            let file = folder.write(name, Array(#"{"Records":[{"x":"#.utf8) + payload + Array("}]}".utf8))
            let result = try runCLI(["process", file, "-o", "-", "--quiet"])
            #expect(result.status == 1, "\(name)")
            #expect(result.stderr.hasPrefix("trailmerge: \(file): byte "), "\(name): \(result.stderr)")
        }
    }

    @Test func invalidUTF8InStringsPassesThroughByteForByte() throws {
        let folder = TempFolder()
        let bytes: [UInt8] = Array(#"{"Records":[{"eventTime":"a"#.utf8) + [0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80] + Array(#""}]}"#.utf8)
        let file = folder.write("u.json", bytes)
        let out = try runToBytes(options([file], fields: "eventTime"), in: folder).bytes
        #expect(out == [0x61, 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0x0A])
    }
}
