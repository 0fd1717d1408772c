/// Suggestions for mistyped names: the closest candidate by case-insensitive equality, then by
/// edit distance. Used for options, commands, sort columns and field paths (never on a hot path).

/// The candidate closest to `name`, when it is close enough to be a likely typo.
public func closest(_ name: String, in candidates: [String]) -> String? {
    if let same = candidates.first(where: { $0.lowercased() == name.lowercased() && $0 != name }) { return same }
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
    let lowered = Array(name.lowercased())
    let scored = candidates.filter { $0 != name }.map { ($0, distance(lowered, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best = scored, best.1 <= max(2, name.count / 3) else { return nil }
    return best.0
}
