/// Field paths (`userIdentity.userName`, `items[].instanceId`) and the trie the record scanner
/// walks. In: the `--fields` list. Out: a `FieldPlan` whose nodes are matched against raw key bytes.
/// Invariant: at most one path contains `[]`, so a record explodes into at most one array.

/// One parsed `--fields` entry.
public struct FieldPath: Sendable, Equatable {
    /// The path as the user wrote it; it names the column.
    public let text: String
    /// Keys from the record down to the array (or to the value when there is no array).
    public let components: [String]
    /// Keys inside each array element, when the path has `[]`; empty means the element itself.
    public let elementComponents: [String]?

    public init(_ text: String) throws(TrailMergeError) {
        self.text = text
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var before: [String] = []
        var after: [String]? = nil
        for part in parts {
            var key = part
            var isArray = false
            if key.hasSuffix("[]") {
                key.removeLast(2)
                isArray = true
            }
            guard !key.isEmpty, !key.contains("[") && !key.contains("]") else {
                throw .usage("--fields: '\(text)' is not a valid field path (use dotted keys, with [] after one array key, e.g. a.items[].id)")
            }
            if isArray {
                guard after == nil else {
                    throw .usage("--fields: '\(text)' has more than one [] (at most one array can be exploded)")
                }
                before.append(key)
                after = []
            } else if after != nil {
                after!.append(key)
            } else {
                before.append(key)
            }
        }
        components = before
        elementComponents = after
    }

    public var hasArray: Bool { elementComponents != nil }
}

/// The trie of all requested paths, in the flat form the scanner reads.
final class FieldPlan {
    struct Node {
        /// The key that leads to this node from its parent (empty for roots).
        var key: [UInt8] = []
        /// The first up-to-8 key bytes, little-endian, for a cheap first comparison.
        var keyHead: UInt64 = 0
        /// Columns filled from this node's value.
        var fields: [Int] = []
        var children: [Int] = []
        /// When this node's value is the exploded array: the node describing each element.
        var element: Int = -1
        /// When a hidden path (`--where`) has `[]` here and no column explodes this array: the node
        /// describing each element, walked without exploding.
        var anyElement: Int = -1
        /// True when the node's value must be walked into (children or an array).
        var descends: Bool { !children.isEmpty || element >= 0 || anyElement >= 0 }
    }

    private(set) var nodes: [Node] = [Node()]
    let fieldCount: Int
    /// The column whose values come from array elements, if any.
    let arrayField: Int?
    /// The node describing one array element (its `fields` hold `arrayField`).
    private(set) var elementRoot = -1
    /// Hidden paths (captured for filters, the time range and dedupe, never output) take the
    /// field indices after the columns: first those without `[]`, then, from `multiStart`, those
    /// with `[]`, whose every element value is kept (`RecordValues.multi…`).
    private(set) var multiStart = 0
    /// For each hidden path, in the order given, its field index.
    private(set) var hiddenFieldIndex: [Int] = []

    init(fields: [FieldPath], hidden: [FieldPath] = []) throws(TrailMergeError) {
        fieldCount = fields.count + hidden.count
        let arrayFields = fields.indices.filter { fields[$0].hasArray }
        let arrayPaths = Set(arrayFields.map { fields[$0].text })
        if arrayPaths.count > 1 {
            throw .usage("--fields: at most one path may contain [] (got \(arrayPaths.sorted().joined(separator: ", ")))")
        }
        arrayField = arrayFields.first
        for (index, field) in fields.enumerated() {
            var node = 0
            for key in field.components { node = child(of: node, key: key) }
            if let elementPath = field.elementComponents {
                if nodes[node].element < 0 {
                    nodes.append(Node())
                    nodes[node].element = nodes.count - 1
                    elementRoot = nodes.count - 1
                }
                node = nodes[node].element
                for key in elementPath { node = child(of: node, key: key) }
            }
            nodes[node].fields.append(index)
        }
        // Hidden paths: single values first, then those with [] (one value per element).
        let singles = hidden.indices.filter { !hidden[$0].hasArray }
        let multis = hidden.indices.filter { hidden[$0].hasArray }
        multiStart = fields.count + singles.count
        var indexOfHidden = Array(repeating: 0, count: hidden.count)
        for (k, h) in (singles + multis).enumerated() {
            let index = fields.count + k
            indexOfHidden[h] = index
            let path = hidden[h]
            var node = 0
            for key in path.components { node = child(of: node, key: key) }
            if let elementPath = path.elementComponents {
                // The exploded array's element node when it is the same array (walked once).
                if nodes[node].element < 0 && nodes[node].anyElement < 0 {
                    nodes.append(Node())
                    nodes[node].anyElement = nodes.count - 1
                }
                node = nodes[node].element >= 0 ? nodes[node].element : nodes[node].anyElement
                for key in elementPath { node = child(of: node, key: key) }
            }
            nodes[node].fields.append(index)
        }
        hiddenFieldIndex = indexOfHidden
    }

    private func child(of parent: Int, key: String) -> Int {
        let bytes = Array(key.utf8)
        for c in nodes[parent].children where nodes[c].key == bytes { return c }
        var node = Node()
        node.key = bytes
        node.keyHead = FieldPlan.head(bytes.withUnsafeBufferPointer { $0.baseAddress! }, bytes.count)
        nodes.append(node)
        nodes[parent].children.append(nodes.count - 1)
        return nodes.count - 1
    }

    /// The first min(8, length) bytes as a little-endian integer, zero padded.
    @inline(__always)
    static func head(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var value: UInt64 = 0
        let n = min(8, length)
        for i in 0..<n { value |= UInt64(pointer[i]) << (8 * UInt64(i)) }
        return value
    }
}
