/// The output stage of `process`. In: merged rows, in order, on the merge thread. Out: the output
/// file. The merge thread only copies rows into raw blocks; formatting and compression of each
/// block run on a thread pool, and the blocks are written in order (gzip as one member per block).
/// Invariant: the bytes written are exactly what formatting every row in order would give.

final class RowOutput {
    /// Rows buffered per block before it is handed to the pool.
    static let rawBlockSize = 1 << 20

    /// One pool thread's tools: a formatter and, for gzip output, a deflater.
    private final class BlockWorker {
        let formatter: RowFormatter
        let deflater: GzipDeflater?

        init(formatter: RowFormatter, deflater: GzipDeflater?) {
            self.formatter = formatter
            self.deflater = deflater
        }

        /// Formats the rows of a raw block (`[UInt32 length][row bytes]`...) and compresses the text.
        func run(_ raw: [UInt8], header: Bool) -> [UInt8] {
            let block = formatter.block
            block.count = 0
            if header { formatter.appendHeader() }
            raw.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                var position = 0
                while position + 4 <= buffer.count {
                    let length = Int(UInt32(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self)))
                    formatter.write(base + position + 4, length)
                    position += 4 + length
                }
            }
            defer { block.shrink(to: RowFormatter.blockSize + (64 << 10)) }
            guard let deflater else { return block.array }
            var member: [UInt8] = []
            deflater.compressMember(UnsafeRawBufferPointer(block.bytes), appendingTo: &member)
            return member
        }
    }

    private let blocks: OrderedBlockWriter
    private let workers: ResourcePool<BlockWorker>
    private let raw = ByteBuffer(capacity: RowOutput.rawBlockSize + (64 << 10))
    private var headerPending: Bool
    private var submitted = 0

    init(
        writer: BufferedWriter, format: OutputFormat, layout: RowLayout, names: [String], header: Bool,
        compression: Compression, level: Int, threads: Int
    ) {
        blocks = OrderedBlockWriter(writer: writer, maxInFlight: threads + 1)
        workers = ResourcePool {
            BlockWorker(
                formatter: RowFormatter(format: format, layout: layout, names: names),
                deflater: compression == .gzip ? GzipDeflater(level: level) : nil)
        }
        headerPending = header
    }

    @inline(__always)
    func write(_ row: UnsafePointer<UInt8>, _ length: Int) throws(TrailMergeError) {
        var header = UInt32(length).littleEndian
        withUnsafeBytes(of: &header) { raw.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 4) }
        raw.append(row, length)
        if raw.count >= RowOutput.rawBlockSize { try submit() }
    }

    private func submit() throws(TrailMergeError) {
        let rows = raw.array
        raw.count = 0
        raw.shrink(to: RowOutput.rawBlockSize + (64 << 10))
        let header = headerPending
        headerPending = false
        submitted += 1
        let workers = self.workers
        try blocks.submit {
            let worker = workers.take()
            defer { workers.give(worker) }
            return worker.run(rows, header: header)
        }
    }

    func finish() throws(TrailMergeError) {
        // An output with no rows is still one block, so gzip output is a valid (empty) member.
        if raw.count > 0 || headerPending || submitted == 0 { try submit() }
        try blocks.finish()
    }

    var bytesWritten: Int { blocks.bytesWritten }
}
