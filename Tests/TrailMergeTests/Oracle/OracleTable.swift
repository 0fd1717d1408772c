/// The reference flatten → sort → format, built on `OracleParser`, Swift arrays and `sorted()`.
import Foundation

enum OracleTable {
    /// Throws when the documents have the wrong shape: a records value that is not an array, or a
    /// record that is not an object (the contract's rules beyond JSON grammar).
    static func validateShape(documents: [OracleValue], records: String = "Records") throws {
        for doc in documents {
            var items: [OracleValue]
            if records == "." {
                items = [doc]
            } else {
                var node: OracleValue? = doc
                for key in records.split(separator: ".") {
                    guard case .object? = node else { node = nil; break }
                    node = node?.member(String(key))
                }
                guard let node else { continue }
                guard case .array(let values) = node else { throw OracleError(description: "records value is not an array") }
                items = values
            }
            for item in items {
                guard case .object = item else { throw OracleError(description: "record is not an object") }
            }
        }
    }

    /// Rows (column values as decoded UTF-8 bytes) from the given decoded documents.
    static func rows(documents: [OracleValue], fields: [String], records: String = "Records") -> [[[UInt8]]] {
        var rows: [[[UInt8]]] = []
        for doc in documents {
            var recordValues: [OracleValue] = []
            if records == "." {
                recordValues = [doc]
            } else {
                var node: OracleValue? = doc
                for key in records.split(separator: ".") { node = node?.member(String(key)) }
                if case .array(let items)? = node { recordValues = items }
            }
            for record in recordValues {
                rows += flatten(record, fields: fields)
            }
        }
        return rows
    }

    static func text(_ value: OracleValue?) -> [UInt8] {
        switch value {
        case nil, .null?: return []
        case .string(let decoded, _)?: return decoded
        case let v?: return v.compact
        }
    }

    static func lookup(_ value: OracleValue?, _ path: [String]) -> OracleValue? {
        var node = value
        for key in path { node = node?.member(key) }
        return node
    }

    static func flatten(_ record: OracleValue, fields: [String]) -> [[[UInt8]]] {
        var base: [[UInt8]] = []
        var arrayColumns: [Int] = []
        var elementPath: [String] = []
        var arrayPath: [String] = []
        for (index, field) in fields.enumerated() {
            if let range = field.range(of: "[]") {
                arrayColumns.append(index)
                arrayPath = field[..<range.lowerBound].split(separator: ".").map(String.init)
                let rest = field[range.upperBound...]
                elementPath = rest.split(separator: ".").map(String.init)
                base.append([])
            } else {
                base.append(text(lookup(record, field.split(separator: ".").map(String.init))))
            }
        }
        guard !arrayColumns.isEmpty, case .array(let items)? = lookup(record, arrayPath), !items.isEmpty else {
            return [base]
        }
        return items.map { item in
            var row = base
            for c in arrayColumns { row[c] = text(lookup(item, elementPath)) }
            return row
        }
    }

    /// Sorted by the sort columns, then by all columns left to right, comparing bytes.
    static func sorted(_ rows: [[[UInt8]]], by columns: [Int]) -> [[[UInt8]]] {
        let order = columns + Array(0..<(rows.first?.count ?? 0))
        return rows.sorted { a, b in
            for c in order where a[c] != b[c] { return a[c].lexicographicallyPrecedes(b[c]) }
            return false
        }
    }

    static func tsv(_ rows: [[[UInt8]]], header: [String]? = nil) -> [UInt8] {
        func escape(_ v: [UInt8]) -> [UInt8] {
            v.flatMap { c -> [UInt8] in
                switch c {
                case 0x5C: return [0x5C, 0x5C]
                case 0x09: return [0x5C, UInt8(ascii: "t")]
                case 0x0A: return [0x5C, UInt8(ascii: "n")]
                case 0x0D: return [0x5C, UInt8(ascii: "r")]
                default: return [c]
                }
            }
        }
        var out: [UInt8] = []
        if let header { out += Array((header.joined(separator: "\t") + "\n").utf8) }
        for row in rows {
            out += Array(row.map(escape).joined(separator: [0x09])) + [0x0A]
        }
        return out
    }

    static func csv(_ rows: [[[UInt8]]]) -> [UInt8] {
        var out: [UInt8] = []
        for row in rows {
            let cells = row.map { v -> [UInt8] in
                let needs = v.contains { [0x2C, 0x22, 0x0A, 0x0D].contains($0) }
                guard needs else { return v }
                return [0x22] + v.flatMap { $0 == 0x22 ? [0x22, 0x22] : [$0] } + [0x22]
            }
            out += Array(cells.joined(separator: [0x2C])) + [0x0D, 0x0A]
        }
        return out
    }

    /// Whole pipeline over files on disk, gzip handled by /usr/bin/gzip.
    static func process(files: [String], fields: [String], records: String = "Records", sortBy: [Int] = [0, 1]) throws -> [[[UInt8]]] {
        var all: [[[UInt8]]] = []
        for file in files {
            let data = try decodedContents(file)
            let documents = try OracleParser.documents(data)
            try validateShape(documents: documents, records: records)
            all += rows(documents: documents, fields: fields, records: records)
        }
        return sorted(all, by: sortBy)
    }

    static func decodedContents(_ path: String) throws -> [UInt8] {
        let raw = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        if raw.count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
            return try runTool("/bin/gzip", ["-dc"], input: raw)
        }
        return raw
    }
}

/// Runs a tool with `input` on stdin and returns its stdout.
func runTool(_ tool: String, _ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let stdout = Pipe()
    process.standardOutput = stdout
    let stdin = Pipe()
    if input != nil { process.standardInput = stdin }
    try process.run()
    if let input {
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
    }
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw OracleError(description: "\(tool) exited \(process.terminationStatus)") }
    return Array(data)
}
