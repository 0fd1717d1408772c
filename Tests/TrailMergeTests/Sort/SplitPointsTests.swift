/// Range partitioning: `sample` picks balanced split points, `process --split-points` writes one
/// sorted file per range whose concatenation is the unsplit output, `--files-from` reads a list.
import Foundation
import Testing
@testable import TrailMerge

@Suite struct SplitPointsTests {
    private func tree(_ folder: TempFolder, files: Int = 60) throws -> String {
        var g = GeneratorOptions()
        g.destination = folder.path + "/tree"
        g.files = files
        g.recordsPerFile = 20
        g.seed = 21
        _ = try generateTree(g)
        return g.destination
    }

    @Test func splitOutputsConcatenateToTheUnsplitOutput() throws {
        let folder = TempFolder()
        let root = try tree(folder)
        let sample = try runCLI(["sample", root, "--partitions", "4", "-o", folder.path + "/sp.txt", "--seed", "3"])
        #expect(sample.status == 0, "\(sample.stderr)")
        let again = try runCLI(["sample", root, "--partitions", "4", "-o", folder.path + "/sp2.txt", "--seed", "3"])
        #expect(again.status == 0)
        #expect(FileManager.default.contents(atPath: folder.path + "/sp.txt") == FileManager.default.contents(atPath: folder.path + "/sp2.txt"))
        let points = try readSplitPoints(folder.path + "/sp.txt")
        #expect(points.count == 3)

        let whole = try runCLI(["process", root, "-o", "-", "--quiet"]).stdout
        let split = try runCLI(["process", root, "-o", folder.path + "/r.tsv.gz", "--split-points", folder.path + "/sp.txt", "--quiet"])
        #expect(split.status == 0, "\(split.stderr)")
        var joined: [UInt8] = []
        var sizes: [Int] = []
        for k in 0..<4 {
            let part = try OracleTable.decodedContents(folder.path + "/r-0000\(k).tsv.gz")
            joined += part
            sizes.append(part.split(separator: 0x0A).count)
        }
        #expect(joined == whole)
        // Balanced within 2x of the mean on the generated tree.
        let mean = Double(sizes.reduce(0, +)) / 4
        #expect(sizes.allSatisfy { Double($0) <= 2 * mean && Double($0) >= mean / 2 }, "\(sizes)")
        // Every row of a range is at or above its lower point and below its upper point.
        for k in 0..<4 {
            let rows = try OracleTable.decodedContents(folder.path + "/r-0000\(k).tsv.gz").split(separator: 0x0A)
            for row in rows {
                let first = Array(row.prefix { $0 != 0x09 })
                if k > 0 { #expect(!first.lexicographicallyPrecedes(points[k - 1])) }
                if k < 3 { #expect(first.lexicographicallyPrecedes(points[k])) }
            }
        }
    }

    @Test func valuesEqualToAPointGoUpAndEmptyRangesAreValidFiles() throws {
        let folder = TempFolder()
        let input = folder.write("a.json", #"{"Records":[{"eventTime":"b","eventName":"x"},{"eventTime":"a","eventName":"y"},{"eventTime":"d","eventName":"z"}]}"#)
        folder.write("sp.txt", "b\nb\nc\nz\n")
        let result = try runCLI(["process", input, "--fields", "eventTime,eventName", "-o", folder.path + "/o.csv.gz",
                                 "--split-points", folder.path + "/sp.txt", "--header", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let parts = try (0..<5).map { String(decoding: try OracleTable.decodedContents(folder.path + "/o-0000\($0).csv.gz"), as: UTF8.self) }
        #expect(parts == ["eventTime,eventName\r\na,y\r\n", "eventTime,eventName\r\n", "eventTime,eventName\r\nb,x\r\n",
                          "eventTime,eventName\r\nd,z\r\n", "eventTime,eventName\r\n"])
        folder.write("bad.txt", "b\na\n")
        let bad = try runCLI(["process", input, "-o", folder.path + "/p.tsv", "--split-points", folder.path + "/bad.txt"])
        #expect(bad.status == 1)
        #expect(bad.stderr == "trailmerge: \(folder.path)/bad.txt: line 2: split points must not decrease\n")
        let unsorted = try runCLI(["process", input, "-o", folder.path + "/q.tsv", "--split-points", folder.path + "/sp.txt", "--sort-by", "none"])
        #expect(unsorted.status == 2)
    }

    @Test func filesFromReadsExactlyTheListedFiles() throws {
        let folder = TempFolder()
        let root = try tree(folder, files: 12)
        let all = try processInputFiles({ var o = ProcessOptions(); o.inputs = [root]; return o }()).map(\.path)
        let listed = Array(all[2..<7])
        folder.write("list.txt", listed.joined(separator: "\n") + "\n\n")
        let viaList = try runCLI(["process", "--files-from", folder.path + "/list.txt", "-o", "-", "--quiet"])
        let direct = try runCLI(["process"] + listed + ["-o", "-", "--quiet"])
        #expect(viaList.status == 0)
        #expect(viaList.stdout == direct.stdout && !direct.stdout.isEmpty)
        let dry = try runCLI(["process", root, "--dry-run"])
        #expect(String(decoding: dry.stdout, as: UTF8.self) == all.joined(separator: "\n") + "\n")
        folder.write("dir.txt", root + "\n")
        let folderListed = try runCLI(["process", "--files-from", folder.path + "/dir.txt", "-o", "-"])
        #expect(folderListed.status == 1)
        #expect(folderListed.stderr.contains("is a folder; --files-from lists files"))
    }
}
