/// Which records `process` keeps, decided on each record's extracted values before the explode:
/// `--since`/`--until` on `eventTime`, and `--where` clauses (ANDed) on any record path.
/// In: `RecordValues` whose hidden fields hold the paths the clauses name. Out: keep or drop.
/// Invariants: evaluation compares bytes in place (no allocation per record); regular expressions
/// are POSIX extended ones, compiled once per worker and matched on the value's bytes in place.
import Glibc

/// `--since` (inclusive) and `--until` (exclusive) on `eventTime`, in milliseconds since the
/// epoch, and the delivery delay that decides which `YYYY/MM/DD` folders can hold a match.
public struct TimeRange: Sendable, Equatable {
    public var since: Int64?
    public var until: Int64?
    /// How long after its eventTime an event may be delivered (CloudTrail files an event under
    /// the UTC day it is delivered).
    public var maxDeliveryDelay: Int64 = TimeRange.day

    public static let day: Int64 = 86_400_000

    public init(since: Int64? = nil, until: Int64? = nil, maxDeliveryDelay: Int64 = TimeRange.day) {
        self.since = since
        self.until = until
        self.maxDeliveryDelay = maxDeliveryDelay
    }

    /// True when there is a bound to apply.
    public var isBounded: Bool { since != nil || until != nil }

    @inline(__always)
    func contains(_ millis: Int64) -> Bool {
        if let since, millis < since { return false }
        if let until, millis >= until { return false }
        return true
    }

    /// The delivery days (days since the epoch) whose folders can hold a matching event: from the
    /// `--since` day to the day of the last instant before `--until` plus the delivery delay.
    var deliveryDays: ClosedRange<Int64> {
        let first = since.map { floorDivide($0, TimeRange.day) } ?? Int64.min
        let last = until.map { floorDivide($0 - 1 + maxDeliveryDelay, TimeRange.day) } ?? Int64.max
        return first...max(first, last)
    }

    /// Whether a delivery folder for `year`-`month`-`day` (or, with `day` nil, any day of the month)
    /// can hold an event in range.
    func folderMayHold(year: Int, month: Int, day: Int?) -> Bool {
        guard isBounded else { return true }
        let days = deliveryDays
        if let until, let since, until <= since { return false }
        if let day {
            return days.contains(Int64(ISOTimestamp.daysFromCivil(year: year, month: month, day: day)))
        }
        let first = Int64(ISOTimestamp.daysFromCivil(year: year, month: month, day: 1))
        let last = first + Int64(ISOTimestamp.daysIn(month: month, year: year)) - 1
        return first <= days.upperBound && last >= days.lowerBound
    }

    /// Parses an ISO-8601 instant: `2024-03-01`, `2024-03-01T12:00Z`, `2024-03-01T12:00:00Z`,
    /// with optional fractional seconds and a `Z` or `±HH:MM` zone.
    public static func parseInstant(_ text: String, option: String) throws(TrailMergeError) -> Int64 {
        func fail() -> TrailMergeError {
            .usage("\(option): '\(text)' is not an ISO-8601 time (e.g. 2024-03-01, 2024-03-01T12:00:00Z, 2024-03-01T14:00:00+02:00)")
        }
        var value = Array(text.utf8)
        if value.count == 10 { value += Array("T00:00:00Z".utf8) }
        // HH:MM without seconds.
        if value.count >= 16 && value[10] == 0x54 && value[13] == 0x3A && (value.count == 16 || value[16] != 0x3A) {
            value.insert(contentsOf: Array(":00".utf8), at: 16)
        }
        // A non-zero offset: parse it, then read the rest as UTC.
        var offsetMinutes = 0
        if value.count > 6 {
            let zone = value.count - 6
            let sign = value[zone]
            if (sign == 0x2B || sign == 0x2D) && value[zone + 3] == 0x3A {
                let digits = [value[zone + 1], value[zone + 2], value[zone + 4], value[zone + 5]]
                guard digits.allSatisfy({ (0x30...0x39).contains($0) }) else { throw fail() }
                let d = digits.map { Int($0) - 0x30 }
                let hours = d[0] * 10 + d[1]
                let minutes = d[2] * 10 + d[3]
                guard hours < 24 && minutes < 60 else { throw fail() }
                offsetMinutes = (hours * 60 + minutes) * (sign == 0x2B ? 1 : -1)
                value.removeLast(6)
                value.append(0x5A)
            }
        }
        guard let millis = value.withUnsafeBufferPointer({ ISOTimestamp.epochMillis($0) }) else { throw fail() }
        return millis - Int64(offsetMinutes) * 60_000
    }

    /// Parses a duration: `1d`, `36h`, `90m`, `30s`, or `0`.
    public static func parseDuration(_ text: String, option: String) throws(TrailMergeError) -> Int64 {
        let units: [Character: Int64] = ["d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000]
        if text == "0" { return 0 }
        guard let unit = text.last, let scale = units[unit], let count = Int64(text.dropLast()), count >= 0,
            count <= Int64.max / scale / 4
        else {
            throw .usage("\(option): '\(text)' is not a duration (a whole number with d, h, m or s, e.g. 1d, 36h)")
        }
        return count * scale
    }
}

/// False when `path` ends in `YYYY/MM/DD` (or `YYYY/MM`) and that delivery day (or month) cannot
/// hold an event of `range`; true for every other folder.
func dateFolderMayHold(_ path: String, _ range: TimeRange) -> Bool {
    func number(_ part: Substring, digits: Int) -> Int? {
        guard part.utf8.count == digits, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(part)
    }
    let parts = path.split(separator: "/").suffix(3)
    let tail = Array(parts)
    if tail.count == 3, let year = number(tail[0], digits: 4), let month = number(tail[1], digits: 2),
        let day = number(tail[2], digits: 2), (1...12).contains(month), day >= 1, day <= ISOTimestamp.daysIn(month: month, year: year)
    {
        return range.folderMayHold(year: year, month: month, day: day)
    }
    if tail.count >= 2, let year = number(tail[tail.count - 2], digits: 4), let month = number(tail[tail.count - 1], digits: 2),
        (1...12).contains(month)
    {
        return range.folderMayHold(year: year, month: month, day: nil)
    }
    return true
}

@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

/// One `--where` clause.
public struct WhereClause: Sendable, Equatable {
    public enum Test: Sendable, Equatable {
        /// `PATH=VALUE` (negated: `PATH!=VALUE`).
        case equals([UInt8])
        /// `PATH~REGEX` (negated: `PATH!~REGEX`): a POSIX extended regular expression found
        /// anywhere in the value (anchor it with ^ and $).
        case matches(String)
        /// `PATH?`: present and not null (negated: `!PATH?`).
        case present
    }

    public let text: String
    public let path: FieldPath
    public let test: Test
    /// The clause holds when the test fails (for a path with `[]`: when no element passes it).
    public let negated: Bool

    public init(_ text: String) throws(TrailMergeError) {
        self.text = text
        let example = "use PATH=VALUE, PATH!=VALUE, PATH~REGEX, PATH!~REGEX, PATH? or !PATH?"
        var pathText: Substring
        let chars = Array(text)
        if let op = chars.firstIndex(where: { $0 == "=" || $0 == "~" }) {
            let bang = op > 0 && chars[op - 1] == "!"
            pathText = Substring(String(chars[..<(bang ? op - 1 : op)]))
            let value = String(chars[(op + 1)...])
            negated = bang
            if chars[op] == "=" {
                test = .equals(Array(value.utf8))
            } else {
                try PosixRegex.check(value, clause: text)
                test = .matches(value)
            }
        } else if text.hasPrefix("!") && text.hasSuffix("?") && text.count > 2 {
            pathText = Substring(text).dropFirst().dropLast()
            negated = true
            test = .present
        } else if text.hasSuffix("?") && text.count > 1 {
            pathText = Substring(text).dropLast()
            negated = false
            test = .present
        } else {
            throw .usage("--where: '\(text)' is not a condition (\(example))")
        }
        guard !pathText.isEmpty else { throw .usage("--where: '\(text)' has no path before its operator (\(example))") }
        do {
            path = try FieldPath(String(pathText))
        } catch {
            throw .usage("--where: '\(pathText)' in '\(text)' is not a valid path (dotted keys, with [] after at most one array key, e.g. resources[].ARN)")
        }
    }
}

/// A compiled POSIX extended regular expression, owned by one worker.
final class PosixRegex {
    // SAFETY: the regex_t lives at a fixed address for the object's life (regcomp keeps pointers into it).
    private let regex = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)

    init?(_ pattern: String) {
        guard regcomp(regex, pattern, REG_EXTENDED | REG_NOSUB) == 0 else {
            regex.deallocate()
            return nil
        }
    }

    deinit {
        regfree(regex)
        regex.deallocate()
    }

    /// Throws a usage error naming the clause when `pattern` does not compile.
    static func check(_ pattern: String, clause: String) throws(TrailMergeError) {
        let probe = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        defer { probe.deallocate() }
        let code = regcomp(probe, pattern, REG_EXTENDED | REG_NOSUB)
        guard code != 0 else {
            regfree(probe)
            return
        }
        var message = [CChar](repeating: 0, count: 256)
        regerror(code, probe, &message, message.count)
        let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw .usage("--where: '\(clause)': '\(pattern)' is not a valid POSIX extended regular expression (\(reason))")
    }

    /// True when the expression matches somewhere in `bytes[0..<count]` (NUL bytes included).
    @inline(__always)
    func matches(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var range = regmatch_t(rm_so: 0, rm_eo: regoff_t(count))
        // SAFETY: REG_STARTEND bounds the match to bytes[0..<count]; no terminator is read.
        return bytes.withMemoryRebound(to: CChar.self, capacity: max(count, 1)) { text in
            regexec(regex, text, 1, &range, REG_STARTEND) == 0
        }
    }
}

/// A worker's compiled filter: the time range and the `--where` clauses over hidden fields.
final class RecordFilter {
    private struct Clause {
        var field: Int
        var multi: Bool
        var kind: UInt8  // 0 equals, 1 matches, 2 present
        var negated: Bool
        /// `=`: the operand's bytes in `operands`.
        var valueStart: Int
        var valueCount: Int
        var regex: PosixRegex?
    }

    private let clauses: [Clause]
    private let operands: UnsafeMutablePointer<UInt8>
    private let timeField: Int
    private let range: TimeRange
    private let checksTime: Bool
    /// Records dropped by the time range, and by the clauses.
    private(set) var outOfRange = 0
    private(set) var filteredOut = 0
    /// Of `outOfRange`, records whose eventTime is missing, null or not an ISO-8601 time: no
    /// range holds them, and the run says how many there were.
    private(set) var untimed = 0

    /// - Parameters:
    ///   - fields: the field index of each clause's path (and `timeField` that of eventTime).
    init(clauses whereClauses: [WhereClause], fields: [Int], multiStart: Int, timeField: Int?, range: TimeRange) {
        var compiled: [Clause] = []
        var bytes: [UInt8] = []
        for (clause, field) in zip(whereClauses, fields) {
            var c = Clause(
                field: field, multi: field >= multiStart, kind: 2, negated: clause.negated, valueStart: 0, valueCount: 0, regex: nil)
            switch clause.test {
            case .equals(let value):
                c.kind = 0
                c.valueStart = bytes.count
                c.valueCount = value.count
                bytes += value
            case .matches(let pattern): c.kind = 1; c.regex = PosixRegex(pattern)
            case .present: c.kind = 2
            }
            compiled.append(c)
        }
        clauses = compiled
        operands = .allocate(capacity: max(bytes.count, 1))
        operands.initialize(from: bytes, count: bytes.count)
        self.timeField = timeField ?? -1
        self.range = range
        checksTime = timeField != nil && range.isBounded
    }

    deinit { operands.deallocate() }

    /// True when there is nothing to check.
    var isEmpty: Bool { clauses.isEmpty && !checksTime }

    /// Whether the record in `values` is kept.
    @inline(__always)
    func accepts(_ values: RecordValues) -> Bool {
        let base = UnsafePointer(values.bytes.base)
        if checksTime {
            guard values.present[timeField] else {
                outOfRange += 1
                untimed += 1
                return false
            }
            let millis = ISOTimestamp.epochMillis(
                UnsafeBufferPointer(start: base + values.starts[timeField], count: values.lengths[timeField]))
            guard let millis else {
                outOfRange += 1
                untimed += 1
                return false
            }
            guard range.contains(millis) else {
                outOfRange += 1
                return false
            }
        }
        for k in clauses.indices {
            let pass: Bool
            if clauses[k].multi {
                var any = false
                for m in 0..<values.multiCount where values.multiField[m] == clauses[k].field {
                    if test(k, values.multiPresent[m], base + values.multiStarts[m], values.multiLengths[m]) {
                        any = true
                        break
                    }
                }
                pass = any
            } else {
                let f = clauses[k].field
                pass = test(k, values.present[f], base + values.starts[f], values.lengths[f])
            }
            if pass == clauses[k].negated {
                filteredOut += 1
                return false
            }
        }
        return true
    }

    /// The positive test of clause `k` on one value (a missing or null value passes none).
    @inline(__always)
    private func test(_ k: Int, _ present: Bool, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        guard present else { return false }
        switch clauses[k].kind {
        case 0:
            // SAFETY: the operand is operands[valueStart..<valueStart + valueCount], and the value
            // is `length` bytes of the record's buffer.
            return clauses[k].valueCount == length
                && (length == 0 || memcmp(bytes, operands + clauses[k].valueStart, length) == 0)
        case 1:
            return clauses[k].regex!.matches(bytes, length)
        default:
            return true
        }
    }
}
