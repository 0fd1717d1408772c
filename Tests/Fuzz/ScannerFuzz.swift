/// libFuzzer target for the record scanner, built by scripts/fuzz.sh together with the library
/// sources and the test oracle. Each input is wrapped as the value of a record field; the scanner
/// (whole-buffer and cut into two windows) must agree with the oracle on accept/reject and on the
/// extracted value, and must never trap.
import Foundation

nonisolated(unsafe) private let plan = try! FieldPlan(fields: [try! FieldPath("a")])
nonisolated(unsafe) private let scanner = RecordScanner(plan: plan, recordsPath: "Records")

/// Scans `doc`, cut at `cut` into two windows like the worker does. Returns the captured values or nil if rejected.
private func scan(_ doc: [UInt8], cut: Int) -> [[UInt8]]? {
    scanner.beginFile()
    var values: [[UInt8]] = []
    var window = Array(doc[0..<cut])
    var offset = 0
    var eof = cut == doc.count
    var start = 0
    while true {
        let outcome: ScanOutcome
        do {
            outcome = try window.withUnsafeBufferPointer { b throws(ScanFailure) in
                try scanner.scan(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: b.count, from: start, eof: eof, offset: offset) { v in
                    values.append(Array(UnsafeBufferPointer(start: v.bytes.base + v.starts[0], count: v.lengths[0])))
                    return false
                }
            }
        } catch {
            return nil
        }
        switch outcome {
        case .finished: return values
        case .paused(let at): start = at
        case .needMore(let keep):
            precondition(!eof, "needMore at end of input")
            window = Array(window[keep...]) + Array(doc[cut...])
            offset += keep
            start = 0
            eof = true
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScanner(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let payload = Array(UnsafeBufferPointer(start: data, count: size))
    let doc = Array(#"{"Records":[{"a":"#.utf8) + payload + Array("}]}".utf8)
    let whole = scan(doc, cut: doc.count)
    let split = scan(doc, cut: size > 0 ? 12 + Int(payload[0]) % (size + 1) : 12)
    precondition(whole == split, "windowed scan disagrees with whole scan")
    let oracle: [[UInt8]]?
    if let docs = try? OracleParser.documents(doc), (try? OracleTable.validateShape(documents: docs)) != nil {
        oracle = OracleTable.rows(documents: docs, fields: ["a"]).map { $0[0] }
    } else {
        oracle = nil
    }
    precondition((whole == nil) == (oracle == nil), "scanner and oracle disagree on validity")
    if let whole, let oracle { precondition(whole == oracle, "scanner and oracle extract different values") }
    return 0
}
