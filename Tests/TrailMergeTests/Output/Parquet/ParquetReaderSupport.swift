import Foundation
import Testing
@testable import TrailMerge

/// The repository's scripts folder.
let scriptsPath: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts").path
}()

let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

/// True when python3 can import pyarrow and duckdb. Tests that need them run when this is true, and
/// always under CI=true, where a missing reader then fails the test instead of skipping it.
let parquetReadersAvailable: Bool = {
    (try? runCLIThrough("/usr/bin/env", ["python3", "-c", "import pyarrow, duckdb"]).status) == 0
}()

/// What pyarrow and DuckDB report about a Parquet file (see scripts/parquet_dump.py).
struct ParquetDump {
    let json: [String: Any]

    init(_ path: String, values: Bool = true) throws {
        let result = try runCLIThrough(
            "/usr/bin/env", ["python3", scriptsPath + "/parquet_dump.py", path] + (values ? [] : ["--no-values"]))
        guard result.status == 0 else {
            throw DumpError(message: "parquet_dump.py exited \(result.status): \(result.stderr)")
        }
        json = try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: Any]
    }

    struct DumpError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    var numRows: Int { json["num_rows"] as! Int }
    var schema: [[String: Any]] { json["schema"] as! [[String: Any]] }
    var rowGroups: [[String: Any]] { json["row_groups"] as! [[String: Any]] }
    var duckdb: [String: Any] { json["duckdb"] as! [String: Any] }

    /// A string column's values (nil for NULL).
    func strings(_ name: String) -> [String?] {
        (json["values"] as! [String: Any])[name].map { ($0 as! [Any]).map { $0 as? String } } ?? []
    }

    /// A timestamp column's values in epoch milliseconds (nil for NULL).
    func millis(_ name: String) -> [Int64?] {
        (json["values"] as! [String: Any])[name].map { ($0 as! [Any]).map { ($0 as? NSNumber)?.int64Value } } ?? []
    }

    /// Row group `g`, column `c`.
    func chunk(_ g: Int, _ c: Int) -> [String: Any] {
        (rowGroups[g]["columns"] as! [[String: Any]])[c]
    }
}

/// Writes `rows` (one optional string per column) to a Parquet file in `folder`.
@discardableResult
func writeParquet(
    _ rows: [[String?]], columns: [ParquetColumn], options: ParquetWriterOptions, in folder: TempFolder,
    name: String = "t.parquet"
) throws -> (path: String, writer: ParquetWriter) {
    let path = folder.path + "/" + name
    let file = try BufferedWriter(creating: path)
    let writer = try ParquetWriter(sink: file, columns: columns, options: options)
    for row in rows { try writer.append(row: row.map { $0.map { Array($0.utf8) } }) }
    try writer.finish()
    try file.flush()
    return (path, writer)
}

/// The statistics pyarrow should report for a string column: unsigned byte order, NULLs skipped.
func expectedStringStats(_ values: [String?]) -> (min: String?, max: String?, nulls: Int) {
    let present = values.compactMap { $0 }
    let byBytes = present.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    return (byBytes.first, byBytes.last, values.count - present.count)
}
