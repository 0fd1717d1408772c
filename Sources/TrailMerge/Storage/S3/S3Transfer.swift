/// Streaming on top of `S3Client`: `S3ObjectReader` turns one object into successive chunks by
/// ranged GETs (several in flight for large objects); `S3UploadWriter` takes bytes and commits
/// them as one object, by PutObject when they fit in one part, else by a multipart upload whose
/// parts go up while later bytes are still being written (bounded in flight), completed only at
/// `commit()`, aborted by `abandon()` or by any failure. No partial object is ever visible.
import Foundation

/// Reads `url` (of known `size`) front to back in chunks of `chunkSize`, keeping up to
/// `parallelism` ranged GETs in flight. Not thread-safe: one consumer calls `next()`.
public final class S3ObjectReader {
    public let client: S3Client
    public let url: S3URL
    public let size: Int64
    public let chunkSize: Int
    public let parallelism: Int

    /// Fetches started and not yet consumed, in order.
    private var pending: [(done: DispatchSemaphore, result: Locked<Result<Data, TrailMergeError>?>)] = []
    private var nextOffset: Int64 = 0

    public init(client: S3Client, url: S3URL, size: Int64, chunkSize: Int = 8 << 20, parallelism: Int = 4) {
        self.client = client
        self.url = url
        self.size = size
        self.chunkSize = max(1, chunkSize)
        self.parallelism = max(1, parallelism)
    }

    private func startFetches() {
        while pending.count < parallelism && nextOffset < size {
            let range = nextOffset..<min(size, nextOffset + Int64(chunkSize))
            nextOffset = range.upperBound
            let done = DispatchSemaphore(value: 0)
            let slot = Locked<Result<Data, TrailMergeError>?>(nil)
            let client = self.client
            let url = self.url
            let whole = range.lowerBound == 0 && range.upperBound == size
            DispatchQueue.global().async {
                let result: Result<Data, TrailMergeError>
                do throws(TrailMergeError) {
                    result = .success(try client.getObject(url, range: whole ? nil : range))
                } catch {
                    result = .failure(error)
                }
                slot.withLock { $0 = result }
                done.signal()
            }
            pending.append((done, slot))
        }
    }

    /// The next chunk, nil after the last; a chunk shorter than expected (the object changed
    /// while being read) is an error.
    public func next() throws(TrailMergeError) -> Data? {
        startFetches()
        guard !pending.isEmpty else { return nil }
        let first = pending.removeFirst()
        first.done.wait()
        let data = try first.result.withLock { $0! }.get()
        startFetches()
        return data
    }

    /// Waits for fetches still running (after an early stop), discarding them.
    public func close() {
        for fetch in pending { fetch.done.wait() }
        pending.removeAll()
    }

    deinit { close() }

    /// The whole object, with parallel ranged GETs when it is larger than `chunkSize`.
    public static func readAll(client: S3Client, url: S3URL, size: Int64, chunkSize: Int = 8 << 20, parallelism: Int = 4)
        throws(TrailMergeError) -> Data
    {
        let reader = S3ObjectReader(client: client, url: url, size: size, chunkSize: chunkSize, parallelism: parallelism)
        var out = Data()
        out.reserveCapacity(Int(size))
        while let chunk = try reader.next() { out.append(chunk) }
        guard out.count == Int(size) else {
            throw .s3Transport(object: url.description, reason: "read \(out.count) bytes, the listing said \(size)")
        }
        return out
    }
}

/// Writes one S3 object. Bytes are buffered to `partSize`; the first full part starts a
/// multipart upload and each further part is uploaded in the background, at most
/// `maxPartsInFlight` at once (so memory stays near `partSize × (maxPartsInFlight + 1)`).
/// `commit()` makes the object appear (PutObject or CompleteMultipartUpload, both with
/// `If-None-Match: *` when `ifNoneMatch`); `abandon()` aborts. Use from one thread.
public final class S3UploadWriter {
    public let client: S3Client
    public let url: S3URL
    public let partSize: Int
    public let ifNoneMatch: Bool
    public let contentType: String

    /// The multipart upload, once started (a cleanup context can abort it by ID).
    public var uploadID: String? {
        get { uploadIDBox.withLock { $0 } }
        set { uploadIDBox.withLock { $0 = newValue } }
    }
    private let uploadIDBox = Locked<String?>(nil)
    public private(set) var bytesWritten: Int64 = 0
    private var buffer: [UInt8] = []
    private var nextPartNumber = 1
    private let slots: DispatchSemaphore
    private let maxPartsInFlight: Int
    private let inFlight = DispatchGroup()
    private let state = Locked<(etags: [Int: String], error: TrailMergeError?)>(([:], nil))
    private var finished = false

    /// S3's smallest part (except the last).
    public static let minimumPartSize = 5 << 20

    public init(
        client: S3Client, url: S3URL, partSize: Int = 8 << 20, maxPartsInFlight: Int = 4, ifNoneMatch: Bool = false,
        contentType: String = "application/octet-stream"
    ) {
        self.client = client
        self.url = url
        self.partSize = max(partSize, Self.minimumPartSize)
        self.maxPartsInFlight = max(1, maxPartsInFlight)
        self.slots = DispatchSemaphore(value: max(1, maxPartsInFlight))
        self.ifNoneMatch = ifNoneMatch
        self.contentType = contentType
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(TrailMergeError) {
        precondition(!finished, "write after commit or abandon")
        if let error = state.withLock({ $0.error }) { throw error }
        var rest = bytes
        while !rest.isEmpty {
            let take = min(rest.count, partSize - buffer.count)
            buffer.append(contentsOf: rest.prefix(take))
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(take))
            bytesWritten += Int64(take)
            if buffer.count == partSize { try sendPart() }
        }
    }

    public func write(_ bytes: [UInt8]) throws(TrailMergeError) {
        var failure: TrailMergeError?
        bytes.withUnsafeBytes { raw in
            do throws(TrailMergeError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public func write(_ data: Data) throws(TrailMergeError) {
        var failure: TrailMergeError?
        data.withUnsafeBytes { raw in
            do throws(TrailMergeError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Starts the upload if needed and sends the buffer as the next part, in the background.
    private func sendPart() throws(TrailMergeError) {
        if uploadID == nil { uploadID = try client.createMultipartUpload(url, contentType: contentType) }
        let body = Data(buffer)
        buffer.removeAll(keepingCapacity: true)
        let number = nextPartNumber
        nextPartNumber += 1
        slots.wait()
        inFlight.enter()
        let (client, url, id, state, slots, group) = (self.client, self.url, uploadID!, self.state, self.slots, self.inFlight)
        DispatchQueue.global().async {
            defer {
                slots.signal()
                group.leave()
            }
            if state.withLock({ $0.error }) != nil { return }
            do throws(TrailMergeError) {
                let etag = try client.uploadPart(url, uploadID: id, partNumber: number, body: body)
                state.withLock { $0.etags[number] = etag }
            } catch {
                state.withLock { if $0.error == nil { $0.error = error } }
            }
        }
    }

    /// Makes the object appear with everything written; on any failure aborts the upload and
    /// throws (a 412 `PreconditionFailed` when `ifNoneMatch` and the key exists). Returns the ETag.
    @discardableResult
    public func commit() throws(TrailMergeError) -> String {
        precondition(!finished, "commit after commit or abandon")
        finished = true
        if uploadID == nil {
            return try client.putObject(url, body: Data(buffer), ifNoneMatch: ifNoneMatch, contentType: contentType)
        }
        do throws(TrailMergeError) {
            if !buffer.isEmpty { try sendPart() }
            inFlight.wait()
            let (etags, error) = state.withLock { ($0.etags, $0.error) }
            if let error { throw error }
            let parts = (1..<nextPartNumber).map { (partNumber: $0, etag: etags[$0]!) }
            let etag = try client.completeMultipartUpload(url, uploadID: uploadID!, parts: parts, ifNoneMatch: ifNoneMatch)
            uploadID = nil
            return etag
        } catch {
            abortUpload()
            throw error
        }
    }

    /// Aborts the upload from any thread (a signal's cleanup), without waiting for parts in
    /// flight: they fail once the upload is gone.
    public func abortHandle() -> @Sendable () -> Void {
        let (client, url, box) = (self.client, self.url, self.uploadIDBox)
        return {
            if let id = box.withLock({ $0 }) { try? client.abortMultipartUpload(url, uploadID: id) }
        }
    }

    /// Drops everything: waits for parts in flight and aborts the upload (best effort; a failed
    /// abort leaves an upload that a bucket lifecycle rule or `listMultipartUploads` can clean).
    public func abandon() {
        guard !finished else { return }
        finished = true
        abortUpload()
    }

    private func abortUpload() {
        inFlight.wait()
        if let id = uploadID {
            try? client.abortMultipartUpload(url, uploadID: id)
            uploadID = nil
        }
        buffer = []
    }
}
