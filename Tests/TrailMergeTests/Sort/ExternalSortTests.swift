import Foundation
import Testing
@testable import TrailMerge

/// One generated tree shared by the sort tests, with its oracle output computed once.
private final class GeneratedTree: @unchecked Sendable {
    static let shared = GeneratedTree()
    let folder = TempFolder()
    let root: String
    let expected: [UInt8]

    init() {
        root = folder.path + "/tree"
        // A static is never deinitialised, so remove the folder when the test process exits.
        atexit { try? FileManager.default.removeItem(atPath: GeneratedTree.shared.folder.path) }
        var g = GeneratorOptions()
        g.destination = root
        g.files = 40
        g.recordsPerFile = 25
        g.seed = 99
        g.days = 2
        _ = try! generateTree(g)
        let files = try! SourceWalker(pattern: SourcePattern(SourcePattern.defaultPattern)).walk([root]).map(\.path)
        expected = OracleTable.tsv(try! OracleTable.process(files: files, fields: ProcessOptions.defaultFieldList.components(separatedBy: ",")))
    }
}

@Suite struct ExternalSortTests {
    @Test(arguments: [1, 2, 4], [16 << 10, 100 << 10, 1 << 30])
    func outputIsByteIdenticalAcrossThreadsAndBudgets(threads: Int, budget: Int) throws {
        let tree = GeneratedTree.shared
        let folder = TempFolder()
        var o = options([tree.root])
        o.threads = threads
        o.memoryBudget = budget
        o.chunkSize = 8 << 10
        let (bytes, stats) = try runToBytes(o, in: folder)
        #expect(bytes == tree.expected)
        if budget < 1 << 20 { #expect(stats.spilledRuns > 0) }
        #expect(folder.listing() == ["out.tsv"], "no temp files may remain")
    }

    @Test func tinyBudgetsForceMultiPassMerges() throws {
        let tree = GeneratedTree.shared
        let folder = TempFolder()
        var o = options([tree.root])
        o.memoryBudget = 8 << 10
        o.threads = 1
        let (bytes, stats) = try runToBytes(o, in: folder)
        #expect(bytes == tree.expected)
        #expect(stats.spilledRuns > 16)
        #expect(stats.mergePasses >= 2)
    }

    @Test func inputOrderDoesNotChangeTheOutput() throws {
        let tree = GeneratedTree.shared
        let files = try SourceWalker(pattern: nil).walk([tree.root]).map(\.path)
        let folder = TempFolder()
        var o = options(Array(files.reversed()))
        o.chunkSize = 1
        #expect(try runToBytes(o, in: folder).bytes == tree.expected)
    }

    @Test func sortByNoneKeepsEveryRow() throws {
        let tree = GeneratedTree.shared
        let folder = TempFolder()
        var o = options([tree.root])
        o.sortColumns = nil
        o.memoryBudget = 32 << 10
        let bytes = try runToBytes(o, in: folder).bytes
        let lines = { (b: [UInt8]) in b.split(separator: 0x0A).map(Array.init).sorted { $0.lexicographicallyPrecedes($1) } }
        #expect(lines(bytes) == lines(tree.expected))
    }

    @Test func sortByOtherColumnsUsesThemFirst() throws {
        let tree = GeneratedTree.shared
        let folder = TempFolder()
        var o = options([tree.root])
        o.sortColumns = [5, 2]
        o.memoryBudget = 64 << 10
        let files = try SourceWalker(pattern: nil).walk([tree.root]).map(\.path)
        let expected = OracleTable.tsv(try OracleTable.process(
            files: files, fields: ProcessOptions.defaultFieldList.components(separatedBy: ","), sortBy: [5, 2]))
        #expect(try runToBytes(o, in: folder).bytes == expected)
    }

    @Test func rowEncodingOrdersLikeTupleComparison() {
        // Values with 0x00/0x01 bytes and prefixes of each other must order like tuples of byte strings.
        let values: [[UInt8]] = [[], [0], [0, 0], [1], [1, 0], [0x61], [0x61, 0], [0x61, 1], [0xFF]]
        var rows: [([UInt8], [[UInt8]])] = []
        for a in values {
            for b in values {
                var encoded: [UInt8] = []
                for v in [a, b] {
                    for byte in v { if byte <= 1 { encoded += [1, byte + 1] } else { encoded.append(byte) } }
                    encoded.append(0)
                }
                rows.append((encoded, [a, b]))
            }
        }
        for x in rows {
            for y in rows {
                let tupleLess = x.1[0] != y.1[0] ? x.1[0].lexicographicallyPrecedes(y.1[0]) : x.1[1].lexicographicallyPrecedes(y.1[1])
                let encodedLess = x.0.withUnsafeBufferPointer { p in
                    y.0.withUnsafeBufferPointer { q in
                        rowPrecedes(RowKey(p.baseAddress!, p.count), p.baseAddress!, p.count, RowKey(q.baseAddress!, q.count), q.baseAddress!, q.count)
                    }
                }
                #expect(tupleLess == encodedLess)
            }
        }
    }
}
