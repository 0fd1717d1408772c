/// Large multi-member gzip files read in parallel segments (`FileSplitter`): the output is the one
/// reading the file whole gives, and every wrong cut (a false member header, members that cut
/// through a document, top-level scalars at a cut, a corrupt member) falls back to reading whole,
/// with the same output or the same error as without splitting.
import Foundation
import Testing
@testable import TrailMerge

@Suite struct SplitFileTests {
    /// Splits anything above 1 byte into segments of about `segment` bytes.
    private func splitting(_ inputs: [String], segment: Int, threads: Int = 2) -> ProcessOptions {
        var o = options(inputs)
        o.threads = threads
        o.splitPolicy.minimumFileBytes = 1
        o.splitPolicy.segmentBytes = segment
        return o
    }

    private func tree(_ folder: TempFolder, files: Int, records: Int) throws -> String {
        var g = GeneratorOptions()
        g.destination = folder.path + "/tree"
        g.files = files
        g.recordsPerFile = records
        g.seed = 13
        _ = try generateTree(g)
        return g.destination
    }

    /// One member per document, as `group --output-codec keep` writes.
    private func members(_ documents: [String]) -> [UInt8] { documents.flatMap { gzip($0) } }

    @Test(arguments: ["keep", "gzip"])
    func aGroupedTreeReadInSegmentsGivesTheTreesOutput(codec: String) throws {
        let folder = TempFolder()
        // gzip output closes members at source boundaries once they hold 1 MiB: enough sources for several.
        let root = try tree(folder, files: codec == "gzip" ? 160 : 40, records: 20)
        let grouped = try runCLI(["group", root, folder.path + "/g", "--group-by", "(AWSLogs)/.*", "--output-codec", codec, "--quiet"])
        #expect(grouped.status == 0, "\(grouped.stderr)")
        let big = folder.path + "/g/AWSLogs.json.gz"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: big)[.size] as? Int)

        let whole = try runToBytes(options([root]), in: folder, name: "tree.tsv")
        let split = try runToBytes(splitting([big], segment: max(1, size / 8)), in: folder, name: "split.tsv")
        #expect(split.stats.splitFiles == 1)
        #expect(split.stats.segments >= (codec == "gzip" ? 3 : 6), "\(split.stats.segments) segments of \(size) bytes")
        #expect(split.stats.files == 1)
        #expect(split.stats.records == whole.stats.records)
        #expect(textDifference(split.bytes, whole.bytes) == nil, "\(textDifference(split.bytes, whole.bytes) ?? "")")
        // One thread never splits, and reads the same rows.
        let single = try runToBytes(splitting([big], segment: max(1, size / 8), threads: 1), in: folder, name: "single.tsv")
        #expect(single.stats.splitFiles == 0)
        #expect(single.bytes == whole.bytes)
        // The default policy leaves a file this small whole.
        let defaults = try runToBytes(options([big]), in: folder, name: "defaults.tsv")
        #expect(defaults.stats.splitFiles == 0)
        #expect(defaults.bytes == whole.bytes)
    }

    @Test func aFalseMemberHeaderInsideAMemberIsCaughtAndTheFileIsReadWhole() throws {
        let folder = TempFolder()
        let documents = (0..<6).map { k in
            #"{"Records":["# + record(time: "2024-01-0\(k + 1)T00:00:00Z", name: "E\(k)", user: "u\(k)", instances: ["i-\(k)", "i-\(k)b"]) + "]}"
        }
        var bytes: [UInt8] = []
        for (k, document) in documents.enumerated() {
            var member = gzip(document)
            if k == 2 {
                // FNAME holding, after 40 bytes, bytes that look like a member header (1f 8b 08,
                // flags, MTIME, XFL 2, OS 3), far enough from the member's start to be probed.
                member[3] |= 0x08
                member.insert(contentsOf: Array(repeating: 0x41, count: 40) + [0x1F, 0x8B, 0x08, 0x08, 0x41, 0x41, 0x41, 0x41, 0x02, 0x03, 0x78, 0x00], at: 10)
            }
            bytes += member
        }
        let input = folder.write("in.json.gz", bytes)
        #expect(FileSplitter.candidateCuts(SourceFile(path: input, relativePath: "in.json.gz", root: folder.path, size: bytes.count),
                                           policy: splitting([], segment: 16).splitPolicy)!.count > documents.count - 1)

        let whole = try runToBytes(splitting([input], segment: 16, threads: 1), in: folder, name: "whole.tsv")
        let split = try runToBytes(splitting([input], segment: 16), in: folder, name: "split.tsv")
        #expect(split.stats.splitFiles == 0, "the false cut must send the run back to reading the file whole")
        #expect(split.bytes == whole.bytes)
        #expect(split.stats.rows == 12)
        let oracle = OracleTable.tsv(try OracleTable.process(files: [input], fields: ProcessOptions.defaultFields.map(\.text)))
        #expect(textDifference(whole.bytes, oracle) == nil, "\(textDifference(whole.bytes, oracle) ?? "")")
    }

    @Test func membersThatCutThroughADocumentAreReadWhole() throws {
        let folder = TempFolder()
        let records = (0..<30).map { record(time: "2024-02-01T00:00:\(10 + $0)Z", name: "N\($0)", user: "u", instances: ["i-\($0)"]) }
        let document = Array((#"{"Records":["# + records.joined(separator: ",") + "]}").utf8)
        // One document, compressed in four members cut at arbitrary bytes (as pigz or a block writer does).
        let quarter = document.count / 4
        var bytes: [UInt8] = []
        for k in 0..<4 { bytes += gzip(Array(document[(k * quarter)..<(k == 3 ? document.count : (k + 1) * quarter)])) }
        let input = folder.write("one.json.gz", bytes)
        let whole = try runToBytes(splitting([input], segment: 16, threads: 1), in: folder, name: "whole.tsv")
        let split = try runToBytes(splitting([input], segment: 16), in: folder, name: "split.tsv")
        #expect(split.stats.splitFiles == 0)
        #expect(split.stats.rows == 30)
        #expect(split.bytes == whole.bytes)
    }

    /// "0" and "1" as two members are the text "01" to a whole reading, which is invalid JSON:
    /// cutting between them must not make it two valid documents.
    @Test func topLevelScalarsAtACutFailAsTheWholeFileDoes() throws {
        let folder = TempFolder()
        let input = folder.write("scalars.json.gz", members(["0", "1"]))
        var wholeError: TrailMergeError?
        var splitError: TrailMergeError?
        wholeError = trailMergeError { _ = try runToBytes(splitting([input], segment: 8, threads: 1), in: folder, name: "a.tsv") }
        splitError = trailMergeError { _ = try runToBytes(splitting([input], segment: 8), in: folder, name: "b.tsv") }
        #expect(wholeError != nil)
        #expect(splitError?.description == wholeError?.description)
    }

    @Test func aCorruptMemberFailsAndIsSkippedAsWithoutSplitting() throws {
        let folder = TempFolder()
        let documents = (0..<8).map { k in #"{"Records":["# + record(time: "2024-03-0\(k + 1)T00:00:00Z", name: "C\(k)") + "]}" }
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        for document in documents {
            offsets.append(bytes.count)
            bytes += gzip(document)
        }
        // Break the deflate data of the sixth member.
        bytes[offsets[5] + 14] ^= 0xFF
        let input = folder.write("bad.json.gz", bytes)
        let good = folder.write("good.json", #"{"Records":["# + record(time: "2024-04-01T00:00:00Z", name: "G") + "]}")
        let wholeError = trailMergeError { _ = try runToBytes(splitting([input], segment: 16, threads: 1), in: folder, name: "a.tsv") }
        let splitError = trailMergeError { _ = try runToBytes(splitting([input], segment: 16), in: folder, name: "b.tsv") }
        #expect(wholeError != nil)
        #expect(splitError?.description == wholeError?.description, "\(splitError?.description ?? "no error")")

        var skipWhole = splitting([input, good], segment: 16, threads: 1)
        skipWhole.skipBadFiles = true
        var skipSplit = splitting([input, good], segment: 16)
        skipSplit.skipBadFiles = true
        let a = try runToBytes(skipWhole, in: folder, name: "c.tsv")
        let b = try runToBytes(skipSplit, in: folder, name: "d.tsv")
        #expect(b.bytes == a.bytes)
        #expect(b.stats.rows == 1)
        #expect(b.stats.skippedFiles == [input])
        #expect(b.stats.files == a.stats.files)
    }

    /// A warning's byte offset is the file's, as a whole reading gives, not the segment's.
    @Test func aDocumentWithoutRecordsIsPlacedAsInAWholeReading() throws {
        let folder = TempFolder()
        var documents = (0..<12).map { k in #"{"Records":["# + record(time: "2024-05-\(10 + k)T00:00:00Z", name: "W\(k)") + "]}" }
        documents.insert(#"{"foo": 1}"#, at: 9)
        let input = folder.write("w.json.gz", members(documents))
        func warnings(threads: Int) throws -> (warnings: [String], stats: RunStats) {
            var o = splitting([input], segment: 16, threads: threads)
            o.output = folder.path + "/w\(threads).tsv"
            o.tempDirectory = folder.path
            let seen = Locked<[String]>([])
            let stats = try runProcess(o) { event in
                if case .warning(let text) = event, text.contains("without a 'Records' array") { seen.withLock { $0.append(text) } }
            }
            return (seen.withLock { $0 }, stats)
        }
        let whole = try warnings(threads: 1)
        let split = try warnings(threads: 2)
        #expect(split.stats.splitFiles == 1)
        #expect(whole.warnings.count == 1)
        #expect(whole.warnings.first?.contains("(the first: \(input): byte ") == true, "\(whole.warnings)")
        #expect(split.warnings == whole.warnings)
    }

    /// The last segment reads to the end of the file as it is when read (a file still being
    /// written gives what a whole reading would), the others exactly their range.
    @Test func theLastSegmentReadsToTheEndOfTheFile() throws {
        let folder = TempFolder()
        let path = folder.write("f.bin", Array(repeating: 7, count: 100))
        func bytes(_ segment: FileSegment) throws -> Int {
            var file = SourceFile(path: path, relativePath: "f.bin", root: folder.path, size: 10)
            file.segment = segment
            let source = try Storage.plain.open(file)
            defer { source.close() }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 1)
            defer { buffer.deallocate() }
            var total = 0
            while true {
                let n = try source.read(into: buffer, count: 256)
                if n == 0 { return total }
                total += n
            }
        }
        #expect(try bytes(FileSegment(start: 4, end: 10, ordinal: 1, isLast: false)) == 6)
        #expect(try bytes(FileSegment(start: 4, end: 10, ordinal: 1, isLast: true)) == 96)
    }
}
