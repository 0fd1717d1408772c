/// Cuts large multi-member gzip files into segments that workers read in parallel. In: the input
/// list. Out: the same list with each large local gzip file replaced by its segments, in order.
/// Invariant: a segment is only a guess until it is read: a cut is kept only when the segment
/// before it ended exactly at a member end with a complete JSON document, and the segment after it
/// starts one (`ProcessWorker` checks both); otherwise the run reads every file whole again.
///
/// Nothing is inflated to find the cuts. Near each target offset the splitter looks for the next
/// candidate member header (`1f 8b 08`, no reserved flag bits, a known XFL and OS byte). A false
/// candidate (those bytes inside compressed data) cannot pass the check: the segment before it
/// was decoded member by member from a true member start, so it ends at a member end only if the
/// candidate is a true member start. The same holds for documents: each segment before a cut is
/// parsed from a document boundary and must end with a closed object or array, so the cut is a
/// document boundary of the whole stream. `group --output-codec keep` output (one member per
/// CloudTrail file) and `group --output-codec gzip` output (members end at file boundaries) split
/// this way; a single-member file, or one whose members cut through documents, is read whole.

import Glibc

/// Which byte range of a file a segment is, and its place among the file's segments.
public struct FileSegment: Sendable, Equatable {
    /// Compressed byte offsets in the file: `start` is a candidate member start, `end` the next one
    /// (or the file size).
    public let start: Int
    public let end: Int
    /// 0 for the file's first segment.
    public let ordinal: Int
    public let isLast: Bool

    /// Compressed bytes in the range.
    public var count: Int { end - start }
}

/// How `process` splits large files.
public struct SplitPolicy: Sendable {
    /// Files below this (compressed) size are read whole.
    public var minimumFileBytes = 16 << 20
    /// The segment size aimed at (compressed bytes).
    public var segmentBytes = 4 << 20
    /// How far past a target offset a member header is looked for before that cut is dropped.
    public var probeBytes = 1 << 20

    public init() {}
}

enum FileSplitter {
    /// `files` with every local gzip file of at least `policy.minimumFileBytes` replaced by its
    /// segments (none when no candidate cut was found).
    static func split(_ files: [SourceFile], policy: SplitPolicy) -> [SourceFile] {
        var out: [SourceFile] = []
        out.reserveCapacity(files.count)
        for file in files {
            guard file.segment == nil, file.size >= policy.minimumFileBytes, !Storage.isS3(file.path),
                let cuts = candidateCuts(file, policy: policy), !cuts.isEmpty
            else {
                out.append(file)
                continue
            }
            let bounds = [0] + cuts + [file.size]
            for k in 0..<(bounds.count - 1) {
                var segment = file
                segment.segment = FileSegment(start: bounds[k], end: bounds[k + 1], ordinal: k, isLast: k == bounds.count - 2)
                out.append(segment)
            }
        }
        return out
    }

    /// Candidate member starts near every multiple of the segment size, increasing; nil when the
    /// file cannot be read or does not start with a gzip member.
    static func candidateCuts(_ file: SourceFile, policy: SplitPolicy) -> [Int]? {
        guard let input = try? ReadableFile(path: file.path) else { return nil }
        defer { input.close() }
        let window = max(64, policy.probeBytes)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: window)
        defer { buffer.deallocate() }
        /// Up to `count` bytes at `offset` (fewer at the end of the file or on a read error).
        func read(_ count: Int, at offset: Int) -> Int {
            var got = 0
            while got < count, let n = try? input.read(into: buffer + got, count: count - got, at: offset + got), n > 0 { got += n }
            return got
        }
        guard read(10, at: 0) == 10, isCandidateHeader(buffer) else { return nil }
        var cuts: [Int] = []
        let segment = max(1, policy.segmentBytes)
        var target = segment
        while target + segment / 2 < file.size {
            let from = max(target, (cuts.last ?? 0) + 1)
            let n = read(min(window, file.size - from), at: from)
            var found: Int?
            var i = 0
            while i + 10 <= n {
                // SAFETY: memchr reads the n - i bytes left in the buffer.
                guard let hit = memchr(buffer + i, 0x1F, n - i - 9) else { break }
                let at = UnsafeMutablePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - buffer
                if isCandidateHeader(buffer + at) {
                    found = from + at
                    break
                }
                i = at + 1
            }
            if let found, found + segment / 4 < file.size { cuts.append(found) }
            target = max(target + segment, (found ?? target) + segment)
        }
        return cuts
    }

    /// Whether the ten bytes at `p` could begin a gzip member: ID1 ID2, CM 8, no reserved flag
    /// bits, XFL 0, 2 or 4, and an OS byte RFC 1952 names (0-13, or 255 for unknown).
    static func isCandidateHeader(_ p: UnsafePointer<UInt8>) -> Bool {
        p[0] == 0x1F && p[1] == 0x8B && p[2] == 8 && p[3] & 0xE0 == 0 && (p[8] == 0 || p[8] == 2 || p[8] == 4)
            && (p[9] <= 13 || p[9] == 255)
    }

}
