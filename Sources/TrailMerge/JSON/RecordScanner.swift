/// Validates JSON while it walks it and pulls the requested fields out of each record.
/// In: windows of decoded bytes (documents, possibly concatenated, possibly cut mid-value).
/// Out: one `RecordValues` per record, handed to the `RowArena`; counts of documents without the
/// records array (and of those that look like events themselves) for the run's warnings.
/// Invariants: every byte that is skipped is still validated against RFC 8259 (brackets, string
/// escapes, control characters, number grammar, literals); nesting is walked iteratively up to
/// `maxDepth`; a value cut by the window end is retried whole once more bytes arrive.

/// Why a scan stopped early.
import Glibc

enum ScanFailure: Error {
    /// The window ended inside a unit; retry from the last commit point with more bytes.
    case needMore
    /// The input is not valid; `position` is relative to the window start.
    case invalid(position: Int, reason: String)
}

/// How a call to `scan` ended.
enum ScanOutcome: Equatable {
    /// Everything before `keepFrom` is consumed; call again with the rest plus more bytes.
    case needMore(keepFrom: Int)
    /// The row arena is full; spill it, then call again from `resumeAt` with the same window.
    case paused(resumeAt: Int)
    /// End of input reached at a document boundary.
    case finished
}

final class RecordScanner {
    /// The deepest nesting accepted anywhere in a document.
    static let maxDepth = 10_000

    private struct Node {
        var keyHead: UInt64
        /// The key's last eight bytes (for keys of 9 to 16 bytes, the rest of the key after `keyHead`).
        var keyLast: UInt64
        var keyOffset: Int
        var keyLength: Int
        var childStart: Int
        var childCount: Int
        /// Bit min(length, 63) is set for the key length of every child: most keys of a record
        /// are no child's, and their length alone says so.
        var childLengths: UInt64
        /// The node's slice of `childSlots`: `1 << slotBits` entries, a child's index or -1 at
        /// `slot(head, length)`, with a multiplier chosen so that no two children share a slot.
        var slotStart: Int
        var slotShift: UInt64
        var slotMultiplier: UInt64
        var fieldStart: Int
        var fieldCount: Int
        var element: Int
        var anyElement: Int
        var descends: Bool
    }

    private let nodes: UnsafeMutablePointer<Node>
    private let nodeCount: Int
    private let childIndex: UnsafeMutablePointer<Int>
    private let childSlots: UnsafeMutablePointer<Int32>
    private let fieldIndex: UnsafeMutablePointer<Int>
    private let keyBytes: UnsafeMutablePointer<UInt8>
    private let depthStack: UnsafeMutablePointer<UInt8>
    private let recordsPath: [[UInt8]]
    private let recordsPathText: String
    let values: RecordValues
    private let keyScratch = ByteBuffer(capacity: 256)

    // The window being scanned.
    private var window: JSONCursor
    private var windowOffset = 0

    // Document-level state, kept across windows.
    private enum Phase { case betweenDocuments, objectFirst, objectNext, arrayFirst, arrayNext }
    private var phase = Phase.betweenDocuments
    private var level = 0
    private var documentHasRecords = false
    private var documentLooksLikeEvent = false
    private var documentStart = 0
    /// With `--records .`: watch each record's top level for a `Records` array.
    private let probeRecordsKey: Bool

    /// Records completed since the last `beginFile`.
    private(set) var records = 0
    /// Documents since the last `beginFile` that had no records array (or were not objects).
    private(set) var documentsWithoutRecords = 0
    /// The byte offset of the first of them.
    private(set) var firstDocumentWithoutRecords = 0
    /// Of those, documents with an `eventTime` or `eventName` key at the top level.
    private(set) var eventLikeDocuments = 0
    /// With `--records .`: records that hold a top-level `Records` array.
    private(set) var recordsHoldingRecordsArray = 0

    /// - Parameter recordsPath: dotted path of the records array; `.` makes every top-level value a record.
    init(plan: FieldPlan, recordsPath: String) {
        let planNodes = plan.nodes
        nodeCount = planNodes.count
        nodes = .allocate(capacity: nodeCount)
        var children: [Int] = []
        var fields: [Int] = []
        var keys: [UInt8] = []
        var slots: [Int32] = []
        for (index, node) in planNodes.enumerated() {
            let table = RecordScanner.slotTable(node.children.map { (planNodes[$0].keyHead, planNodes[$0].key.count, $0) })
            (nodes + index).initialize(to: Node(
                keyHead: node.keyHead, keyLast: RecordScanner.lastWord(node.key), keyOffset: keys.count, keyLength: node.key.count,
                childStart: children.count, childCount: node.children.count,
                childLengths: node.children.reduce(0) { $0 | UInt64(1) << UInt64(min(planNodes[$1].key.count, 63)) },
                slotStart: slots.count, slotShift: table.shift, slotMultiplier: table.multiplier,
                fieldStart: fields.count, fieldCount: node.fields.count,
                element: node.element, anyElement: node.anyElement, descends: node.descends))
            keys.append(contentsOf: node.key)
            children.append(contentsOf: node.children)
            fields.append(contentsOf: node.fields)
            slots.append(contentsOf: table.slots)
        }
        childSlots = .allocate(capacity: slots.count)
        childSlots.initialize(from: slots, count: slots.count)
        childIndex = .allocate(capacity: max(children.count, 1))
        childIndex.initialize(from: children, count: children.count)
        fieldIndex = .allocate(capacity: max(fields.count, 1))
        fieldIndex.initialize(from: fields, count: fields.count)
        keyBytes = .allocate(capacity: max(keys.count, 1) + 8)
        keyBytes.initialize(repeating: 0, count: max(keys.count, 1) + 8)
        keyBytes.update(from: keys, count: keys.count)
        depthStack = .allocate(capacity: RecordScanner.maxDepth)
        values = RecordValues(fieldCount: plan.fieldCount, multiStart: plan.multiStart)
        recordsPathText = recordsPath
        self.recordsPath = recordsPath == "." ? [] : recordsPath.split(separator: ".").map { Array($0.utf8) }
        probeRecordsKey = recordsPath == "."
        window = JSONCursor(UnsafePointer(keyBytes), end: 0, eof: false)
    }

    deinit {
        nodes.deallocate()
        childIndex.deallocate()
        childSlots.deallocate()
        fieldIndex.deallocate()
        keyBytes.deallocate()
        depthStack.deallocate()
    }

    /// Resets document state for a new file.
    func beginFile() {
        phase = .betweenDocuments
        level = 0
        records = 0
        documentsWithoutRecords = 0
        eventLikeDocuments = 0
        recordsHoldingRecordsArray = 0
    }

    // MARK: - Driving

    /// Scans `window[from..<count]`. `offset` is the file offset of `window[0]`, used in messages.
    /// `onRecord` receives each complete record and returns true when the caller wants a pause.
    func scan(
        _ bytes: UnsafePointer<UInt8>, count: Int, from start: Int, eof: Bool, offset: Int,
        onRecord: (RecordValues) -> Bool
    ) throws(ScanFailure) -> ScanOutcome {
        window = JSONCursor(bytes, end: count, eof: eof)
        let w = window
        windowOffset = offset
        var i = start
        var commit = start
        do throws(ScanFailure) {
            while true {
                commit = i
                switch phase {
                case .betweenDocuments:
                    w.skipWhitespace(&i)
                    if i >= w.end {
                        if eof { return .finished }
                        return .needMore(keepFrom: i)
                    }
                    documentStart = offset + i
                    if recordsPath.isEmpty {
                        try parseRecord(&i)
                        records += 1
                        if onRecord(values) { return .paused(resumeAt: i) }
                    } else if w[i] == 0x7B {  // {
                        i += 1
                        level = 0
                        documentHasRecords = false
                        documentLooksLikeEvent = false
                        phase = .objectFirst
                    } else {
                        let first = w[i]
                        try skipValue(&i)
                        // A top-level number or literal must end at whitespace or the end of input
                        // ("00" or "truex" is garbage, not two documents).
                        if first != 0x5B && first != 0x22 {
                            if i >= w.end && !eof { throw .needMore }
                            if i < w.end && !JSONCursor.isWhitespace(w[i]) {
                                throw w.invalid(i, "unexpected bytes after a top-level value")
                            }
                        }
                        noteDocumentWithoutRecords()
                    }
                case .objectFirst, .objectNext:
                    w.skipWhitespace(&i)
                    guard i < w.end else { throw w.short(i) }
                    var c = w[i]
                    if c == 0x7D {  // }
                        i += 1
                        closeObject()
                        continue
                    }
                    if phase == .objectNext {
                        guard c == 0x2C else { throw w.invalid(i, "expected ',' or '}' after object member") }
                        i += 1
                        w.skipWhitespace(&i)
                        guard i < w.end else { throw w.short(i) }
                        c = w[i]
                    }
                    guard c == 0x22 else { throw w.invalid(i, "expected a string key") }
                    i += 1
                    let keyStart = i
                    let escaped = try w.scanStringBody(&i)
                    let matches = try keyEquals(start: keyStart, end: i - 1, escaped: escaped, expected: recordsPath[level])
                    if level == 0 && !matches && i - 1 - keyStart == 9 && !escaped
                        && (w.matches(keyStart, "eventTime") || w.matches(keyStart, "eventName"))
                    {
                        documentLooksLikeEvent = true
                    }
                    try w.skipColon(&i)
                    if matches && level == recordsPath.count - 1 {
                        guard w[i] == 0x5B else {
                            throw w.invalid(i, "\(recordsPathText) is not an array")
                        }
                        i += 1
                        documentHasRecords = true
                        phase = .arrayFirst
                    } else if matches && w[i] == 0x7B {
                        i += 1
                        level += 1
                        phase = .objectFirst
                    } else {
                        try skipValue(&i)
                        phase = .objectNext
                    }
                case .arrayFirst, .arrayNext:
                    w.skipWhitespace(&i)
                    guard i < w.end else { throw w.short(i) }
                    var c = w[i]
                    if c == 0x5D {  // ]
                        i += 1
                        phase = .objectNext
                        continue
                    }
                    if phase == .arrayNext {
                        guard c == 0x2C else { throw w.invalid(i, "expected ',' or ']' after a record") }
                        i += 1
                        w.skipWhitespace(&i)
                        guard i < w.end else { throw w.short(i) }
                        c = w[i]
                    }
                    try parseRecord(&i)
                    records += 1
                    phase = .arrayNext
                    if onRecord(values) { return .paused(resumeAt: i) }
                }
            }
        } catch {
            if case .needMore = error { return .needMore(keepFrom: commit) }
            throw error
        }
    }

    private func closeObject() {
        if level == 0 {
            if !documentHasRecords {
                if documentLooksLikeEvent { eventLikeDocuments += 1 }
                noteDocumentWithoutRecords()
            }
            phase = .betweenDocuments
        } else {
            level -= 1
            phase = .objectNext
        }
    }

    private func noteDocumentWithoutRecords() {
        if documentsWithoutRecords == 0 { firstDocumentWithoutRecords = documentStart }
        documentsWithoutRecords += 1
    }

    // MARK: - Values

    /// Skips one complete value starting at `w[i]` (after whitespace), validating all of it.
    @inline(__always)
    private func skipValue(_ i: inout Int) throws(ScanFailure) {
        try window.skipValue(&i, stack: depthStack, maxDepth: RecordScanner.maxDepth)
    }

    /// Appends `w[start..<stop]`, a validated value, without whitespace outside strings.
    private func appendCompact(_ start: Int, _ stop: Int, to out: ByteBuffer) {
        let w = window
        var i = start
        var runStart = start
        while i < stop {
            let c = w[i]
            if c == 0x22 {
                // Strings are copied as written, escapes included.
                i += 1
                while true {
                    let s = w[i]
                    if s == 0x5C { i += 2; continue }
                    i += 1
                    if s == 0x22 { break }
                }
            } else if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                if i > runStart { out.append(w.pointer(runStart, count: i - runStart), i - runStart) }
                i += 1
                runStart = i
            } else {
                i += 1
            }
        }
        if stop > runStart { out.append(w.pointer(runStart, count: stop - runStart), stop - runStart) }
    }

    // MARK: - Records

    /// Compares a key in the window with an expected key.
    private func keyEquals(start: Int, end keyEnd: Int, escaped: Bool, expected: [UInt8]) throws(ScanFailure) -> Bool {
        let w = window
        if escaped {
            keyScratch.count = 0
            var j = start
            _ = try w.decodeStringBody(&j, into: keyScratch)
            return keyScratch.count == expected.count && keyScratch.bytes.elementsEqual(expected)
        }
        let length = keyEnd - start
        guard length == expected.count else { return false }
        return expected.withUnsafeBufferPointer { e in
            memcmp(w.pointer(start, count: length), e.baseAddress!, length) == 0
        }
    }

    private func parseRecord(_ i: inout Int) throws(ScanFailure) {
        let w = window
        guard w[i] == 0x7B else {
            throw w.invalid(i, "record is not a JSON object")
        }
        values.reset()
        try extractObject(node: 0, &i, inElement: false)
    }

    @inline(__always)
    private static func slot(_ head: UInt64, _ length: Int, multiplier: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: ((head ^ UInt64(truncatingIfNeeded: length)) &* multiplier) >> shift)
    }

    /// A collision-free slot table for children given as (key head, key length, node index): the
    /// smallest table of at least twice as many slots as children, and the first multiplier
    /// that gives every child a slot of its own (a lookup is then one probe). Children whose heads
    /// and lengths are equal (keys that differ after 8 bytes) cannot be told apart by a slot and
    /// fall back to the list, marked by a multiplier of 0.
    private static func slotTable(_ children: [(head: UInt64, length: Int, index: Int)]) -> (slots: [Int32], shift: UInt64, multiplier: UInt64) {
        if children.isEmpty { return ([-1], 63, 0) }
        var bits = 1
        while 1 << bits < 2 * children.count { bits += 1 }
        while bits <= 12 {
            let shift = UInt64(64 - bits)
            for attempt in 0..<64 {
                let multiplier = (0x9E37_79B9_7F4A_7C15 &* UInt64(2 * attempt + 1)) | 1
                var slots = [Int32](repeating: -1, count: 1 << bits)
                var clash = false
                for child in children {
                    let k = slot(child.head, child.length, multiplier: multiplier, shift: shift)
                    if slots[k] >= 0 { clash = true; break }
                    slots[k] = Int32(child.index)
                }
                if !clash { return (slots, shift, multiplier) }
            }
            bits += 1
        }
        return ([-1], 63, 0)
    }

    private static func lastWord(_ key: [UInt8]) -> UInt64 {
        guard key.count >= 8 else { return 0 }
        return key[(key.count - 8)...].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Finds the child of node `n` whose key equals `key[0..<length]`, or -1.
    @inline(__always)
    private func findChild(_ n: UnsafePointer<Node>, _ key: UnsafePointer<UInt8>, _ length: Int, canLoad8: Bool) -> Int {
        var head: UInt64
        if canLoad8 {
            // SAFETY: the caller guarantees 8 readable bytes at `key` (canLoad8).
            head = UnsafeRawPointer(key).loadUnaligned(as: UInt64.self)
            if length < 8 { head &= (UInt64(1) << (8 * UInt64(length))) &- 1 }
        } else {
            head = FieldPlan.head(key, length)
        }
        let multiplier = n.pointee.slotMultiplier
        if multiplier != 0 {
            // SAFETY: slot() is below 1 << (64 - slotShift), the size of the node's slice.
            let c = Int(childSlots[n.pointee.slotStart + RecordScanner.slot(head, length, multiplier: multiplier, shift: n.pointee.slotShift)])
            if c >= 0 && keyEquals(nodes + c, key, length, head) { return c }
            return -1
        }
        return findChildInList(n, key, length, head)
    }

    /// `findChild` for a node without a slot table: the children one by one.
    @inline(never)
    private func findChildInList(_ n: UnsafePointer<Node>, _ key: UnsafePointer<UInt8>, _ length: Int, _ head: UInt64) -> Int {
        var k = n.pointee.childStart
        let stop = k + n.pointee.childCount
        while k < stop {
            let c = childIndex[k]
            if keyEquals(nodes + c, key, length, head) { return c }
            k += 1
        }
        return -1
    }

    /// Whether `child`'s key is `key[0..<length]`, whose first (up to) eight bytes are `head`.
    @inline(__always)
    private func keyEquals(_ child: UnsafePointer<Node>, _ key: UnsafePointer<UInt8>, _ length: Int, _ head: UInt64) -> Bool {
        guard child.pointee.keyLength == length && child.pointee.keyHead == head else { return false }
        if length <= 8 { return true }
        // SAFETY: length > 8, so the eight bytes before key + length are the key's own.
        if UnsafeRawPointer(key + (length - 8)).loadUnaligned(as: UInt64.self) != child.pointee.keyLast { return false }
        return length <= 16 || memcmp(key + 8, keyBytes + child.pointee.keyOffset + 8, length - 16) == 0
    }

    /// Walks the object at `w[i]` (`{`), capturing or descending into members named by `node`'s children.
    private func extractObject(node: Int, _ i: inout Int, inElement: Bool) throws(ScanFailure) {
        let w = window
        let nodeRef = UnsafePointer(nodes + node)
        var j = i &+ 1
        defer { i = j }
        w.skipWhitespace(&j)
        guard j < w.end else { throw w.short(j) }
        if w[j] == 0x7D {
            j &+= 1
            return
        }
        while true {
            guard w[j] == 0x22 else { throw w.invalid(j, "expected a string key") }
            j &+= 1
            let keyStart = j
            let escaped = try w.scanStringBody(&j)
            let keyLength = j &- 1 &- keyStart
            try w.skipColon(&j)
            var key: UnsafePointer<UInt8>
            var length = keyLength
            var canLoad8 = true
            if escaped {
                keyScratch.count = 0
                var k = keyStart
                _ = try w.decodeStringBody(&k, into: keyScratch)
                keyScratch.reserve(8)
                key = UnsafePointer(keyScratch.base)
                length = keyScratch.count
            } else {
                canLoad8 = keyStart &+ 8 <= w.end
                key = w.pointer(keyStart, count: canLoad8 ? max(keyLength, 8) : keyLength)
            }
            // Most keys are no child's, and their length alone says so.
            let child = nodeRef.pointee.childLengths & (UInt64(1) << UInt64(min(length, 63))) == 0
                ? -1 : findChild(nodeRef, key, length, canLoad8: canLoad8)
            if child >= 0 {
                try handleValue(node: child, &j, inElement: inElement)
            } else if w[j] == 0x22 {
                // Most skipped members are strings: no call into skipValue for them.
                j &+= 1
                _ = try w.scanStringBody(&j)
            } else {
                if probeRecordsKey && node == 0 && keyLength == 7 && w[j] == 0x5B && w.matches(keyStart, "Records") {
                    recordsHoldingRecordsArray += 1
                }
                try skipValue(&j)
            }
            // Compact JSON: the next key's quote right after the comma.
            if j &+ 1 < w.end && w[j] == 0x2C && w[j &+ 1] == 0x22 {
                j &+= 1
                continue
            }
            w.skipWhitespace(&j)
            guard j < w.end else { throw w.short(j) }
            let c = w[j]
            if c == 0x2C {
                j &+= 1
                w.skipWhitespace(&j)
                guard j < w.end else { throw w.short(j) }
                continue
            }
            if c == 0x7D {
                j &+= 1
                return
            }
            throw w.invalid(j, "expected ',' or '}' after object member")
        }
    }

    /// Handles the value at `w[i]` for `node`: captures it for the node's columns, then descends
    /// into it for the node's children or exploded array.
    private func handleValue(node: Int, _ i: inout Int, inElement: Bool) throws(ScanFailure) {
        let w = window
        let n = nodes[node]
        if n.fieldCount > 0 {
            let valueStart = i
            try capture(&i, node: n, inElement: inElement)
            if !n.descends { return }
            i = valueStart
        }
        let c = w[i]
        if n.element >= 0 && c == 0x5B {
            try explode(element: n.element, &i)
        } else if n.anyElement >= 0 && c == 0x5B {
            try walkElements(n.anyElement, &i)
        } else if n.childCount > 0 && c == 0x7B {
            try extractObject(node: node, &i, inElement: inElement)
        } else {
            try skipValue(&i)
        }
    }

    private func capture(_ i: inout Int, node n: Node, inElement: Bool) throws(ScanFailure) {
        let w = window
        let out = values.bytes
        let start = out.count
        let c = w[i]
        if c == 0x22 {
            i += 1
            if try w.decodeStringBody(&i, into: out) { values.hasLowBytes = true }
        } else if c == 0x6E {
            try w.skipLiteral(&i, "null")
        } else {
            let valueStart = i
            try skipValue(&i)
            if c == 0x7B || c == 0x5B {
                appendCompact(valueStart, i, to: out)
            } else {
                out.append(w.pointer(valueStart, count: i - valueStart), i - valueStart)
            }
        }
        let length = out.count - start
        let isPresent = c != 0x6E  // JSON null is NULL, like a missing path
        let multiStart = values.multiStart
        for k in n.fieldStart..<(n.fieldStart + n.fieldCount) {
            let field = fieldIndex[k]
            if field >= multiStart {
                values.appendMulti(field: field, start: start, length: length, present: isPresent)
            } else if inElement {
                values.setLastElement(start: start, length: length, present: isPresent)
            } else {
                values.set(field: field, start: start, length: length, present: isPresent)
            }
            values.markSeen(field: field)
        }
    }

    /// Walks the array at `w[i]` (`[`) for a hidden `[]` path: each element through `element`,
    /// without exploding (the element values land in `values.multi…`).
    private func walkElements(_ element: Int, _ i: inout Int) throws(ScanFailure) {
        try walkArray(element, &i, exploding: false)
    }

    /// Walks the exploded array at `w[i]` (`[`), opening one element per entry.
    private func explode(element: Int, _ i: inout Int) throws(ScanFailure) {
        values.clearElements()
        try walkArray(element, &i, exploding: true)
    }

    /// Walks the array at `w[i]` (`[`), each entry through `element`; when `exploding`, each entry
    /// opens an element of its own.
    @inline(__always)
    private func walkArray(_ element: Int, _ i: inout Int, exploding: Bool) throws(ScanFailure) {
        let w = window
        i += 1
        w.skipWhitespace(&i)
        guard i < w.end else { throw w.short(i) }
        if w[i] == 0x5D {
            i += 1
            return
        }
        while true {
            if exploding { values.appendElement() }
            w.skipWhitespace(&i)
            guard i < w.end else { throw w.short(i) }
            try handleValue(node: element, &i, inElement: exploding)
            w.skipWhitespace(&i)
            guard i < w.end else { throw w.short(i) }
            let c = w[i]
            if c == 0x2C {
                i += 1
                continue
            }
            if c == 0x5D {
                i += 1
                return
            }
            throw w.invalid(i, "expected ',' or ']' after array element")
        }
    }
}
