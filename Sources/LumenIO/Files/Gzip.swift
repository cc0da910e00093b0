import CNIfTI
import Foundation

/// gzip in memory through zlib (which libnifti's znzlib already links), for NIfTI replies that
/// need no file. The pieces are fed in turn and the output grows in chunks, so a 50 MB label
/// map is neither concatenated nor given a zeroed worst-case buffer first.
enum Gzip {
    static func compress(_ pieces: [UnsafeRawBufferPointer], level: Int) throws -> Data {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip wrapper, as .nii.gz readers expect.
        guard deflateInit2_(&stream, Int32(min(max(level, 1), 9)), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NIfTIError.writeFailed(file: "(in memory)", reason: "zlib could not start a gzip stream")
        }
        defer { deflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        for (n, piece) in pieces.enumerated() {
            var offset = 0
            let last = n == pieces.count - 1
            repeat {
                // zlib counts input in 32-bit units: feed at most 1 GiB at a time.
                let take = min(piece.count - offset, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: piece.baseAddress?.advanced(by: offset).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(take)
                offset += take
                let flush = last && offset == piece.count ? Z_FINISH : Z_NO_FLUSH
                var status: Int32 = Z_OK
                repeat {
                    let produced: Int = chunk.withUnsafeMutableBytes { out in
                        stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                        stream.avail_out = uInt(out.count)
                        status = deflate(&stream, flush)
                        return out.count - Int(stream.avail_out)
                    }
                    guard status != Z_STREAM_ERROR else {
                        throw NIfTIError.writeFailed(file: "(in memory)", reason: "zlib stopped with status \(status)")
                    }
                    output.append(contentsOf: chunk[0..<produced])
                } while stream.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END)
            } while offset < piece.count
        }
        return output
    }
}

/// A zlib stream (PNG's IDAT), in memory.
enum Zlib {
    static func deflate(_ input: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        var length = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBytes { out in
            compress2(out.bindMemory(to: Bytef.self).baseAddress, &length, input.bindMemory(to: Bytef.self).baseAddress,
                      uLong(input.count), Int32(level))
        }
        guard status == Z_OK else { throw NIfTIError.writeFailed(file: "(png)", reason: "zlib stopped with status \(status)") }
        return Array(output[0..<Int(length)])
    }
}
