/// The oracle's reading of the selection rules in the README (`--since`/`--until` with folder
/// pruning, `--where`, `--dedupe`), written from the rules on Foundation dates, Swift strings,
/// NSRegularExpression and `OracleValue` trees. It calls no library code.
import Foundation

struct OracleSelection {
    var since: Date?
    var until: Date?
    var delay: TimeInterval = 86_400
    var clauses: [String] = []
    /// `--dedupe` key path, when deduplicating.
    var dedupeKey: String?

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// An ISO-8601 UTC time, with or without fractional seconds.
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    var bounded: Bool { since != nil || until != nil }

    /// Files in the order the tool walks them: each folder's entries in byte order, depth first.
    static func walk(_ root: String) -> [String] {
        var out: [String] = []
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted {
            Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
        }
        for entry in entries {
            let path = root + "/" + entry
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            if isDirectory.boolValue { out += walk(path) } else { out.append(path) }
        }
        return out
    }

    /// Whether the tool reads the file at `path`: false when one of its folders is a delivery day
    /// (`YYYY/MM/DD`) or month (`YYYY/MM`) that cannot hold an event of the range. A day can hold
    /// events from the --since day to the day of (the last instant before --until) + delay.
    func reads(_ path: String) -> Bool {
        guard bounded else { return true }
        let folders = path.split(separator: "/").map(String.init).dropLast()
        func number(_ text: String, _ digits: Int) -> Int? {
            text.count == digits && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber) ? Int(text) : nil
        }
        let first = since.map { Self.utc.startOfDay(for: $0) }
        let last = until.map { Self.utc.startOfDay(for: $0.addingTimeInterval(-0.001 + delay)) }
        let parts = Array(folders)
        for i in parts.indices {
            guard let year = number(parts[i], 4), i + 1 < parts.count, let month = number(parts[i + 1], 2),
                (1...12).contains(month)
            else { continue }
            let monthStart = Self.utc.date(from: DateComponents(year: year, month: month, day: 1))!
            let nextMonth = Self.utc.date(byAdding: .month, value: 1, to: monthStart)!
            if let first, nextMonth <= first { return false }
            if let last, monthStart > last { return false }
            if i + 2 < parts.count, let day = number(parts[i + 2], 2), day >= 1 {
                let date = Self.utc.date(from: DateComponents(year: year, month: month, day: day))!
                guard Self.utc.component(.month, from: date) == month else { continue }
                if let first, date < first { return false }
                if let last, date > last { return false }
            }
        }
        return true
    }

    /// The values a path names in a record: one for a plain path (nil when missing), one per
    /// element for a path with [].
    static func values(_ record: OracleValue, _ path: String) -> [OracleValue?] {
        if let range = path.range(of: "[]") {
            let arrayPath = path[..<range.lowerBound].split(separator: ".").map(String.init)
            let elementPath = path[range.upperBound...].split(separator: ".").map(String.init)
            guard case .array(let items)? = OracleTable.lookup(record, arrayPath) else { return [] }
            return items.map { OracleTable.lookup($0, elementPath) }
        }
        return [OracleTable.lookup(record, path.split(separator: ".").map(String.init))]
    }

    /// Whether one --where clause holds for `record`.
    static func holds(_ clause: String, _ record: OracleValue) -> Bool {
        func present(_ v: OracleValue?) -> Bool {
            if case .null? = v { return false }
            return v != nil
        }
        if let op = clause.firstIndex(where: { $0 == "=" || $0 == "~" }) {
            var path = String(clause[..<op])
            let negated = path.hasSuffix("!")
            if negated { path.removeLast() }
            let operand = String(clause[clause.index(after: op)...])
            let any = values(record, path).contains { v in
                guard present(v) else { return false }
                let text = OracleTable.text(v)
                if clause[op] == "=" { return text == Array(operand.utf8) }
                let string = String(decoding: text, as: UTF8.self)
                let regex = try! NSRegularExpression(pattern: operand)
                return regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
            }
            return any != negated
        }
        if clause.hasPrefix("!") {
            return !values(record, String(clause.dropFirst().dropLast())).contains(where: present)
        }
        return values(record, String(clause.dropLast())).contains(where: present)
    }

    func keeps(_ record: OracleValue) -> Bool {
        if bounded {
            guard case .string(let decoded, _)? = record.member("eventTime"),
                let time = Self.date(String(decoding: decoded, as: UTF8.self))
            else { return false }
            if let since, time < since { return false }
            if let until, time >= until { return false }
        }
        return clauses.allSatisfy { Self.holds($0, record) }
    }

    /// The whole run: files read per the folder rule, records kept, flattened, deduplicated
    /// (copies share the key, whatever their other values; the copy whose first row sorts first
    /// is kept, ties going to the one read first), sorted.
    func process(root: String, fields: [String], sortBy: [Int] = [0, 1]) throws -> (rows: [[[UInt8]]], files: Int, duplicates: Int) {
        var copies: [(rows: [[[UInt8]]], key: [UInt8]?, order: Int)] = []
        var files = 0
        for file in Self.walk(root) where reads(file) && (file.hasSuffix(".json") || file.hasSuffix(".json.gz")) {
            files += 1
            let documents = try OracleParser.documents(try OracleTable.decodedContents(file))
            for document in documents {
                guard case .array(let records)? = document.member("Records") else { continue }
                for record in records where keeps(record) {
                    var key: [UInt8]? = nil
                    if let dedupeKey, let value = Self.values(record, dedupeKey).first, let value, value != .null {
                        key = OracleTable.text(value)
                    }
                    copies.append((OracleTable.flatten(record, fields: fields), key, copies.count))
                }
            }
        }
        var duplicates = 0
        var rows: [[[UInt8]]] = []
        if dedupeKey != nil {
            var best: [[UInt8]: (first: [[UInt8]], order: Int)] = [:]
            func identity(_ copy: (rows: [[[UInt8]]], key: [UInt8]?, order: Int)) -> [UInt8]? { copy.key }
            let sortedRows = copies.map { OracleTable.sorted($0.rows, by: sortBy)[0] }
            func before(_ a: ([[UInt8]], Int), _ b: ([[UInt8]], Int)) -> Bool {
                let x = OracleTable.sorted([a.0, b.0], by: sortBy)
                if a.0 != b.0 { return x[0] == a.0 }
                return a.1 < b.1
            }
            for (i, copy) in copies.enumerated() {
                guard let id = identity(copy) else { continue }
                if let current = best[id] {
                    duplicates += 1
                    if before((sortedRows[i], i), current) { best[id] = (sortedRows[i], i) }
                } else {
                    best[id] = (sortedRows[i], i)
                }
            }
            for (i, copy) in copies.enumerated() {
                if let id = identity(copy), best[id]!.order != i { continue }
                rows += copy.rows
            }
        } else {
            for copy in copies { rows += copy.rows }
        }
        return (OracleTable.sorted(rows, by: sortBy), files, duplicates)
    }
}
